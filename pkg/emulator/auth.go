package emulator

import (
	"context"
	"encoding/base64"
	"net"
	"net/http"
	"strings"
	"sync"

	"github.com/wcdeploy/wcdeploy/pkg/emulator/ntlm"
)

// connState is what IIS remembers per keep-alive connection: an NTLM
// handshake in progress and the identity it established.
type connState struct {
	mu        sync.Mutex
	challenge *ntlm.Challenge
	scheme    string // "NTLM" or "Negotiate", as the client started it
	user      string // identity bound by a completed NTLM handshake
	conn      net.Conn
}

type connKey struct{}

func withConnState(ctx context.Context, c net.Conn) context.Context {
	return context.WithValue(ctx, connKey{}, &connState{conn: c})
}

func connOf(r *http.Request) *connState {
	if cs, ok := r.Context().Value(connKey{}).(*connState); ok {
		return cs
	}
	return &connState{}
}

func (s *Server) basicEnabled() bool {
	if s.cfg.Flavor == WebServer726 && s.cfg.WebServerIgnoresBasic {
		return false
	}
	return s.cfg.Auth == AuthBasic || s.cfg.Auth == AuthBoth
}

func (s *Server) ntlmEnabled() bool { return s.cfg.Auth == AuthNTLM || s.cfg.Auth == AuthBoth }

// authOutcome is the result of the IIS-level authentication step.
type authOutcome int

const (
	authAnonymous authOutcome = iota // no credentials: the request goes on anonymously
	authOK                           // identity established
	authChallenge                    // an NTLM leg was answered; the request ends
	authFailed                       // bad credentials: IIS's own 401
)

// authenticate is the IIS (or Kestrel) authentication module: it runs before
// the handler, validates credentials, answers NTLM handshake legs and binds
// an NTLM identity to the connection.
func (s *Server) authenticate(w http.ResponseWriter, r *http.Request) (user, mode string, out authOutcome) {
	if u := s.proxyUser(r); u != "" {
		return u, "Proxy", authOK
	}
	cs := connOf(r)
	h := r.Header.Get("Authorization")
	if h == "" {
		cs.mu.Lock()
		defer cs.mu.Unlock()
		if cs.user != "" {
			return cs.user, "NTLM", authOK
		}
		return "", "", authAnonymous
	}
	scheme, data, _ := strings.Cut(h, " ")
	data = strings.TrimSpace(data)
	switch {
	case strings.EqualFold(scheme, "Basic") && s.basicEnabled():
		raw, err := base64.StdEncoding.DecodeString(data)
		if err != nil {
			return "", "", authFailed
		}
		name, pass, ok := strings.Cut(string(raw), ":")
		if !ok {
			return "", "", authFailed
		}
		id, ok := s.checkPassword(name, "", pass)
		if !ok {
			return "", "", authFailed
		}
		return id, "Basic", authOK
	case strings.EqualFold(scheme, "Negotiate") && s.kerberosEnabled():
		return s.kerberosLeg(data)
	case (strings.EqualFold(scheme, "NTLM") || strings.EqualFold(scheme, "Negotiate")) && s.ntlmEnabled():
		return s.ntlmLeg(w, r, cs, scheme, data)
	case s.cfg.Auth == AuthNone || (strings.EqualFold(scheme, "Basic") && !s.basicEnabled()):
		// A scheme the site does not enable is ignored, as IIS does.
		return "", "", authAnonymous
	}
	return "", "", authFailed
}

func (s *Server) ntlmLeg(w http.ResponseWriter, r *http.Request, cs *connState, scheme, data string) (string, string, authOutcome) {
	msg, err := base64.StdEncoding.DecodeString(data)
	if err != nil {
		return "", "", authFailed
	}
	t, err := ntlm.MessageType(msg)
	if err != nil {
		// SPNEGO (Kerberos) tokens are not emulated.
		return "", "", authFailed
	}
	cs.mu.Lock()
	defer cs.mu.Unlock()
	switch t {
	case ntlm.TypeNegotiate:
		flags, err := ntlm.ParseNegotiate(msg)
		if err != nil {
			return "", "", authFailed
		}
		ch, err := ntlm.NewChallenge(s.ntlmTarget(), flags)
		if err != nil {
			return "", "", authFailed
		}
		cs.challenge, cs.scheme, cs.user = ch, scheme, ""
		w.Header().Set("WWW-Authenticate", scheme+" "+base64.StdEncoding.EncodeToString(ch.Message))
		return "", "", authChallenge
	case ntlm.TypeAuthenticate:
		ch := cs.challenge
		cs.challenge = nil // one use per challenge
		if ch == nil {
			return "", "", authFailed
		}
		a, err := ntlm.ParseAuthenticate(msg)
		if err != nil {
			return "", "", authFailed
		}
		user, domain := a.User, a.Domain
		if domain == "" {
			if u, d, ok := strings.Cut(user, "@"); ok {
				user, domain = u, d
			}
		}
		pass, id, ok := s.lookupUser(user, domain)
		if !ok || a.Verify(ch.ServerChallenge, pass) != nil {
			return "", "", authFailed
		}
		cs.user = id
		return id, "NTLM", authOK
	}
	return "", "", authFailed
}

func (s *Server) ntlmTarget() string {
	if s.cfg.Domain != "" {
		return s.cfg.Domain
	}
	return "WCEMU"
}

