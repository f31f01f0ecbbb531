package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/wcdeploy/wcdeploy/internal/exitcode"
	"github.com/wcdeploy/wcdeploy/pkg/emulator"
)

type emulateOptions struct {
	listen          string
	allowRemote     bool
	flavor          string
	users           []string
	usersFile       string
	auth            string
	adminAccount    string
	domain          string
	dir             string
	swapDelay       time.Duration
	culture         string
	maxRequestBytes int64
	initialVersion  string
	template        string
	exeName         string

	// stop ends the server in tests; nil means when the command's context
	// ends (Ctrl-C, SIGTERM).
	stop <-chan struct{}
	// ready receives the base URL once listening (tests).
	ready func(url string)
}

func newEmulateCmd(a *app) *cobra.Command {
	o := &emulateOptions{}
	cmd := &cobra.Command{
		Use:   "emulate",
		Short: "Run a local emulator of a Web Connection server to try deploys without Windows",
		Long: `emulate runs an HTTP emulator of the West Wind Web Connection server side of a
hot-swap deploy (IIS module 7.14/7.15, Web Connection Web Server 7.26 or the
ISAPI wc.dll): UploadExe.wc, UpdateExe.wc, the status page, hold mode and
Basic/NTLM authentication, with the real servers' pages. It listens on
loopback unless --allow-remote is given, and runs until Ctrl-C.`,
		Example: `  wcdeploy emulate --user wcadmin:secret
  wcdeploy emulate --flavor webserver-7.26 --users-file users.txt --auth ntlm --listen 127.0.0.1:5200`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runEmulate(cmd.Context(), a, o) },
	}
	f := cmd.Flags()
	f.StringVar(&o.listen, "listen", "127.0.0.1:8080", "address to listen on (host:port)")
	f.BoolVar(&o.allowRemote, "allow-remote", false, "allow a --listen address that is not loopback")
	f.StringVar(&o.flavor, "flavor", string(emulator.Module715), "server to emulate: module-7.14, module-7.15, webserver-7.26 or isapi")
	f.StringArrayVar(&o.users, "user", nil, "a user as NAME:PASSWORD (repeatable; NAME may be DOMAIN\\user)")
	f.StringVar(&o.usersFile, "users-file", "", "file with one NAME:PASSWORD per line (# starts a comment)")
	f.StringVar(&o.auth, "auth", emulator.AuthBoth, "authentication the site enables: basic, ntlm, both, kerberos (service keytab from KRB5_KTNAME) or none")
	f.StringVar(&o.adminAccount, "admin-account", "ANY", "AdminAccount setting: ANY, a comma list of users, none (webserver) or empty")
	f.StringVar(&o.domain, "domain", "", "domain that prefixes authenticated names (DOMAIN\\user), as IIS reports them")
	f.StringVar(&o.dir, "dir", "", "deploy folder for ExeFile and UpdateFile (default: a new temporary folder)")
	f.DurationVar(&o.swapDelay, "swap-delay", emulator.DefaultSwapDelay, "the swap's fixed wait while requests are held")
	f.StringVar(&o.culture, "culture", emulator.DefaultCulture, "server culture for numbers and dates: en-US or de-DE")
	f.Int64Var(&o.maxRequestBytes, "max-request-bytes", emulator.DefaultMaxRequestBytes, "request size limit (IIS maxAllowedContentLength / Kestrel MaxRequestBodySize)")
	f.StringVar(&o.initialVersion, "initial-version", emulator.DefaultInitialVersion, "FileVersion of the ExeFile created at start")
	f.StringVar(&o.template, "template", emulator.TemplateFallback, "page template: fallback, bootstrap or a file with {0} and {1}")
	f.StringVar(&o.exeName, "exe-name", emulator.DefaultExeName, "ExeFile name; UpdateFile is <name>_Update.exe")
	return cmd
}

func runEmulate(ctx context.Context, a *app, o *emulateOptions) error {
	if err := checkListen(o.listen, o.allowRemote); err != nil {
		return exitcode.New(exitcode.Usage, err)
	}
	users, err := emulatorUsers(o.users, o.usersFile)
	if err != nil {
		return exitcode.New(exitcode.Usage, err)
	}
	// Handlers log from their own goroutines; one writer at a time.
	var logMu sync.Mutex
	logf := func(format string, args ...any) {
		logMu.Lock()
		defer logMu.Unlock()
		a.logf(format, args...)
	}
	s, err := emulator.New(emulatorConfig(o, users, logf))
	if err != nil {
		return exitcode.New(exitcode.Usage, err)
	}
	l, err := a.listen("tcp", o.listen)
	if err != nil {
		s.Close()
		return exitcode.New(exitcode.Usage, fmt.Errorf("cannot listen on %s: %w (choose another --listen address)", o.listen, err))
	}
	served := make(chan error, 1)
	go func() { served <- s.Serve(l) }()
	for s.URL() == "" {
		time.Sleep(time.Millisecond)
	}
	printEmulator(a.out(), s, users)
	if o.ready != nil {
		o.ready(s.URL())
	}
	stop := o.stop
	if stop == nil {
		stop = ctx.Done()
	}
	select {
	case <-stop:
		err := s.Close()
		logf("emulator stopped")
		return err
	case err := <-served:
		s.Close()
		if err != nil {
			return fmt.Errorf("the emulator stopped: %w", err)
		}
		return nil
	}
}

