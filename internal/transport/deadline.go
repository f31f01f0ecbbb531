package transport

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http/httptrace"
	"os"
	"sync"
	"syscall"
	"time"
)

// The settings a stalled connection's message tells the user to raise.
const (
	SettingResponse = "timeouts.response"
	SettingSwap     = "timeouts.swap"
)

// DefaultProgressTimeout is the progress allowance when neither
// Options.ProgressTimeout nor Options.ResponseHeaderTimeout is set.
const DefaultProgressTimeout = 60 * time.Second

// writeChunk bounds one write to the socket: the deadline moves on after
// every chunk, so a slow upload whose bytes keep moving is never cut.
const writeChunk = 64 << 10

// copyBuffer is how much of a request body one read takes when the
// transport copies the body to the connection (its own copy reads 32 KB at
// a time, and every read of an upload is a file read and a progress report).
const copyBuffer = 256 << 10

// Phase names the step a request belongs to, for the message of a stalled
// connection, and gives that step's reply its own allowance.
type Phase struct {
	// Name is "upload", "swap", "status", … ("" for a request that names none).
	Name string
	// ReplyWait is how long the server may take to start its reply once the
	// whole request is sent (the swap holds its reply for seconds); 0 means
	// the client's progress timeout.
	ReplyWait time.Duration
	// ReplySetting is the setting that sets ReplyWait, named in the message.
	ReplySetting string
}

// WithPhase returns ctx carrying p: the requests made with it get their
// connection's progress deadline for p, and a stall names p. Contexts of
// requests made without it get the client's progress timeout and no name.
func WithPhase(ctx context.Context, p Phase) context.Context {
	var cur progressRef
	conn := func(c net.Conn) *progressConn {
		if tc, ok := c.(*tls.Conn); ok {
			c = tc.NetConn()
		}
		if tc, ok := c.(*trackedConn); ok { // the login bookkeeping wraps ours
			c = tc.Conn
		}
		pc, _ := c.(*progressConn)
		return pc
	}
	return httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
		GotConn: func(info httptrace.GotConnInfo) {
			if pc := conn(info.Conn); pc != nil {
				cur.set(pc)
				pc.begin(p, true)
			}
		},
		WroteRequest: func(info httptrace.WroteRequestInfo) {
			if pc := cur.get(); pc != nil && info.Err == nil {
				pc.sent()
			}
		},
		PutIdleConn: func(error) {
			if pc := cur.get(); pc != nil {
				pc.idle()
			}
		},
	})
}

// progressRef is the connection a request is on; the trace's hooks run on
// the transport's goroutines.
type progressRef struct {
	mu sync.Mutex
	pc *progressConn
}

func (r *progressRef) set(pc *progressConn) { r.mu.Lock(); r.pc = pc; r.mu.Unlock() }
func (r *progressRef) get() *progressConn {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.pc
}

// progressDial wraps dial so every connection it makes has a progress
// deadline: while a request is on it, no byte moved in either direction for
// timeout ends the request with a *StallError. An idle keep-alive
// connection has none.
func progressDial(dial func(ctx context.Context, network, addr string) (net.Conn, error), host string, timeout time.Duration) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := dial(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return &progressConn{Conn: c, host: host, timeout: timeout}, nil
	}
}

// progressTimeout picks the allowance from the options.
func progressTimeout(o Options) time.Duration {
	switch {
	case o.ProgressTimeout > 0:
		return o.ProgressTimeout
	case o.ResponseHeaderTimeout > 0:
		return o.ResponseHeaderTimeout
	}
	return DefaultProgressTimeout
}

// StallError says that nothing moved on a connection for longer than its
// allowance while a request was on it. It is a timeout (net.Error).
type StallError struct {
	Host    string        // the server, host[:port]
	Phase   string        // "upload", "swap", "status" or ""
	Stage   string        // StageSending, StageWaiting or StageReading
	Sent    int64         // request bytes written to the socket
	Got     int64         // reply bytes read
	Idle    time.Duration // the allowance that ran out
	Setting string        // the setting that sets Idle
}

// The stages a request can stall in.
const (
	StageSending = "sending" // the server stopped reading the request
	StageWaiting = "waiting" // the request was sent, no reply came
	StageReading = "reading" // the reply started, then stopped
)

func (e *StallError) Error() string {
	what := "a request"
	if e.Phase != "" {
		what = "the " + e.Phase + " request"
	}
	var s string
	switch e.Stage {
	case StageSending:
		s = fmt.Sprintf("%s stopped reading %s after %s were sent: nothing moved for %s", e.Host, what, size(e.Sent), e.Idle)
	case StageWaiting:
		s = fmt.Sprintf("%s sent no reply to %s for %s after it was sent", e.Host, what, e.Idle)
	default:
		s = fmt.Sprintf("%s stopped sending its reply to %s after %s: nothing moved for %s", e.Host, what, size(e.Got), e.Idle)
	}
	return s + fmt.Sprintf("; check that the server is healthy, or raise %s (now %s) if it is only slow", e.Setting, e.Idle)
}

// Timeout and Temporary make a StallError a net.Error that timed out.
func (e *StallError) Timeout() bool   { return true }
func (e *StallError) Temporary() bool { return false }

// Unwrap lets errors.Is(err, os.ErrDeadlineExceeded) see the cause.
func (e *StallError) Unwrap() error { return os.ErrDeadlineExceeded }

func size(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%d KB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}

