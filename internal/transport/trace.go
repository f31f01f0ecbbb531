package transport

import (
	"bytes"
	"cmp"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// RequestLog is one HTTP request as it crossed the wire: each leg of an
// NTLM handshake, each redirect and each retry is a request of its own. It
// holds no credential: the auth leg is named from the Authorization header,
// never copied from it, and the link has its secrets redacted.
type RequestLog struct {
	Server string // Options.Name, else the server URL's host:port
	Method string
	// Link is the request's path and query (with scheme and host when a
	// redirect leads to another host); query values whose names look
	// secret (password, token, key, …) are redacted, and so is the
	// client's password wherever it appears.
	Link   string
	Status int // 0 when no reply came (Err says why)
	// Sent and Received are body bytes: the request body the transport
	// read, the reply body the caller read (headers are not counted).
	Sent, Received int64
	// Duration runs from sending the request to the end of the reply body
	// (its close, or the error).
	Duration time.Duration
	// Auth is what the request carried: "none", "Basic", "NTLM 1/3" (the
	// NEGOTIATE message), "NTLM 3/3" (AUTHENTICATE), "Negotiate NTLM 1/3"
	// (NTLM inside Negotiate), "Negotiate Kerberos", or the bare scheme.
	Auth string
	// Challenge is what a 401 answered: "NTLM 2/3" when it carries the
	// NTLM challenge, else the schemes it offers ("offers Negotiate, NTLM").
	Challenge string
	Err       error
}

// String is the line -v prints, e.g.
//
//	web1: GET /App/Admin.aspx -> 401, 0 B sent, 1290 B received, 2ms, NTLM 1/3 (answer: NTLM 2/3)
func (r RequestLog) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %s %s -> ", r.Server, r.Method, r.Link)
	if r.Err != nil {
		fmt.Fprintf(&b, "failed (%v)", Quiet(r.Err))
	} else {
		fmt.Fprintf(&b, "%d", r.Status)
	}
	fmt.Fprintf(&b, ", %d B sent, %d B received, %s, %s", r.Sent, r.Received, roundDuration(r.Duration), r.Auth)
	if r.Challenge != "" {
		fmt.Fprintf(&b, " (answer: %s)", r.Challenge)
	}
	return b.String()
}

func roundDuration(d time.Duration) time.Duration {
	if d < time.Millisecond {
		return d.Round(time.Microsecond)
	}
	return d.Round(time.Millisecond)
}

// traceTransport reports every request it sends, after the reply body is
// read. It sits between the auth layer and the wire, so it sees each leg;
// it streams (counts bytes as they pass) and never buffers a body.
type traceTransport struct {
	next     http.RoundTripper
	server   string
	host     string // the server URL's host:port
	password string
	log      func(RequestLog)
}

func newTrace(next http.RoundTripper, name string, u *url.URL, password string, log func(RequestLog)) http.RoundTripper {
	if log == nil {
		return next
	}
	return &traceTransport{next: next, server: cmp.Or(name, u.Host), host: u.Host, password: password, log: log}
}

func (t *traceTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	start := time.Now()
	rec := RequestLog{Server: t.server, Method: req.Method, Link: t.link(req.URL), Auth: authLeg(req.Header)}
	sent := &atomic.Int64{}
	if req.Body != nil && req.Body != http.NoBody {
		r := req.Clone(req.Context())
		r.Body = &countingBody{rc: req.Body, n: sent}
		if get := req.GetBody; get != nil {
			// The transport's own retry of a request on a closed idle
			// connection starts the body again: count that attempt alone.
			r.GetBody = func() (io.ReadCloser, error) {
				rc, err := get()
				if err != nil {
					return nil, err
				}
				sent.Store(0)
				return &countingBody{rc: rc, n: sent}, nil
			}
		}
		req = r
	}
	resp, err := t.next.RoundTrip(req)
	if err != nil {
		rec.Sent, rec.Duration, rec.Err = sent.Load(), time.Since(start), err
		t.log(rec)
		return nil, err
	}
	rec.Status = resp.StatusCode
	if resp.StatusCode == http.StatusUnauthorized {
		rec.Challenge = challengeLeg(resp.Header)
	}
	body := &tracedBody{rc: resp.Body, done: func(received int64) {
		rec.Sent, rec.Received, rec.Duration = sent.Load(), received, time.Since(start)
		t.log(rec)
	}}
	if resp.Body == nil || resp.Body == http.NoBody {
		body.finish()
		return resp, nil
	}
	resp.Body = body
	return resp, nil
}

// secretParams are query parameter names whose values are redacted.
var secretParams = []string{"pass", "pwd", "token", "secret", "key", "auth", "sig", "credential", "session", "ticket", "code"}

