// Package emulator is an HTTP emulator of the West Wind Web Connection server
// side of a hot-swap deploy: the IIS .NET module (7.14, 7.15), the Web
// Connection Web Server (7.26) and the legacy ISAPI wc.dll. It follows
// the Web Connection protocol specification, wc-protocol.md (routing §1.1, auth §2, pages §3, upload and
// swap §4, status §5) and reproduces the shipped module's page bytes, so
// that wcdeploy's tests, its demo and users' pipeline trials meet what the
// real servers answer, including their quirks. Faults can be injected per
// action to exercise every failure a client must survive.
package emulator

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jcmturner/gokrb5/v8/keytab"

	"github.com/wcdeploy/wcdeploy/internal/peversion"
	"github.com/wcdeploy/wcdeploy/pkg/config"
	"github.com/wcdeploy/wcdeploy/pkg/sampleexe"
)

// Flavor is the server implementation being emulated.
type Flavor string

// The emulated flavors.
const (
	Module714    Flavor = "module-7.14"
	Module715    Flavor = "module-7.15"
	WebServer726 Flavor = "webserver-7.26"
	ISAPI        Flavor = "isapi"
)

// Kind is the flavor as a wcdeploy profile names it (`flavor:` in
// wcdeploy.yaml, --flavor): module, webserver or isapi.
func (f Flavor) Kind() string {
	switch f {
	case WebServer726:
		return config.FlavorWebServer
	case ISAPI:
		return config.FlavorISAPI
	}
	return config.FlavorModule
}

// Flavors lists every flavor, for flag help and validation.
var Flavors = []Flavor{Module714, Module715, WebServer726, ISAPI}

// Auth schemes accepted in Config.Auth.
const (
	AuthBasic = "basic"
	AuthNTLM  = "ntlm"
	AuthBoth  = "both"
	AuthNone  = "none"
)

// Template names accepted in Config.Template; anything else is a file path.
const (
	TemplateFallback  = "fallback"
	TemplateBootstrap = "bootstrap"
)

// Defaults.
const (
	DefaultExeName         = "WcDemo.exe"
	DefaultInitialVersion  = "1.0.0.0"
	DefaultSwapDelay       = 3 * time.Second
	DefaultMaxRequestBytes = 30_000_000
	DefaultCulture         = "en-US"
)

// Config configures one emulated server.
type Config struct {
	Flavor Flavor
	// Users maps a login name to its password. A name may carry a domain
	// (`WCEMU\user`); a bare name logs in with any domain or none.
	Users map[string]string
	// Auth is "basic", "ntlm", "both" (default), "kerberos" or "none".
	Auth string
	// Keytab is the service keytab for auth kerberos (default KRB5_KTNAME).
	Keytab string
	// ProxyUserHeader, when set, names a request header through which an
	// authenticating reverse proxy in front passes the user's name.
	ProxyUserHeader string
	// AdminAccount as in web.config (§2.1). "" means the default ANY unless
	// AdminAccountSet is true, in which case it is the literal empty value.
	AdminAccount            string
	AdminAccountSet         bool
	EmptyAdminAccountAllows bool // the docs' reading of an empty AdminAccount
	// Domain prefixes authenticated names (`DOMAIN\user`) as IIS reports
	// them; empty reports bare names.
	Domain string

	Dir             string        // deploy folder; default a new temporary folder
	ExeName         string        // default "WcDemo.exe"; UpdateFile is <base>_Update.exe
	InitialVersion  string        // FileVersion of the initial ExeFile, default "1.0.0.0"
	SwapDelay       time.Duration // the module's fixed sleep, default 3 s; negative means none
	Culture         string        // "en-US" (default) or "de-DE"
	MaxRequestBytes int64         // default 30,000,000
	Template        string        // "fallback" (default), "bootstrap" or a file path

	// WebServerDLLBug reproduces the 7.26 Web Server bug where the .dll
	// target receives the EXE bytes.
	WebServerDLLBug bool
	// WebServerIgnoresBasic emulates a self-hosted Kestrel Web Server that
	// advertises Basic but only validates Negotiate/NTLM.
	WebServerIgnoresBasic bool
	// NoFoxProServer makes normal requests fail as they do when no FoxPro
	// COM server can be loaded (transcript 20), instead of serving a page.
	NoFoxProServer bool

	// Log is called after each request.
	Log func(RequestLog)
}

// RequestLog is one handled request.
type RequestLog struct {
	Time      time.Time     `json:"time"`
	Method    string        `json:"method"`
	Path      string        `json:"path"`
	Query     string        `json:"query,omitempty"`
	Action    string        `json:"action"` // canonical action, "page" for normal requests
	User      string        `json:"user,omitempty"`
	Status    int           `json:"status"`
	BodyBytes int64         `json:"body_bytes"` // request body bytes received
	Duration  time.Duration `json:"duration"`
	Remote    string        `json:"remote"`
	Fault     string        `json:"fault,omitempty"`
}

