// Package faultproxy is an HTTP/1.1 proxy for tests that sits between a
// client and a server on loopback and breaks chosen exchanges the way a
// sick server or network does: a reply whose headers or body never come, a
// server that stops reading an upload, a reset in the middle of an upload,
// a connection dropped right after a request reached the server, a 200
// whose body is garbage, a reply that comes too late, a slow line.
//
// Each client connection gets its own connection to the server (an NTLM
// login stays bound to it). Rules pick exchanges by path; the first rule
// that matches a request decides, and a rule with Times stops matching after
// that many requests. Everything is bounded: a held exchange ends when the
// client leaves, when Options.MaxHold passes, or at Close.
package faultproxy

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Mode is what a rule does to an exchange.
type Mode string

// The modes.
const (
	// Pass forwards the exchange (at Rate, if set).
	Pass Mode = ""
	// StallHeaders forwards the request; the server's reply is read and
	// thrown away, and the client gets nothing.
	StallHeaders Mode = "stall-headers"
	// StallBody forwards the reply's headers and Bytes bytes of its body,
	// then nothing more.
	StallBody Mode = "stall-body"
	// StopReading reads (and forwards) Bytes bytes of the request body,
	// then reads nothing more from the client.
	StopReading Mode = "stop-reading"
	// ResetUpload reads (and forwards) Bytes bytes of the request body,
	// then resets the client's connection (TCP RST).
	ResetUpload Mode = "reset-upload"
	// ResetBefore reads the request's headers and resets the client's
	// connection: the server never sees the request.
	ResetBefore Mode = "reset-before"
	// DropAfterRequest forwards the whole request, then closes the
	// client's connection without a reply. The server finishes the request
	// (its reply is read and thrown away).
	DropAfterRequest Mode = "drop-after-request"
	// Garbage forwards the request; a 200 reply reaches the client with its
	// body replaced by Body (default: text that is no Web Connection page).
	// Other replies pass.
	Garbage Mode = "garbage"
	// DelayReply forwards the request, reads the whole reply, and sends it
	// to the client Delay later.
	DelayReply Mode = "delay-reply"
)

// DefaultGarbage is the body Garbage sends when the rule has none.
const DefaultGarbage = "\x00\x1f\x8b garbled reply \xff\xfe <<<< no page here >>>>"

// recvBuffer is the receive buffer of the proxy's client connections.
const recvBuffer = 32 << 10

// DefaultMaxHold bounds how long any exchange is held.
const DefaultMaxHold = 30 * time.Second

// Rule picks exchanges and says what to do to them.
type Rule struct {
	// Path is a case-insensitive part of the request path ("UploadExe",
	// "UpdateExe", "ModuleAdministration"); "" matches every path.
	Path string
	// Method, if set, must equal the request's method.
	Method string
	Mode   Mode
	// Times is how many matching requests the rule applies to; 0: all.
	Times int
	// Bytes: request body bytes read before StopReading or ResetUpload
	// acts; reply body bytes sent before StallBody stops.
	Bytes int64
	// Delay: how long DelayReply holds the reply.
	Delay time.Duration
	// Body replaces a 200 reply's body in Garbage mode.
	Body []byte
	// Status, if set, limits the reply faults (StallHeaders, StallBody,
	// Garbage, DelayReply) to replies with this status; others pass. With
	// 200, the 401 legs of an NTLM login go through and the reply to the
	// logged-in request is broken.
	Status int
	// Rate, if positive, limits the request and reply bodies of matching
	// exchanges to this many bytes per second.
	Rate int64
}

func (r Rule) matches(req *http.Request) bool {
	if r.Method != "" && !strings.EqualFold(r.Method, req.Method) {
		return false
	}
	return r.Path == "" || strings.Contains(strings.ToLower(req.URL.Path), strings.ToLower(r.Path))
}

// Options configure a proxy.
type Options struct {
	// MaxHold bounds every held exchange (default DefaultMaxHold).
	MaxHold time.Duration
}

// Exchange is one request that went through the proxy.
type Exchange struct {
	Method, Path string
	Mode         Mode  // the mode applied (Pass when no rule matched)
	BodyRead     int64 // request body bytes read from the client
	BodySent     int64 // of those, bytes forwarded to the server
	Status       int   // the server's reply status, 0 if none was read
	ReplyBytes   int64 // reply body bytes sent to the client
	Forwarded    bool  // the whole request reached the server
	Answered     bool  // the client got a complete reply
}

// Stats counts what went through the proxy.
type Stats struct {
	Conns     int        // client connections accepted
	Up        int64      // bytes read from clients
	Down      int64      // bytes written to clients
	Exchanges []Exchange // in the order the requests arrived
}