// progressConn is a connection with a progress deadline. Every byte read or
// written moves the deadline (for reads and writes alike) to now plus the
// allowance; while the request's reply has not started, the allowance is
// the phase's ReplyWait, if it has one. Bytes that leave the socket's send
// queue count too (where the system tells it): a slow line drains a queue
// that the writes filled long before. Between requests (the connection
// idle in the pool) there is no deadline.
type progressConn struct {
	net.Conn
	host    string
	timeout time.Duration

	mu      sync.Mutex
	armed   bool  // a request is on the connection
	traced  bool  // its requester named a phase (WithPhase)
	phase   Phase // the request's phase
	waiting bool  // the request is sent; no reply byte yet
	nsent   int64 // this request's bytes written
	ngot    int64 // this request's bytes read
	writing int   // writes in progress
	moved   time.Time
	queue   int // the send queue after the last move, -1 unknown
	stall   *StallError
}

// begin starts a request on the connection.
func (c *progressConn) begin(p Phase, traced bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.armed, c.traced, c.phase, c.waiting, c.nsent, c.ngot = true, traced, p, false, 0, 0
	c.movedLocked(false)
}

// sent: the whole request is written; the reply wait starts.
func (c *progressConn) sent() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.armed && c.ngot == 0 {
		c.waiting = true
		c.movedLocked(true)
	}
}

// idle: the request is done and the connection is back in the pool.
func (c *progressConn) idle() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stall == nil {
		c.armed, c.traced, c.phase, c.waiting = false, false, Phase{}, false
		_ = c.Conn.SetDeadline(time.Time{})
	}
}

func (c *progressConn) allowanceLocked() (time.Duration, string) {
	if c.waiting && c.phase.ReplyWait > 0 {
		setting := c.phase.ReplySetting
		if setting == "" {
			setting = SettingResponse
		}
		return c.phase.ReplyWait, setting
	}
	return c.timeout, SettingResponse
}

// movedLocked records progress and moves the deadline; wrote says the send
// queue may have grown, so it is read again.
func (c *progressConn) movedLocked(wrote bool) {
	c.moved = time.Now()
	if wrote {
		c.queue = c.unsent()
	}
	if c.armed && c.stall == nil {
		d, _ := c.allowanceLocked()
		_ = c.Conn.SetDeadline(c.moved.Add(d))
	}
}

// unsent reads the socket's send queue, -1 if unknown.
func (c *progressConn) unsent() int {
	sc, ok := c.Conn.(syscall.Conn)
	if !ok {
		return -1
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return -1
	}
	n := -1
	_ = raw.Control(func(fd uintptr) { n = unsentBytes(fd) })
	return n
}

// failLocked turns a deadline that ran out while a request was on the
// connection into the StallError, and keeps returning it: the transport
// closes the connection after a failure, and the errors that closing causes
// on the other direction must not hide why. retry says the deadline ran out
// though bytes moved (the other direction, or the send queue drained): the
// operation goes on.
func (c *progressConn) failLocked(err error) (_ error, retry bool) {
	if c.stall != nil {
		return c.stall, false
	}
	if !c.armed || !errors.Is(err, os.ErrDeadlineExceeded) {
		return err, false
	}
	d, setting := c.allowanceLocked()
	if time.Since(c.moved) < d {
		// Bytes moved meanwhile (the other direction, or an allowance that
		// grew): the deadline runs from that move.
		_ = c.Conn.SetDeadline(c.moved.Add(d))
		return nil, true
	}
	if q := c.unsent(); q >= 0 && c.queue >= 0 && q < c.queue {
		c.queue = q
		c.movedLocked(false)
		return nil, true
	}
	stage := StageReading
	switch {
	case c.writing > 0:
		stage = StageSending
	case c.ngot == 0:
		stage = StageWaiting
	}
	c.stall = &StallError{Host: c.host, Phase: c.phase.Name, Stage: stage, Sent: c.nsent, Got: c.ngot, Idle: d, Setting: setting}
	return c.stall, false
}

func (c *progressConn) Read(b []byte) (int, error) {
	for {
		n, err := c.Conn.Read(b)
		c.mu.Lock()
		if n > 0 {
			c.ngot += int64(n)
			c.waiting = false
			c.movedLocked(false)
		}
		retry := false
		if err != nil {
			err, retry = c.failLocked(err)
		}
		c.mu.Unlock()
		if !retry || n > 0 {
			return n, err
		}
	}
}

// ReadFrom copies a request body to the connection through Write, in
// pieces of copyBuffer (net/http hands the body to the connection's
// ReadFrom when there is one).
func (c *progressConn) ReadFrom(r io.Reader) (int64, error) {
	return copyTo(c, r)
}

// copyTo copies r to w (whose ReadFrom calls copyTo) through w's Write.
func copyTo(w io.Writer, r io.Reader) (int64, error) {
	return io.CopyBuffer(struct{ io.Writer }{w}, r, make([]byte, copyBuffer))
}

func (c *progressConn) Write(b []byte) (int, error) {
	c.mu.Lock()
	if c.stall != nil {
		c.mu.Unlock()
		return 0, c.stall
	}
	if !c.armed || !c.traced && c.ngot > 0 {
		// A request whose requester named no phase (or the TLS handshake):
		// it still gets the deadline.
		c.mu.Unlock()
		c.begin(Phase{}, false)
		c.mu.Lock()
	}
	c.writing++
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		c.writing--
		c.mu.Unlock()
	}()
	total := 0
	for len(b) > 0 {
		n, err := c.Conn.Write(b[:min(len(b), writeChunk)])
		total += n
		b = b[n:]
		c.mu.Lock()
		if n > 0 {
			c.nsent += int64(n)
			c.movedLocked(true)
		}
		if err != nil {
			err, _ = c.failLocked(err) // nil: bytes moved, write the rest
		}
		c.mu.Unlock()
		if err != nil {
			return total, err
		}
	}
	return total, nil
}
