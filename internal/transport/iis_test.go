package transport

import (
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/wcdeploy/wcdeploy/pkg/emulator/ntlm"
)

// iis is a small stand-in for IIS authentication in front of the Web
// Connection module: Anonymous plus Basic and/or Windows (NTLM) with a real
// NTLMv2 check, the login bound to the connection like IIS does it.
type iis struct {
	basic, windows bool
	noChallenge    bool   // 401 without WWW-Authenticate
	maxPerConn     int64  // close each connection after this many requests (Apache's MaxKeepAliveRequests); 0: never
	noAffinity     bool   // behind a proxy that uses a new backend connection per request: NTLM never completes
	user, password string // accepted account; user as DOMAIN\name or name

	srv *httptest.Server

	requests    atomic.Int64 // every request
	attempts    atomic.Int64 // credentials checked (Basic header or NTLM AUTHENTICATE)
	bodyBytes   atomic.Int64 // request body bytes read, all requests
	conns       atomic.Int64 // connections accepted
	lastAuthHdr atomic.Value // last Authorization header seen (string)
}

type connKey struct{}

type connState struct {
	mu        sync.Mutex
	challenge *ntlm.Challenge
	authed    string
	requests  int64
}

func (s *iis) start(t *testing.T, tls bool) *iis {
	t.Helper()
	s.srv = httptest.NewUnstartedServer(http.HandlerFunc(s.serve))
	s.srv.Config.ConnContext = func(ctx context.Context, _ net.Conn) context.Context {
		s.conns.Add(1)
		return context.WithValue(ctx, connKey{}, &connState{})
	}
	s.srv.Config.ErrorLog = log.New(io.Discard, "", 0) // expected TLS handshake failures
	if tls {
		s.srv.EnableHTTP2 = true // the client must still speak HTTP/1.1
		s.srv.StartTLS()
	} else {
		s.srv.Start()
	}
	t.Cleanup(s.srv.Close)
	return s
}

func (s *iis) challenge(w http.ResponseWriter) {
	if s.noChallenge {
		return
	}
	if s.windows {
		w.Header().Add("WWW-Authenticate", "Negotiate")
		w.Header().Add("WWW-Authenticate", "NTLM")
	}
	if s.basic {
		w.Header().Add("WWW-Authenticate", `Basic realm="wc.example"`)
	}
}

func (s *iis) deny(w http.ResponseWriter) {
	s.challenge(w)
	w.WriteHeader(http.StatusUnauthorized)
	fmt.Fprint(w, "<h1>Unauthorized Operation</h1>")
}

func (s *iis) userMatches(user, domain string) bool {
	want := strings.ToLower(s.user)
	got := strings.ToLower(user)
	if domain != "" {
		got = strings.ToLower(domain) + `\` + got
	}
	if got == want {
		return true
	}
	// user@domain arrives as one name with no domain.
	_, bare, _ := strings.Cut(want, `\`)
	return bare != "" && strings.HasPrefix(got, bare+"@")
}

func (s *iis) serve(w http.ResponseWriter, r *http.Request) {
	s.requests.Add(1)
	n, _ := io.Copy(io.Discard, r.Body) // IIS reads the entity before answering
	s.bodyBytes.Add(n)
	cs := r.Context().Value(connKey{}).(*connState)
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if cs.requests++; s.maxPerConn > 0 && cs.requests >= s.maxPerConn {
		w.Header().Set("Connection", "close")
	}
	h := r.Header.Get("Authorization")
	s.lastAuthHdr.Store(h)
	ok := func(user string) {
		w.Header().Set("Content-Type", "text/plain")
		fmt.Fprintf(w, "hello %s, %d bytes", user, n)
	}
	if cs.authed != "" && h == "" {
		ok(cs.authed)
		return
	}
	scheme, token, _ := strings.Cut(h, " ")
	switch {
	case scheme == "Basic" && s.basic:
		s.attempts.Add(1)
		u, p, _ := r.BasicAuth()
		if strings.EqualFold(u, s.user) && p == s.password {
			ok(u)
			return
		}
	case (scheme == "NTLM" || scheme == "Negotiate") && s.windows:
		msg, err := base64.StdEncoding.DecodeString(token)
		if err != nil {
			break
		}
		typ, err := ntlm.MessageType(msg)
		if err != nil {
			break
		}
		switch typ {
		case ntlm.TypeNegotiate:
			flags, err := ntlm.ParseNegotiate(msg)
			if err != nil {
				break
			}
			ch, err := ntlm.NewChallenge("CORP", flags)
			if err != nil {
				break
			}
			if !s.noAffinity {
				cs.challenge = ch
			}
			w.Header().Set("WWW-Authenticate", scheme+" "+base64.StdEncoding.EncodeToString(ch.Message))
			w.WriteHeader(http.StatusUnauthorized)
			return
		case ntlm.TypeAuthenticate:
			s.attempts.Add(1)
			a, err := ntlm.ParseAuthenticate(msg)
			if err != nil || cs.challenge == nil {
				break
			}
			if a.Verify(cs.challenge.ServerChallenge, s.password) == nil && s.userMatches(a.User, a.Domain) {
				cs.authed = a.User
				ok(a.User)
				return
			}
			cs.challenge = nil
		}
	}
	s.deny(w)
}