// Proxy is a running fault proxy.
type Proxy struct {
	target  *url.URL
	addr    string
	ln      net.Listener
	maxHold time.Duration
	done    chan struct{}
	wg      sync.WaitGroup

	up, down atomic.Int64

	mu        sync.Mutex
	rules     []*ruleState
	conns     map[net.Conn]struct{}
	nconns    int
	exchanges []*Exchange
	closed    bool
}

type ruleState struct {
	Rule
	used int
}

// New starts a proxy on 127.0.0.1 in front of target (an http:// URL of a
// loopback server).
func New(target string, o Options, rules ...Rule) (*Proxy, error) {
	u, err := url.Parse(target)
	if err != nil || u.Scheme != "http" || u.Host == "" {
		return nil, fmt.Errorf("faultproxy: target %q is not an http:// URL", target)
	}
	if ip := net.ParseIP(u.Hostname()); u.Hostname() != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return nil, fmt.Errorf("faultproxy: target %q is not on loopback", target)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &Proxy{target: u, addr: ln.Addr().String(), ln: ln, maxHold: o.MaxHold, done: make(chan struct{}), conns: map[net.Conn]struct{}{}}
	if p.maxHold <= 0 {
		p.maxHold = DefaultMaxHold
	}
	p.SetRules(rules...)
	p.wg.Add(1)
	go p.accept()
	return p, nil
}

// Start is New for a test: it fails the test on error and closes the proxy
// in t.Cleanup.
func Start(t testing.TB, target string, rules ...Rule) *Proxy {
	t.Helper()
	p, err := New(target, Options{}, rules...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	return p
}

// URL is target with the proxy's address in place of the server's.
func (p *Proxy) URL() string {
	u := *p.target
	u.Host = p.addr
	return u.String()
}

// Addr is the proxy's host:port.
func (p *Proxy) Addr() string { return p.addr }

// SetRules replaces the rules (and their Times counts) for the requests
// that arrive from now on.
func (p *Proxy) SetRules(rules ...Rule) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.rules = p.rules[:0]
	for _, r := range rules {
		p.rules = append(p.rules, &ruleState{Rule: r})
	}
}

// Stats returns a copy of the counts so far.
func (p *Proxy) Stats() Stats {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := Stats{Conns: p.nconns, Up: p.up.Load(), Down: p.down.Load()}
	for _, e := range p.exchanges {
		s.Exchanges = append(s.Exchanges, *e)
	}
	return s
}

// Close stops the proxy: held exchanges end, every connection closes, and
// Close returns once all of the proxy's goroutines have.
func (p *Proxy) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	close(p.done)
	err := p.ln.Close()
	for c := range p.conns {
		_ = c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
	return err
}

func (p *Proxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		if !p.track(c) {
			_ = c.Close()
			return
		}
		if tc, ok := c.(*net.TCPConn); ok {
			// A small window, like a slow line's: what the client has sent
			// and the proxy has not read waits in the client's send queue,
			// not in a large receive buffer here.
			_ = tc.SetReadBuffer(recvBuffer)
		}
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			p.serve(c)
		}()
	}
}

// track registers a connection so Close can close it; false once closed.
func (p *Proxy) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return false
	}
	if _, ok := c.(*countedConn); !ok {
		p.nconns++
	}
	p.conns[c] = struct{}{}
	return true
}

func (p *Proxy) untrack(c net.Conn) {
	p.mu.Lock()
	delete(p.conns, c)
	p.mu.Unlock()
	_ = c.Close()
}

// pick returns the rule for req (Pass when none matches) and records the
// exchange.
func (p *Proxy) pick(req *http.Request) (Rule, *Exchange) {
	p.mu.Lock()
	defer p.mu.Unlock()
	var rule Rule
	for _, r := range p.rules {
		if (r.Times == 0 || r.used < r.Times) && r.matches(req) {
			r.used++
			rule = r.Rule
			break
		}
	}
	e := &Exchange{Method: req.Method, Path: req.URL.Path, Mode: rule.Mode}
	p.exchanges = append(p.exchanges, e)
	return rule, e
}

// note updates an exchange under the lock.
func (p *Proxy) note(fn func()) {
	p.mu.Lock()
	fn()
	p.mu.Unlock()
}

// hold waits d (bounded by MaxHold; d <= 0 means MaxHold), until gone is
// closed, or until the proxy closes. It reports whether the full wait ran.
func (p *Proxy) hold(d time.Duration, gone <-chan struct{}) bool {
	if d <= 0 || d > p.maxHold {
		d = p.maxHold
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-gone:
	case <-p.done:
	}
	return false
}

// dialTarget connects to the server, tracked like a client connection.
func (p *Proxy) dialTarget() (net.Conn, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", p.target.Host)
	if err != nil {
		return nil, err
	}
	cc := &countedConn{Conn: c}
	if !p.track(cc) {
		_ = c.Close()
		return nil, errors.New("faultproxy: closed")
	}
	return cc, nil
}

// countedConn marks the proxy's own connections to the server.
type countedConn struct{ net.Conn }
