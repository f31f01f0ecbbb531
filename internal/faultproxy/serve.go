package faultproxy

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"sync/atomic"
	"time"
)

// maxReplyBody bounds a reply that Garbage or DelayReply reads whole.
const maxReplyBody = 16 << 20

// errHeld ends a request body that a rule stopped.
var errHeld = errors.New("faultproxy: request body held")

// serve proxies the requests of one client connection over one server
// connection.
func (p *Proxy) serve(client net.Conn) {
	defer p.untrack(client)
	server, err := p.dialTarget()
	if err != nil {
		return
	}
	defer p.untrack(server)
	cr := bufio.NewReader(meter{r: client, n: &p.up})
	sr := bufio.NewReader(server)
	for {
		req, err := http.ReadRequest(cr)
		if err != nil {
			return
		}
		rule, ex := p.pick(req)
		x := &exchange{p: p, client: client, cw: meter{w: client, n: &p.down}, cr: cr, server: server, sr: sr, req: req, rule: rule, ex: ex}
		if !x.run() {
			return
		}
	}
}

// exchange is one request and its reply.
type exchange struct {
	p      *Proxy
	client net.Conn
	cw     io.Writer
	cr     *bufio.Reader
	server net.Conn
	sr     *bufio.Reader
	req    *http.Request
	rule   Rule
	ex     *Exchange
	// replyMode is the mode for the reply: the rule's, or Pass when the
	// rule's Status does not match (the body goroutine reads rule).
	replyMode Mode
}

// run handles the exchange; false ends the connection.
func (x *exchange) run() bool {
	if x.rule.Mode == ResetBefore {
		reset(x.client)
		return false
	}
	if err := x.forwardHead(); err != nil {
		return false
	}
	bodyDone := make(chan error, 1)
	go func() { bodyDone <- x.forwardBody() }()
	if x.rule.Mode == DropAfterRequest {
		if <-bodyDone == nil {
			x.p.note(func() { x.ex.Forwarded = true })
		}
		_ = x.client.Close()
		x.discardReply()
		return false
	}
	resp, err := x.readReply()
	if err != nil {
		_ = x.server.Close()
		<-bodyDone
		return false
	}
	defer resp.Body.Close()
	x.p.note(func() { x.ex.Status = resp.StatusCode })
	x.replyMode = x.rule.Mode
	if x.rule.Status != 0 && resp.StatusCode != x.rule.Status {
		x.replyMode = Pass
		x.p.note(func() { x.ex.Mode = Pass })
	}
	if x.replyMode == Pass {
		// A server may answer before it read the whole body (413).
		ok := x.reply(resp)
		return <-bodyDone == nil && x.forwarded() && ok && !resp.Close && !x.req.Close
	}
	// The faults act after the whole request reached the server.
	if <-bodyDone != nil || !x.forwarded() {
		return false
	}
	return x.reply(resp)
}

func (x *exchange) forwarded() bool {
	x.p.note(func() { x.ex.Forwarded = true })
	return true
}

// forwardHead sends the request line and headers to the server.
func (x *exchange) forwardHead() error {
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s %s HTTP/1.1\r\nHost: %s\r\n", x.req.Method, x.req.RequestURI, x.req.Host)
	h := x.req.Header.Clone()
	h.Del("Content-Length")
	h.Del("Transfer-Encoding")
	_ = h.Write(&b)
	switch {
	case x.req.ContentLength > 0:
		fmt.Fprintf(&b, "Content-Length: %d\r\n", x.req.ContentLength)
	case x.req.ContentLength < 0:
		b.WriteString("Transfer-Encoding: chunked\r\n")
	}
	b.WriteString("\r\n")
	_, err := x.server.Write(b.Bytes())
	return err
}

// forwardBody copies the request body to the server, as the rule says.
func (x *exchange) forwardBody() error {
	var dst io.Writer = x.server
	var cw io.WriteCloser
	if x.req.ContentLength < 0 {
		cw = httputil.NewChunkedWriter(x.server)
		dst = cw
	}
	limit := int64(-1)
	if x.rule.Mode == StopReading || x.rule.Mode == ResetUpload {
		limit = x.rule.Bytes
	}
	err := x.copy(dst, x.req.Body, limit, func(read, sent int64) {
		x.ex.BodyRead += read
		x.ex.BodySent += sent
	})
	if err != nil {
		return err
	}
	switch x.rule.Mode {
	case StopReading:
		x.p.hold(0, nil)
		_ = x.server.Close()
		return errHeld
	case ResetUpload:
		reset(x.client)
		_ = x.server.Close()
		return errHeld
	}
	if cw != nil {
		if err := cw.Close(); err != nil {
			return err
		}
		_, err = io.WriteString(x.server, "\r\n")
	}
	return err
}

// readReply reads the server's reply, passing interim (1xx) replies on.
func (x *exchange) readReply() (*http.Response, error) {
	for {
		resp, err := http.ReadResponse(x.sr, x.req)
		if err != nil {
			return nil, err
		}
		if resp.StatusCode >= 200 || resp.StatusCode == http.StatusSwitchingProtocols {
			return resp, nil
		}
		if err := writeHead(x.cw, resp, -2); err != nil {
			return nil, err
		}
	}
}

