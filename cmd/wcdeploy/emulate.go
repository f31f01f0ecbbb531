package main

import (
	"context"
	"fmt"
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
	if err := emulator.CheckListen(o.listen, o.allowRemote); err != nil {
		return exitcode.New(exitcode.Usage, err)
	}
	users, err := emulator.ParseUsers(o.users, o.usersFile)
	if err != nil {
		return exitcode.New(exitcode.Usage, err)
	}
	s, err := emulator.New(emulator.Config{
		Flavor: emulator.Flavor(o.flavor), Users: users, Auth: o.auth,
		AdminAccount: o.adminAccount, AdminAccountSet: true, Domain: o.domain,
		Dir: o.dir, ExeName: o.exeName, InitialVersion: o.initialVersion, Culture: o.culture,
		MaxRequestBytes: o.maxRequestBytes, Template: o.template,
		SwapDelay: emulator.SwapDelayFlag(o.swapDelay), Log: emulator.LogTo(a.logf),
	})
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
	s.PrintLinks(a.out())
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
		a.logf("emulator stopped")
		return err
	case err := <-served:
		s.Close()
		if err != nil {
			return fmt.Errorf("the emulator stopped: %w", err)
		}
		return nil
	}
}
