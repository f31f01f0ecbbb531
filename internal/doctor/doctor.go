// Package doctor checks, changing nothing, what a deploy needs: the local
// EXE once, then every server of the profile through an ordered list of
// checks (name, connection, TLS, offered schemes, login, the Kerberos
// identity, AdminAccount, version, paths, size limit). Each check is a small type that returns a
// Result. The checks use the parts a deploy uses (transport's TLS set-up
// and client, deploy.ReadBuild, deploy.CheckSize), so doctor's verdict is
// deploy's preflight verdict.
package doctor

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/wcdeploy/wcdeploy/internal/deploy"
	"github.com/wcdeploy/wcdeploy/internal/exitcode"
	"github.com/wcdeploy/wcdeploy/internal/pool"
	"github.com/wcdeploy/wcdeploy/internal/rollout"
	"github.com/wcdeploy/wcdeploy/pkg/config"
	"github.com/wcdeploy/wcdeploy/pkg/swapper"
)

// Status is the outcome of one check.
type Status string

// The outcomes. Only Fail stops a deploy; Skip means the check could not
// run because an earlier one failed, or does not apply.
const (
	OK   Status = "ok"
	Warn Status = "warn"
	Fail Status = "fail"
	Skip Status = "skip"
)

// Result is what one check found.
type Result struct {
	Check   string `json:"check"`
	Status  Status `json:"result"`
	Message string `json:"detail"`
	// Next is what to do about a warning or failure.
	Next string `json:"fix,omitempty"`
	// Code is the exit code a failure maps to.
	Code exitcode.Code `json:"-"`
}

func ok(msg string) Result { return Result{Status: OK, Message: msg} }

func warn(msg, next string) Result { return Result{Status: Warn, Message: msg, Next: next} }

func fail(code exitcode.Code, err error, next string) Result {
	return Result{Status: Fail, Message: err.Error(), Next: next, Code: code}
}

func skip(msg string) Result { return Result{Status: Skip, Message: msg} }

// Cert is one certificate of a server's chain.
type Cert struct {
	Subject  string    `json:"subject"`
	Issuer   string    `json:"issuer"`
	NotAfter time.Time `json:"not_after"`
	DNSNames []string  `json:"dns_names,omitempty"`
}

// ServerReport is what doctor found on one server.
type ServerReport struct {
	Name        string   `json:"name"`
	URL         string   `json:"url"`
	OK          bool     `json:"ok"` // a deploy would pass its preflight
	AuthOffered []string `json:"auth_offered,omitempty"`
	Chain       []Cert   `json:"tls_chain,omitempty"`
	Version     string   `json:"version,omitempty"`
	ExeFile     string   `json:"exe_file,omitempty"`
	UpdateFile  string   `json:"update_file,omitempty"`
	Module      string   `json:"module,omitempty"`
	Checks      []Result `json:"checks"`
}

// Exe is the local EXE as deploy reads it.
type Exe struct {
	Path    string `json:"path"`
	Version string `json:"version,omitempty"`
	Size    int64  `json:"size,omitempty"`
}

// Report is the result of one doctor run.
type Report struct {
	Profile string `json:"profile"`
	// OK: every check passed or warned, so a deploy would pass preflight.
	OK          bool           `json:"ok"`
	Ready       int            `json:"ready"` // servers a deploy would take
	Exe         *Exe           `json:"exe,omitempty"`
	Local       []Result       `json:"local"`
	Servers     []ServerReport `json:"servers"`
	Interrupted bool           `json:"interrupted,omitempty"`
}

// ClientFunc gives the HTTP client for a server (deploy's, so doctor logs
// in exactly as a deploy does).
type ClientFunc = deploy.ClientFunc

// Options say what to check.
type Options struct {
	Profile config.Profile
	// Client is the authenticated client a deploy would use; Anonymous
	// one with the same settings and no credentials, for the challenge.
	Client, Anonymous ClientFunc
	// Parallel is how many servers are checked at once (at least 1).
	Parallel int
	// Now is the clock for certificate expiry (default time.Now).
	Now func() time.Time
}

// server is what the checks of one server share as they run.
type server struct {
	o      *Options
	target rollout.Target
	host   string
	port   string
	https  bool
	build  *rollout.Build // nil: no EXE, or deploy would refuse it
	client *http.Client   // logged in by the login check
	status *swapper.Status
	rep    *ServerReport
}

// Check is one step of a server's diagnosis.
type Check interface {
	Name() string
	Run(ctx context.Context, s *server) Result
}