// checkPassword validates a Basic login (`user`, `DOMAIN\user`, `user@domain`).
func (s *Server) checkPassword(login, domain, password string) (string, bool) {
	user := login
	if d, u, ok := strings.Cut(login, `\`); ok {
		domain, user = d, u
	} else if u, d, ok := strings.Cut(login, "@"); ok {
		user, domain = u, d
	}
	pass, id, ok := s.lookupUser(user, domain)
	if !ok || pass != password {
		return "", false
	}
	return id, true
}

// lookupUser finds the password of user (case-insensitive, as Windows
// accounts are) and the identity name IIS would report for it.
func (s *Server) lookupUser(user, domain string) (password, identity string, ok bool) {
	if user == "" {
		return "", "", false
	}
	for name, pass := range s.cfg.Users {
		d, u, hasDomain := strings.Cut(name, `\`)
		if !hasDomain {
			u, d = name, ""
		}
		if !strings.EqualFold(u, user) {
			continue
		}
		switch {
		case hasDomain && !strings.EqualFold(d, domain):
			continue
		case !hasDomain && domain != "" && domain != "." && s.cfg.Domain != "" &&
			!strings.EqualFold(domain, s.cfg.Domain) && !strings.HasPrefix(strings.ToLower(domain), strings.ToLower(s.cfg.Domain)+"."):
			continue
		}
		id := u
		if hasDomain {
			id = d + `\` + u
		} else if s.cfg.Domain != "" {
			id = s.cfg.Domain + `\` + u
		}
		return pass, id, true
	}
	return "", "", false
}

// isAdmin is IsAdminAuthenticated (§2.1) for the flavor. The Web Server
// checks "none" before anyone is known and compares names case-sensitively
// and whole; the module lower-cases both and also tries the name after a
// domain prefix. No flavor trims the list.
func (s *Server) isAdmin(user string) bool {
	acct := s.cfg.AdminAccount
	webServer := s.cfg.Flavor == WebServer726
	switch {
	case webServer && strings.EqualFold(acct, "none"):
		return true
	case user == "":
		return false
	case strings.EqualFold(acct, "any"):
		return true
	case acct == "" && s.cfg.EmptyAdminAccountAllows:
		return true
	case webServer:
		return strings.Contains(","+acct+",", ","+user+",")
	}
	list := "," + strings.ToLower(acct) + ","
	if strings.Contains(list, ","+strings.ToLower(user)+",") {
		return true
	}
	if i := strings.Index(user, `\`); i > 0 {
		return strings.Contains(list, ","+strings.ToLower(user[i+1:])+",")
	}
	return false
}

// challenges adds the WWW-Authenticate headers of a 401.
func (s *Server) challenges(h http.Header, r *http.Request) {
	if s.cfg.Flavor == WebServer726 {
		// The Web Server's own three values (§2.2), whatever is enabled.
		h.Add("WWW-Authenticate", "Negotiate")
		h.Add("WWW-Authenticate", "NTLM")
		h.Add("WWW-Authenticate", `Basic realm="`+r.Host+`"`)
		return
	}
	if s.ntlmEnabled() {
		h.Add("WWW-Authenticate", "Negotiate")
		h.Add("WWW-Authenticate", "NTLM")
	}
	if s.kerberosEnabled() {
		h.Add("WWW-Authenticate", "Negotiate")
	}
	if s.basicEnabled() {
		host := r.Host
		if hh, _, err := net.SplitHostPort(host); err == nil {
			host = hh
		}
		h.Add("WWW-Authenticate", `Basic realm="`+host+`"`)
	}
}

// writeIIS401 is the authentication module's own 401: wrong credentials, or
// an NTLM handshake leg.
func (s *Server) writeIIS401(w http.ResponseWriter, r *http.Request, leg bool) {
	h := w.Header()
	if !leg {
		s.challenges(h, r)
	}
	if s.cfg.Flavor == WebServer726 {
		h.Set("Server", "Kestrel")
		h.Set("Content-Length", "0")
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	h.Set("Content-Type", "text/html")
	h.Set("Server", "Microsoft-IIS/10.0")
	h.Set("X-Powered-By", "ASP.NET")
	body := iis401Page
	h.Set("Content-Length", itoa(len(body)))
	w.WriteHeader(http.StatusUnauthorized)
	_, _ = w.Write([]byte(body))
}

// writeAdmin401 is the handler's 401 page (§2.2) plus the challenges.
func (s *Server) writeAdmin401(w http.ResponseWriter, r *http.Request) {
	local := isLocal(r)
	var body string
	switch s.cfg.Flavor {
	case WebServer726:
		msg := msgUnauthWebSrv
		if local {
			msg += msgUnauthWebLoc
		}
		body = s.render(hdrUnauthorized, msg)
	case ISAPI:
		body = isapiPage("Access Denied", "You are not authorized to access this request. Please log in with a valid Windows account that is listed in the AdminAccount setting of wc.ini.")
	default:
		msg := msgUnauthModule
		if local {
			msg += msgUnauthLocal
		}
		body = s.render(hdrUnauthorized, msg)
	}
	s.setHeaders(w.Header(), true)
	s.challenges(w.Header(), r)
	w.Header().Set("Content-Length", itoa(len(body)))
	w.WriteHeader(http.StatusUnauthorized)
	_, _ = w.Write([]byte(body))
}

// isLocal is Request.IsLocal: the client is on this machine.
func isLocal(r *http.Request) bool {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return false
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