// link is the path and query of u with secret-looking values and the
// password redacted.
func (t *traceTransport) link(u *url.URL) string {
	s := u.EscapedPath()
	if !strings.EqualFold(u.Host, t.host) {
		s = u.Scheme + "://" + u.Host + s
	}
	if u.RawQuery != "" {
		parts := strings.Split(u.RawQuery, "&")
		for i, p := range parts {
			name, _, ok := strings.Cut(p, "=")
			if !ok {
				continue
			}
			n, err := url.QueryUnescape(name)
			if err != nil {
				n = name
			}
			n = strings.ToLower(n)
			for _, w := range secretParams {
				if strings.Contains(n, w) {
					parts[i] = name + "=REDACTED"
					break
				}
			}
		}
		s += "?" + strings.Join(parts, "&")
	}
	return redactPassword(s, t.password)
}

// redactPassword removes the password, plain or escaped, from s. A very
// short password is not looked for: it would blank ordinary letters.
func redactPassword(s, password string) string {
	if len(password) < 4 {
		return s
	}
	for _, form := range []string{password, url.QueryEscape(password), url.PathEscape(password)} {
		s = strings.ReplaceAll(s, form, "REDACTED")
	}
	return s
}

// authLeg names what an Authorization header carries without its value.
func authLeg(h http.Header) string {
	v := strings.TrimSpace(h.Get("Authorization"))
	if v == "" {
		return "none"
	}
	scheme, token, _ := strings.Cut(v, " ")
	switch strings.ToLower(scheme) {
	case "basic":
		return "Basic"
	case "ntlm":
		return "NTLM" + tokenLeg(token, false)
	case "negotiate":
		return "Negotiate" + tokenLeg(token, true)
	}
	return "scheme " + strings.Map(func(r rune) rune {
		if r < '!' || r > '~' {
			return -1
		}
		return r
	}, scheme)
}

// challengeLeg names what a 401 answers: the NTLM challenge, or the
// schemes offered.
func challengeLeg(h http.Header) string {
	for _, v := range h.Values("Www-Authenticate") {
		scheme, token, _ := strings.Cut(strings.TrimSpace(v), " ")
		if s := strings.ToLower(scheme); (s == "ntlm" || s == "negotiate") && strings.TrimSpace(token) != "" {
			if leg := tokenLeg(token, s == "negotiate"); leg != "" {
				return scheme + leg
			}
		}
	}
	if c := parseChallenges(h); len(c.schemes) > 0 {
		return "offers " + strings.Join(c.schemes, ", ")
	}
	return "offers nothing"
}

var (
	ntlmSignature = []byte("NTLMSSP\x00")
	// The Kerberos v5 mechanism OIDs (1.2.840.113554.1.2.2 and Microsoft's
	// 1.2.840.48018.1.2.2), DER-encoded, as SPNEGO and GSS tokens carry them.
	kerberosOIDs = [][]byte{
		{0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 0x01, 0x02, 0x02},
		{0x06, 0x09, 0x2a, 0x86, 0x48, 0x82, 0xf7, 0x12, 0x01, 0x02, 0x02},
	}
)

// tokenLeg names an NTLM or Negotiate token: " 1/3", " 2/3" or " 3/3" for
// the NTLM messages (" NTLM 1/3" inside Negotiate), " Kerberos" for a
// Kerberos token, "" for anything else.
func tokenLeg(token string, negotiate bool) string {
	b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(token))
	if err != nil || len(b) == 0 {
		return ""
	}
	if i := bytes.Index(b, ntlmSignature); i >= 0 && len(b) > i+8 && b[i+8] >= 1 && b[i+8] <= 3 {
		leg := fmt.Sprintf(" %d/3", b[i+8])
		if negotiate {
			return " NTLM" + leg
		}
		return leg
	}
	for _, oid := range kerberosOIDs {
		if bytes.Contains(b, oid) {
			return " Kerberos"
		}
	}
	return ""
}

// countingBody counts the bytes read through it.
type countingBody struct {
	rc io.ReadCloser
	n  *atomic.Int64
}

func (c *countingBody) Read(p []byte) (int, error) {
	n, err := c.rc.Read(p)
	c.n.Add(int64(n))
	return n, err
}

func (c *countingBody) Close() error { return c.rc.Close() }

// tracedBody counts a reply body and reports once, at its end or close.
type tracedBody struct {
	rc   io.ReadCloser
	n    atomic.Int64
	once sync.Once
	done func(received int64)
}

func (b *tracedBody) Read(p []byte) (int, error) {
	n, err := b.rc.Read(p)
	b.n.Add(int64(n))
	if err != nil {
		b.finish()
	}
	return n, err
}

func (b *tracedBody) Close() error {
	err := b.rc.Close()
	b.finish()
	return err
}

func (b *tracedBody) finish() { b.once.Do(func() { b.done(b.n.Load()) }) }