// afterFailure is a check that still runs after the named check failed
// (it may say why).
type afterFailure interface {
	runsAfter(failed string) bool
}

// optional is a check that does not apply to every server; where it does
// not, the report has no row for it.
type optional interface {
	applies(s *server) bool
}

// checks is the ordered list every server goes through. After a failure
// the rest are skipped (they would only repeat it), but for a check that
// says why.
func checks() []Check {
	return []Check{
		dnsCheck{}, tcpCheck{}, tlsCheck{}, offeredCheck{},
		loginCheck{}, kerberosCheck{}, adminCheck{}, versionCheck{}, pathsCheck{}, sizeCheck{},
	}
}

// Run checks the local EXE, then every server of the profile, at most
// o.Parallel at once. When ctx ends, servers not yet started are reported
// as skipped and Interrupted is set.
func Run(ctx context.Context, o Options) *Report {
	if o.Now == nil {
		o.Now = time.Now
	}
	rep := &Report{Profile: o.Profile.Name, Servers: make([]ServerReport, len(o.Profile.Servers))}
	build, local := checkExe(o.Profile)
	rep.Local = []Result{local}
	if o.Profile.Exe != "" {
		rep.Exe = &Exe{Path: o.Profile.Exe}
		if build != nil {
			rep.Exe.Version, rep.Exe.Size = build.Version, build.Size
		}
	}
	targets := deploy.Targets(o.Profile)
	idx := make([]int, len(targets))
	for i := range idx {
		idx[i] = i
	}
	left := pool.All(ctx, idx, o.Parallel, func(i int) {
		rep.Servers[i] = diagnose(ctx, &o, targets[i], build)
	})
	for _, i := range left {
		t := targets[i]
		rep.Servers[i] = ServerReport{Name: t.Name, URL: rollout.RedactURL(t.URL),
			Checks: []Result{{Check: checks()[0].Name(), Status: Skip, Message: "not checked: doctor was interrupted"}}}
	}
	rep.Interrupted = ctx.Err() != nil
	rep.OK = local.Status != Fail && !rep.Interrupted
	for _, s := range rep.Servers {
		if s.OK && local.Status != Fail {
			rep.Ready++
		}
		rep.OK = rep.OK && s.OK
	}
	return rep
}

// diagnose runs the list on one server.
func diagnose(ctx context.Context, o *Options, t rollout.Target, build *rollout.Build) ServerReport {
	rep := ServerReport{Name: t.Name, URL: rollout.RedactURL(t.URL)}
	s := &server{o: o, target: t, build: build, rep: &rep}
	failed := ""
	if u, err := url.Parse(t.URL); err != nil || u.Hostname() == "" {
		rep.Checks = append(rep.Checks, Result{Check: "url", Status: Fail, Code: exitcode.Usage,
			Message: fmt.Sprintf("the server URL %q cannot be parsed", rep.URL), Next: "write it as https://host[:port]/App/"})
		failed = "url"
	} else {
		s.host, s.port, s.https = u.Hostname(), portOf(u), u.Scheme == "https"
	}
	for _, c := range checks() {
		if oc, ok := c.(optional); ok && !oc.applies(s) {
			continue
		}
		var r Result
		if af, ok := c.(afterFailure); failed == "" || ok && af.runsAfter(failed) {
			r = c.Run(ctx, s)
		} else {
			r = skip(fmt.Sprintf("not checked: %s failed", failed))
		}
		r.Check = c.Name()
		if r.Status == Fail && failed == "" {
			failed = r.Check
		}
		rep.Checks = append(rep.Checks, r)
	}
	if s.client != nil {
		closeIdle(s.client)
	}
	rep.OK = failed == ""
	return rep
}

func portOf(u *url.URL) string {
	if p := u.Port(); p != "" {
		return p
	}
	if u.Scheme == "https" {
		return "443"
	}
	return "80"
}

// Err is the run's error with the exit code of its first failure: the
// local EXE first, then the servers in profile order; nil when OK.
func (r *Report) Err() error {
	if r.Interrupted {
		return exitcode.New(exitcode.Interrupted, errors.New("doctor interrupted: the servers not yet checked were skipped"))
	}
	for _, c := range r.Local {
		if c.Status == Fail {
			return exitcode.New(c.Code, errors.New(c.Message))
		}
	}
	for _, s := range r.Servers {
		for _, c := range s.Checks {
			if c.Status == Fail {
				return exitcode.New(c.Code, fmt.Errorf("%s: %s", s.Name, c.Message))
			}
		}
	}
	return nil
}
