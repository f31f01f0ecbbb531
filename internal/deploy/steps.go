// Package deploy does the work of a deploy for one server: it implements
// rollout.Steps with the authenticated HTTP client of that server, the
// uploader, the swapper and the configured health checks. internal/rollout decides
// the order; this package talks to the server.
package deploy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/wcdeploy/wcdeploy/internal/exitcode"
	"github.com/wcdeploy/wcdeploy/internal/rollout"
	"github.com/wcdeploy/wcdeploy/internal/transport"
	"github.com/wcdeploy/wcdeploy/pkg/config"
	"github.com/wcdeploy/wcdeploy/pkg/swapper"
	"github.com/wcdeploy/wcdeploy/pkg/uploader"
)

// ClientFunc returns the HTTP client for a server. The same client must be
// returned for the same server during a run: NTLM binds the login to its
// keep-alive connection, so preflight, upload and swap share it.
type ClientFunc func(t rollout.Target) (*http.Client, error)

// Options configure the steps. The values come from config.Profile, which
// owns their defaults; New refuses a zero where none makes sense.
type Options struct {
	Build         rollout.Build
	Client        ClientFunc
	Retries       int           // upload retries on transient failures
	Backoff       time.Duration // first retry delay (doubles); 0: DefaultBackoff
	SwapTimeout   time.Duration // how long the swap request may take
	StatusTimeout time.Duration // how long a status page request may take
	Health        []config.Health
	// HealthClient gives the client for health checks that do not ask for
	// the deploy credentials (health[].auth false, the default): an
	// application page must not be sent the deploy user's password. Nil
	// uses Client for every check.
	HealthClient ClientFunc
}

// DefaultBackoff is the first wait before an upload retry. The profile has
// no setting for it, so this is its one place.
const DefaultBackoff = time.Second

// Steps implements rollout.Steps.
type Steps struct {
	o       Options
	mu      sync.Mutex
	clients map[string]*http.Client
	anon    map[string]*http.Client    // health clients without credentials
	before  map[string]rollout.Running // what each server ran at preflight
}

var _ rollout.Steps = (*Steps)(nil)

// New returns the steps for o. It takes o's values as they are: a zero
// timeout, health status or health timeout is an error, not a reason to
// pick a number here.
func New(o Options) (*Steps, error) {
	if err := o.check(); err != nil {
		return nil, exitcode.New(exitcode.Usage, err)
	}
	if o.Backoff <= 0 {
		o.Backoff = DefaultBackoff
	}
	return &Steps{o: o, clients: map[string]*http.Client{}, anon: map[string]*http.Client{}, before: map[string]rollout.Running{}}, nil
}

func (o *Options) check() error {
	switch {
	case o.Client == nil:
		return errors.New("deploy: no HTTP client for the servers")
	case o.SwapTimeout <= 0:
		return fmt.Errorf("timeouts.swap is %s: the swap request needs a positive timeout (the default is %s)", o.SwapTimeout, config.Defaults().Timeouts.Swap)
	case o.StatusTimeout <= 0:
		return fmt.Errorf("timeouts.status is %s: status page requests need a positive timeout (the default is %s)", o.StatusTimeout, config.Defaults().Timeouts.Status)
	}
	for i, h := range o.Health {
		switch {
		case h.Status < 100 || h.Status > 599:
			return fmt.Errorf("rollout.health[%d].status is %d: set the HTTP status the check expects (the default is %d)", i, h.Status, config.DefaultHealthStatus)
		case h.Timeout <= 0:
			return fmt.Errorf("rollout.health[%d].timeout is %s: each check needs a positive timeout (the default is %s)", i, h.Timeout, config.DefaultHealthTimeout)
		case h.Interval < 0 || h.Retries < 0:
			return fmt.Errorf("rollout.health[%d]: interval %s and retries %d must not be negative", i, h.Interval, h.Retries)
		}
	}
	return nil
}

func (s *Steps) client(t rollout.Target) (*http.Client, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c, ok := s.clients[t.Name]; ok {
		return c, nil
	}
	c, err := s.o.Client(t)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", t.Name, err)
	}
	s.clients[t.Name] = c
	return c, nil
}

// healthClient is the deploy client when the check asks for credentials
// (or no anonymous client is set), else the server's anonymous one.
func (s *Steps) healthClient(t rollout.Target, auth bool) (*http.Client, error) {
	if auth || s.o.HealthClient == nil {
		return s.client(t)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if c, ok := s.anon[t.Name]; ok {
		return c, nil
	}
	c, err := s.o.HealthClient(t)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", t.Name, err)
	}
	s.anon[t.Name] = c
	return c, nil
}