// emulatorConfig maps the flags to the emulator's settings; every request
// is logged with logf.
func emulatorConfig(o *emulateOptions, users map[string]string, logf func(string, ...any)) emulator.Config {
	cfg := emulator.Config{
		Flavor: emulator.Flavor(o.flavor), Users: users, Auth: o.auth,
		AdminAccount: o.adminAccount, AdminAccountSet: true, Domain: o.domain,
		Dir: o.dir, ExeName: o.exeName, InitialVersion: o.initialVersion, Culture: o.culture,
		MaxRequestBytes: o.maxRequestBytes, Template: o.template,
		SwapDelay: o.swapDelay,
		Log: func(r emulator.RequestLog) {
			user := r.User
			if user == "" {
				user = "-"
			}
			target := r.Path
			if r.Query != "" {
				target += "?" + r.Query
			}
			logf("%s %s %s user=%s status=%d bytes=%d %s", r.Time.Format("15:04:05"), r.Method, target, user, r.Status, r.BodyBytes, r.Duration.Round(time.Millisecond))
		},
	}
	if o.swapDelay == 0 {
		cfg.SwapDelay = -1 // an explicit 0 means no wait
	}
	return cfg
}

// printEmulator says where the emulator listens and what it serves.
func printEmulator(w io.Writer, s *emulator.Server, users map[string]string) {
	base := s.URL()
	cf := s.Config()
	fmt.Fprintf(w, "Web Connection emulator (%s) listening on %s\n", cf.Flavor, base)
	upload, update, status := base+"UploadExe.wc", base+"UpdateExe.wc", base+"ModuleAdministration.wc"
	if cf.Flavor == emulator.ISAPI {
		upload, update, status = base+"wc.wc?wwMaint~FileUpload", base+"wc.wc?_maintain~UpdateExe", base+"wc.wc?_maintain~ShowStatus"
	}
	fmt.Fprintf(w, "  upload:  %s\n  update:  %s\n  status:  %s\n", upload, update, status)
	fmt.Fprintf(w, "  ExeFile: %s (FileVersion %s)\n  UpdateFile: %s\n", s.ExePath(), s.ExeVersion(), s.UpdatePath())
	names := make([]string, 0, len(users))
	for n := range users {
		names = append(names, n)
	}
	fmt.Fprintf(w, "  auth: %s, users: %s, AdminAccount: %q\n", cf.Auth, strings.Join(names, ", "), cf.AdminAccount)
}

// checkListen keeps the emulator on loopback unless told otherwise: it
// accepts any password a test sets, over plain HTTP.
func checkListen(addr string, allowRemote bool) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("--listen %q is not host:port: %w", addr, err)
	}
	if allowRemote {
		return nil
	}
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("--listen %s is not a loopback address: add --allow-remote to serve other machines", addr)
}

// emulatorUsers merges --user flags and --users-file lines (NAME:PASSWORD).
func emulatorUsers(flags []string, file string) (map[string]string, error) {
	users := map[string]string{}
	add := func(where, v string) error {
		name, pass, ok := strings.Cut(v, ":")
		if !ok || name == "" {
			// Never echo the value: it holds a password.
			return fmt.Errorf("%s: a user must be NAME:PASSWORD", where)
		}
		users[name] = pass
		return nil
	}
	for i, v := range flags {
		if err := add(fmt.Sprintf("--user #%d", i+1), v); err != nil {
			return nil, err
		}
	}
	if file != "" {
		f, err := os.Open(file)
		if err != nil {
			return nil, fmt.Errorf("cannot read --users-file: %w", err)
		}
		defer f.Close()
		sc := bufio.NewScanner(f)
		for n := 1; sc.Scan(); n++ {
			line := strings.TrimSpace(sc.Text())
			if line == "" || strings.HasPrefix(line, "#") {
				continue
			}
			if err := add(fmt.Sprintf("%s line %d", file, n), line); err != nil {
				return nil, err
			}
		}
		if err := sc.Err(); err != nil {
			return nil, fmt.Errorf("cannot read --users-file: %w", err)
		}
	}
	return users, nil
}