// Server is one running emulated Web Connection server.
type Server struct {
	cfg        Config
	exePath    string
	updatePath string
	tempDir    string // set when Dir was created by New
	tmpl       string // page template with {0} {1} {2}

	srv      *http.Server
	mu       sync.Mutex
	ln       net.Listener
	baseURL  string
	closed   bool
	handlers sync.WaitGroup
	closing  chan struct{}

	keytab          *keytab.Keytab // auth kerberos
	hold            atomic.Bool
	bodyBytes       atomic.Int64
	reqs            []RequestLog
	faults          []*faultState
	versionOverride string
	verCache        versionCache
}

// New validates cfg, creates the deploy folder's initial ExeFile and returns
// a server that is not listening yet.
func New(cfg Config) (*Server, error) {
	if cfg.Flavor == "" {
		cfg.Flavor = Module715
	}
	f, err := ParseFlavor(string(cfg.Flavor))
	if err != nil {
		return nil, fmt.Errorf("emulator: %w", err)
	}
	cfg.Flavor = f
	cfg.Auth = strings.ToLower(cfg.Auth)
	switch cfg.Auth {
	case "":
		cfg.Auth = AuthBoth
	case AuthBasic, AuthNTLM, AuthBoth, AuthNone, AuthKerberos:
	default:
		return nil, fmt.Errorf("emulator: unknown auth %q: use basic, ntlm, both, kerberos or none", cfg.Auth)
	}
	if cfg.AdminAccount == "" && !cfg.AdminAccountSet {
		cfg.AdminAccount = "ANY"
	}
	if cfg.ExeName == "" {
		cfg.ExeName = DefaultExeName
	}
	if strings.ContainsAny(cfg.ExeName, `/\`) || !strings.EqualFold(filepath.Ext(cfg.ExeName), ".exe") {
		return nil, fmt.Errorf("emulator: ExeName %q must be a file name ending in .exe", cfg.ExeName)
	}
	if cfg.InitialVersion == "" {
		cfg.InitialVersion = DefaultInitialVersion
	}
	if cfg.SwapDelay == 0 {
		cfg.SwapDelay = DefaultSwapDelay
	} else if cfg.SwapDelay < 0 {
		cfg.SwapDelay = 0
	}
	if cfg.Culture == "" {
		cfg.Culture = DefaultCulture
	}
	if _, ok := cultures[cfg.Culture]; !ok {
		return nil, fmt.Errorf("emulator: unknown culture %q: use en-US or de-DE", cfg.Culture)
	}
	if cfg.MaxRequestBytes <= 0 {
		cfg.MaxRequestBytes = DefaultMaxRequestBytes
	}
	s := &Server{closing: make(chan struct{})}
	if cfg.Auth == AuthKerberos {
		kt, err := loadKeytab(&cfg)
		if err != nil {
			return nil, err
		}
		s.keytab = kt
	}
	tmpl, err := loadTemplate(cfg.Template)
	if err != nil {
		return nil, err
	}
	s.tmpl = tmpl
	if cfg.Dir == "" {
		d, err := os.MkdirTemp("", "wcemulator-")
		if err != nil {
			return nil, fmt.Errorf("emulator: cannot create a deploy folder: %w", err)
		}
		cfg.Dir, s.tempDir = d, d
	} else if err := os.MkdirAll(cfg.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("emulator: cannot create the deploy folder %s: %w", cfg.Dir, err)
	}
	dir, err := filepath.Abs(cfg.Dir)
	if err != nil {
		return nil, fmt.Errorf("emulator: deploy folder %s: %w", cfg.Dir, err)
	}
	cfg.Dir = dir
	s.cfg = cfg
	s.exePath = filepath.Join(dir, cfg.ExeName)
	base := strings.TrimSuffix(cfg.ExeName, filepath.Ext(cfg.ExeName))
	s.updatePath = filepath.Join(dir, base+"_Update.exe")
	if err := sampleexe.WriteFile(s.exePath, sampleexe.Options{FileVersion: cfg.InitialVersion}); err != nil {
		s.cleanup()
		return nil, fmt.Errorf("emulator: cannot write the initial ExeFile %s: %w", s.exePath, err)
	}
	s.srv = &http.Server{
		Handler:           s,
		ConnContext:       withConnState,
		ReadHeaderTimeout: 30 * time.Second,
		// HTTP/2 stays off, as on a module server reached by NTLM clients:
		// NTLM binds to one HTTP/1.1 connection.
		TLSNextProto: map[string]func(*http.Server, *tls.Conn, http.Handler){},
		ErrorLog:     nil,
	}
	return s, nil
}

// ParseFlavor reads a flavor name as every wcdeploy command does
// (config.ParseEmulatedFlavor): any case, and a profile's names too, module
// meaning module-7.15 and webserver webserver-7.26.
func ParseFlavor(name string) (Flavor, error) {
	f, err := config.ParseEmulatedFlavor(name)
	return Flavor(f), err
}

// Start listens on addr (e.g. "127.0.0.1:0") and serves in the background.
func (s *Server) Start(addr string) error {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("emulator: cannot listen on %s: %w", addr, err)
	}
	return s.startOn(l, "http")
}

// StartTLS is Start with TLS using cert.
func (s *Server) StartTLS(addr string, cert tls.Certificate) error {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("emulator: cannot listen on %s: %w", addr, err)
	}
	tl := tls.NewListener(l, &tls.Config{Certificates: []tls.Certificate{cert}, NextProtos: []string{"http/1.1"}})
	return s.startOn(tl, "https")
}

func (s *Server) startOn(l net.Listener, scheme string) error {
	if err := s.setListener(l, scheme); err != nil {
		l.Close()
		return err
	}
	go func() { _ = s.srv.Serve(l) }()
	return nil
}

// Serve serves on l until Close; it is the blocking form for the command.
func (s *Server) Serve(l net.Listener) error {
	if err := s.setListener(l, "http"); err != nil {
		return err
	}
	err := s.srv.Serve(l)
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

func (s *Server) setListener(l net.Listener, scheme string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return errors.New("emulator: server is closed")
	}
	if s.ln != nil {
		return errors.New("emulator: server is already listening")
	}
	s.ln = l
	host, port, err := net.SplitHostPort(l.Addr().String())
	if err != nil {
		return fmt.Errorf("emulator: listener address %s: %w", l.Addr(), err)
	}
	if ip := net.ParseIP(host); ip == nil || ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	s.baseURL = scheme + "://" + net.JoinHostPort(host, port) + "/"
	return nil
}

// URL is the base URL with a trailing slash.
func (s *Server) URL() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.baseURL
}

// Close stops listening, ends every connection (stalled ones too), releases
// a hold and waits for the handlers to return.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.mu.Unlock()
	// Connections go first, so that a swap woken by closing cannot still
	// answer its client.
	err := s.srv.Close()
	close(s.closing)
	s.hold.Store(false)
	s.handlers.Wait()
	s.cleanup()
	return err
}

func (s *Server) cleanup() {
	if s.tempDir != "" {
		_ = os.RemoveAll(s.tempDir)
	}
}

// Config returns the effective configuration (defaults applied).
func (s *Server) Config() Config { return s.cfg }

// ExePath is the full path of ExeFile.
func (s *Server) ExePath() string { return s.exePath }

// UpdatePath is the full path of UpdateFile.
func (s *Server) UpdatePath() string { return s.updatePath }

// OnHold reports whether requests are on hold.
func (s *Server) OnHold() bool { return s.hold.Load() }

// ExeVersion is the FileVersion the server reports for ExeFile now ("n/a"
// when it cannot be read).
func (s *Server) ExeVersion() string {
	v, _ := s.exeInfo()
	return v
}

// Requests returns a copy of the request log.
func (s *Server) Requests() []RequestLog {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]RequestLog(nil), s.reqs...)
}

// BodyBytes is the total of request body bytes received.
func (s *Server) BodyBytes() int64 { return s.bodyBytes.Load() }

// exeInfo reads FileVersion and LastWriteTime of ExeFile; "n/a" on error, as
// the module does.
func (s *Server) exeInfo() (version string, mod time.Time) {
	fi, err := os.Stat(s.exePath)
	if err != nil {
		return "n/a", time.Time{}
	}
	s.mu.Lock()
	override := s.versionOverride
	s.mu.Unlock()
	v := s.verCache.get(s.exePath, fi)
	if override != "" {
		v = override
	}
	return v, fi.ModTime()
}

// versionCache avoids hashing a large EXE on every status page.
type versionCache struct {
	mu      sync.Mutex
	path    string
	size    int64
	mod     time.Time
	version string
}

func (c *versionCache) get(path string, fi os.FileInfo) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.path == path && c.size == fi.Size() && c.mod.Equal(fi.ModTime()) {
		return c.version
	}
	v := "n/a"
	if info, err := peversion.ReadFile(path); err == nil {
		v = info.FileVersion
	}
	c.path, c.size, c.mod, c.version = path, fi.Size(), fi.ModTime(), v
	return v
}

func (s *Server) isClosing() bool {
	select {
	case <-s.closing:
		return true
	default:
		return false
	}
}

// sleep waits d, or less when ctx ends or the server closes.
func (s *Server) sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	case <-s.closing:
		return false
	}
}