// discardReply reads and drops the server's reply, so the server finishes
// the request as if the client were there.
func (x *exchange) discardReply() {
	_ = x.server.SetReadDeadline(time.Now().Add(x.p.maxHold))
	if resp, err := x.readReply(); err == nil {
		x.p.note(func() { x.ex.Status = resp.StatusCode })
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
}

// reply sends the server's reply to the client, as the rule says; false
// ends the connection.
func (x *exchange) reply(resp *http.Response) bool {
	switch x.replyMode {
	case StallHeaders:
		_, _ = io.Copy(io.Discard, resp.Body)
		x.p.hold(0, x.clientGone())
		return false
	case StallBody:
		if writeHead(x.cw, resp, resp.ContentLength) != nil {
			return false
		}
		w, _ := bodyWriter(x.cw, resp)
		_ = x.copy(w, resp.Body, x.rule.Bytes, func(_, sent int64) { x.ex.ReplyBytes += sent })
		x.p.hold(0, x.clientGone())
		return false
	case Garbage, DelayReply:
		body, err := io.ReadAll(io.LimitReader(resp.Body, maxReplyBody))
		if err != nil {
			return false
		}
		if x.replyMode == Garbage && resp.StatusCode == http.StatusOK {
			body = x.rule.Body
			if body == nil {
				body = []byte(DefaultGarbage)
			}
		}
		if x.replyMode == DelayReply && !x.p.hold(x.rule.Delay, x.clientGone()) {
			return false
		}
		// The client-gone watcher may still read the connection: end it.
		resp.Header.Set("Connection", "close")
		if writeHead(x.cw, resp, int64(len(body))) == nil && x.copyReply(bytes.NewReader(body), -1) == nil {
			x.p.note(func() { x.ex.Answered = true })
		}
		return false
	}
	if writeHead(x.cw, resp, resp.ContentLength) != nil {
		return false
	}
	w, finish := bodyWriter(x.cw, resp)
	if x.copy(w, resp.Body, -1, func(_, sent int64) { x.ex.ReplyBytes += sent }) != nil || finish() != nil {
		return false
	}
	x.p.note(func() { x.ex.Answered = true })
	return true
}

// bodyWriter is where a reply's body goes: chunked when its length is not
// known; finish ends the chunked body.
func bodyWriter(w io.Writer, resp *http.Response) (io.Writer, func() error) {
	if resp.ContentLength >= 0 || resp.Request == nil || resp.Request.Method == http.MethodHead {
		return w, func() error { return nil }
	}
	cw := httputil.NewChunkedWriter(w)
	return cw, func() error {
		if err := cw.Close(); err != nil {
			return err
		}
		_, err := io.WriteString(w, "\r\n")
		return err
	}
}

// copyReply sends up to limit bytes (-1: all) of a reply body to the client.
func (x *exchange) copyReply(body io.Reader, limit int64) error {
	return x.copy(x.cw, body, limit, func(_, sent int64) { x.ex.ReplyBytes += sent })
}

// clientGone is closed when the client closes its connection (or sends
// anything more). Only for exchanges that end the connection.
func (x *exchange) clientGone() <-chan struct{} {
	gone := make(chan struct{})
	x.p.wg.Add(1) // inside serve's own count, so never after Close's Wait began
	go func() {
		defer x.p.wg.Done()
		defer close(gone)
		_, _ = x.cr.Peek(1)
	}()
	return gone
}

// copy moves up to limit bytes (-1: all) from src to dst at the rule's
// rate, telling count what it read and wrote.
func (x *exchange) copy(dst io.Writer, src io.Reader, limit int64, count func(read, sent int64)) error {
	chunk := int64(32 << 10)
	if x.rule.Rate > 0 {
		chunk = min(max(x.rule.Rate/20, 1), chunk)
	}
	buf := make([]byte, chunk)
	for moved := int64(0); limit < 0 || moved < limit; {
		want := int64(len(buf))
		if limit >= 0 {
			want = min(want, limit-moved)
		}
		n, rerr := src.Read(buf[:want])
		var wrote int
		var werr error
		if n > 0 {
			wrote, werr = dst.Write(buf[:n])
			moved += int64(n)
		}
		x.p.note(func() { count(int64(n), int64(wrote)) })
		if werr != nil {
			return werr
		}
		if rerr == io.EOF {
			return nil
		}
		if rerr != nil {
			return rerr
		}
		if x.rule.Rate > 0 && n > 0 && !x.p.hold(time.Duration(int64(n)*int64(time.Second)/x.rule.Rate), nil) {
			return errHeld
		}
	}
	return nil
}

// writeHead writes a reply's status line and headers with length as its
// Content-Length (-1: chunked; -2: neither, for interim replies).
func writeHead(w io.Writer, resp *http.Response, length int64) error {
	var b bytes.Buffer
	fmt.Fprintf(&b, "HTTP/%d.%d %s\r\n", resp.ProtoMajor, resp.ProtoMinor, resp.Status)
	h := resp.Header.Clone()
	h.Del("Content-Length")
	h.Del("Transfer-Encoding")
	_ = h.Write(&b)
	switch {
	case length >= 0:
		fmt.Fprintf(&b, "Content-Length: %d\r\n", length)
	case length == -1 && resp.Request != nil && resp.Request.Method != http.MethodHead:
		b.WriteString("Transfer-Encoding: chunked\r\n")
	}
	b.WriteString("\r\n")
	_, err := w.Write(b.Bytes())
	return err
}

// reset closes c with a TCP RST.
func reset(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = c.Close()
}

// meter counts the bytes read from r or written to w into n.
type meter struct {
	r io.Reader
	w io.Writer
	n *atomic.Int64
}

func (m meter) Read(b []byte) (int, error) {
	n, err := m.r.Read(b)
	m.n.Add(int64(n))
	return n, err
}

func (m meter) Write(b []byte) (int, error) {
	n, err := m.w.Write(b)
	m.n.Add(int64(n))
	return n, err
}