// named prefixes err with the server's name, keeping its exit code; a
// message that starts with the name already keeps it once.
func named(t rollout.Target, err error) error {
	if err == nil {
		return nil
	}
	if strings.HasPrefix(err.Error(), t.Name+" ") {
		return err
	}
	return fmt.Errorf("%s: %w", t.Name, err)
}

// Preflight reads the status page with credentials: wrong URLs, TLS and
// auth problems stop the deploy here, before anything changes.
func (s *Steps) Preflight(ctx context.Context, t rollout.Target) (rollout.Running, error) {
	c, err := s.client(t)
	if err != nil {
		return rollout.Running{}, err
	}
	st, err := s.status(ctx, c, t)
	if err != nil {
		return rollout.Running{}, named(t, preflightCode(err))
	}
	run := rollout.Running{Version: st.Version, Date: st.Date, ExeFile: st.ExeFile}
	ctx, cancel := context.WithTimeout(ctx, s.o.StatusTimeout)
	defer cancel()
	if err := s.probeLimit(ctx, c, t); err != nil {
		return run, named(t, preflightCode(err))
	}
	s.remember(t, run)
	return run, nil
}

// probeLimit is the preflight's size check (CheckSize, shared with doctor).
func (s *Steps) probeLimit(ctx context.Context, c *http.Client, t rollout.Target) error {
	return CheckSize(ctx, c, s.o.Build, t)
}

// preflightCode keeps auth failures (3) and maps every other preflight
// failure to a configuration/reachability problem found before any change.
func preflightCode(err error) error {
	switch exitcode.Of(err) {
	case exitcode.Auth, exitcode.Interrupted:
		return err
	}
	if errors.Is(err, context.Canceled) {
		return err
	}
	return exitcode.New(exitcode.Upload, fmt.Errorf("preflight failed, nothing was changed: %w", err))
}

// Stage uploads the build.
func (s *Steps) Stage(ctx context.Context, t rollout.Target, progress func(int64)) error {
	c, err := s.client(t)
	if err != nil {
		return err
	}
	// Log in on a fresh keep-alive connection right before the upload: with
	// NTLM the login belongs to the connection, and the preflight's may have
	// timed out while other servers were checked, which would make the body
	// cross the wire once per handshake leg.
	lctx, cancel := context.WithTimeout(ctx, s.o.StatusTimeout)
	err = transport.Login(lctx, c, t.StatusURL)
	cancel()
	if err != nil {
		return named(t, preflightCode(err))
	}
	_, err = uploader.Upload(ctx, c, uploader.Options{
		URL:     t.UploadURL,
		Flavor:  t.Flavor,
		ExePath: s.o.Build.File(),
		Name:    s.o.Build.Path,
		DLLPath: s.o.Build.DLLPath,
		Size:    s.o.Build.Size,
		Retries: s.o.Retries,
		Backoff: s.o.Backoff,
		Progress: func(sent, _ int64) {
			if progress != nil {
				progress(sent)
			}
		},
	})
	return named(t, err)
}

// Swap triggers the hot swap once. A lost, late or unreadable reply is
// settled from the status page (settle); a refused swap says what the
// server runs now.
func (s *Steps) Swap(ctx context.Context, t rollout.Target) (rollout.Swapped, error) {
	c, err := s.client(t)
	if err != nil {
		return rollout.Swapped{}, err
	}
	sw, err := swapper.Swap(ctx, c, t.UpdateURL, t.StatusURL, s.o.SwapTimeout)
	var lost *swapper.LostReplyError
	if errors.As(err, &lost) {
		return s.settle(t, lost)
	}
	if err != nil {
		var runs rollout.Swapped
		if exitcode.Of(err) == exitcode.Swap && ctx.Err() == nil {
			var msg string
			msg, runs.Version = s.runsNow(ctx, c, t)
			err = fmt.Errorf("%w; %s", err, msg)
		}
		return runs, named(t, err)
	}
	return rollout.Swapped{Version: sw.Version, SizeKB: sw.SizeKB, Date: sw.Date, Evidence: replyEvidence(sw)}, nil
}

