package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/wcdeploy/wcdeploy/internal/exitcode"
	"github.com/wcdeploy/wcdeploy/internal/output"
	"github.com/wcdeploy/wcdeploy/pkg/config"
)

type initOptions struct {
	flags   config.InitValues
	fromPrg string
	force   bool
}

func newInitCmd(a *app) *cobra.Command {
	o := &initOptions{}
	cmd := &cobra.Command{
		Use:   "init",
		Short: "Write a commented wcdeploy.yaml for this project",
		Long: `init writes wcdeploy.yaml in the current folder (or at --config) with one profile
(--profile, default "prod") and one server. Values come from flags, from a
generated FoxPro build script (--from-prg deploy/bld_App.prg: EXE_FILE,
HTTP_UPLOADURL, HTTP_UPDATEURL), or, on a terminal, from questions. Flags win
over the build script. An existing file is kept unless --force is given.
Passwords are never written: use 'wcdeploy login' or WCDEPLOY_PASSWORD.`,
		Example: `  wcdeploy init --exe build/App.exe --url https://web1.example.com/App/ --user deploy
  wcdeploy init --from-prg deploy/bld_App.prg
  wcdeploy init --profile staging --config staging.yaml --url http://localhost/App/ --exe App.exe`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runInit(a, o, cmd.Flags().Changed)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.flags.Exe, "exe", "", "the server EXE to deploy (e.g. build/App.exe)")
	f.StringVar(&o.flags.DLL, "dll", "", "companion DLL uploaded with the EXE (VFP 10 loader apps)")
	f.StringVar(&o.flags.URL, "url", "", "the application's base URL on the server (e.g. https://web1.example.com/App/)")
	f.StringVar(&o.flags.Flavor, "flavor", "", "server flavor: module, webserver or isapi (default module)")
	f.StringVar(&o.flags.User, "user", "", "user name for the admin links ('DOMAIN\\user' or 'user@domain' for Windows auth)")
	f.StringVar(&o.flags.Name, "name", "", "the server's name (default: the URL's host)")
	f.StringVar(&o.fromPrg, "from-prg", "", "import EXE_FILE and the upload/update links from a FoxPro build script (bld_<App>.prg)")
	f.BoolVar(&o.force, "force", false, "overwrite an existing config file")
	return cmd
}

// InitResult is the document 'wcdeploy init --json' prints.
type InitResult struct {
	Exe     string          `json:"exe"`
	File    string          `json:"file"`
	Profile string          `json:"profile"`
	Servers []config.Server `json:"servers"`
}

func runInit(a *app, o *initOptions, changed func(string) bool) error {
	cwd, err := a.getwd()
	if err != nil {
		return exitcode.Errorf(exitcode.Unexpected, "cannot read the current folder: %w", err)
	}
	req := config.InitRequest{
		Dir: cwd, File: a.configPath, Profile: a.profile, Force: o.force, FromPrg: o.fromPrg,
		Flags: o.flags, Changed: changed,
	}
	if a.io.Interactive() {
		req.Ask = config.InitAsker{R: a.io.In, W: a.io.Err, Dir: cwd}.Ask
	}
	res, err := config.Init(req)
	if err != nil {
		return err
	}
	// What was written first, then what to mind, then what to do next: the
	// order a person reads it in (stdout and stderr share a terminal).
	ld := res.Loaded
	if a.jsonOut {
		err = output.JSON(a.out(), InitResult{File: res.File, Profile: ld.Profile.Name, Exe: ld.Profile.Exe, Servers: ld.Profile.Servers})
	} else {
		_, err = fmt.Fprintf(a.out(), "Wrote %s (profile %q, server %s at %s)\n", res.File, ld.Profile.Name, res.Server, res.URL)
	}
	for _, n := range res.Notes {
		a.logf("%s", n)
	}
	a.logf("Next: store the password with 'wcdeploy login' (or set WCDEPLOY_PASSWORD in CI), then run 'wcdeploy deploy'.")
	return err
}