// Verify checks the swap reply against the build (version and kb), then the
// status page: the build's version with the file date the swap echoed. A
// status page that cannot be read leaves the server's state unknown.
func (s *Steps) Verify(ctx context.Context, t rollout.Target, sw rollout.Swapped) (rollout.Running, error) {
	run := rollout.Running{Version: sw.Version, Date: sw.Date}
	fromReply := sw.Version != "" && sw.Settled == ""
	if fromReply {
		got := &swapper.Swapped{Version: sw.Version, SizeKB: sw.SizeKB, Date: sw.Date}
		if err := swapper.Verify(s.o.Build.Version, s.o.Build.Size, got); err != nil {
			return run, named(t, err)
		}
	}
	c, err := s.client(t)
	if err != nil {
		return run, err
	}
	st, err := s.status(ctx, c, t)
	if err != nil {
		what := "the swap reply named no version"
		if sw.Version != "" {
			what = "the swap reported " + sw.Version
		}
		return run, rollout.StateUnknown(named(t, exitcode.New(exitcode.Verify,
			fmt.Errorf("%s but the status page could not be read afterwards, so what runs is unknown: %w; open %s", what, err, rollout.RedactURL(t.StatusURL)))))
	}
	run = rollout.Running{Version: st.Version, Date: st.Date, ExeFile: st.ExeFile}
	if !swapper.SameVersion(st.Version, s.o.Build.Version) {
		shown := st.Version
		if shown == "" {
			shown = "an unreadable version (n/a)"
		}
		return run, named(t, exitcode.Errorf(exitcode.Verify,
			"runs %s, expected %s (status page after the swap); another deploy may have raced this one: run 'wcdeploy status' and deploy again",
			shown, s.o.Build.Version))
	}
	return run, named(t, s.sameFile(sw, st))
}

// sameFile checks the status page's file date against the date the swap
// echoed (a settled swap echoes the page's own): another date means another
// swap came in between.
func (s *Steps) sameFile(sw rollout.Swapped, st *swapper.Status) error {
	if st.Date == "" || sw.Date == "" || sameDate(st.Date, sw.Date) {
		return nil // n/a, or wc.dll's reply without a date: the version and the reply decided
	}
	return exitcode.Errorf(exitcode.Verify,
		"runs %s but its file date is %s, not %s as the swap said: another build was swapped in since; run 'wcdeploy status' and deploy again",
		st.Version, st.Date, sw.Date)
}

// Health runs the configured checks in order; each retries until it passes
// or its retries run out.
func (s *Steps) Health(ctx context.Context, t rollout.Target) error {
	if len(s.o.Health) == 0 {
		return nil
	}
	for _, h := range s.o.Health {
		c, err := s.healthClient(t, h.Auth)
		if err != nil {
			return err
		}
		if err := s.checkHealth(ctx, c, t, h); err != nil {
			if ctx.Err() != nil {
				return named(t, err)
			}
			return named(t, exitcode.Errorf(exitcode.Verify,
				"runs %s but failed its health check: %w; if the build is at fault, 'wcdeploy rollback' puts the previous one back", s.o.Build.Version, err))
		}
	}
	return nil
}

func (s *Steps) checkHealth(ctx context.Context, c *http.Client, t rollout.Target, h config.Health) error {
	target, err := h.ResolveURL(t.URL)
	if err != nil {
		return err
	}
	attempts := h.Retries + 1
	var last error
	for i := 0; i < attempts; i++ {
		if i > 0 {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(h.Interval):
			}
		}
		last = probe(ctx, c, target, h.Status, h.Contains, h.Timeout)
		if last == nil {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
	tries := "1 attempt"
	if attempts > 1 {
		tries = fmt.Sprintf("%d attempts", attempts)
	}
	return fmt.Errorf("%s %w (%s)", target, last, tries)
}

func probe(ctx context.Context, c *http.Client, target string, want int, contains string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return err
	}
	resp, err := c.Do(req)
	if err != nil {
		return fmt.Errorf("could not be read: %w", transport.Quiet(err))
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return fmt.Errorf("could not be read to the end: %w", transport.Quiet(err))
	}
	if resp.StatusCode != want {
		return fmt.Errorf("answered HTTP %d, not %d", resp.StatusCode, want)
	}
	if contains != "" && !strings.Contains(string(body), contains) {
		return fmt.Errorf("answered a page without %q", contains)
	}
	return nil
}

// ForProfile is New with p's retries, timeouts and health check; health
// checks use an anonymous client built by newClient.
func ForProfile(p config.Profile, b rollout.Build, client ClientFunc, newClient NewClientFunc) (*Steps, error) {
	return New(Options{
		Build:         b,
		Client:        client,
		Retries:       p.Retries,
		SwapTimeout:   p.Timeouts.Swap,
		StatusTimeout: p.Timeouts.Status,
		Health:        p.Rollout.Health,
		HealthClient:  AnonymousClients(p, newClient),
	})
}
