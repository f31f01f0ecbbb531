package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/wcdeploy/wcdeploy/pkg/config"
	"github.com/wcdeploy/wcdeploy/pkg/exitcode"
)

func init() { extraCommands = append(extraCommands, newInitCmd) }

type initOptions struct {
	exe, dll, url, flavor, user, name string
	fromPrg                           string
	force                             bool
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
			return runInit(a, cmd, o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.exe, "exe", "", "the server EXE to deploy (e.g. build/App.exe)")
	f.StringVar(&o.dll, "dll", "", "companion DLL uploaded with the EXE (VFP 10 loader apps)")
	f.StringVar(&o.url, "url", "", "the application's base URL on the server (e.g. https://web1.example.com/App/)")
	f.StringVar(&o.flavor, "flavor", "", "server flavor: module, webserver or isapi (default module)")
	f.StringVar(&o.user, "user", "", "user name for the admin links ('DOMAIN\\user' or 'user@domain' for Windows auth)")
	f.StringVar(&o.name, "name", "", "the server's name (default: the URL's host)")
	f.StringVar(&o.fromPrg, "from-prg", "", "import EXE_FILE and the upload/update links from a FoxPro build script (bld_<App>.prg)")
	f.BoolVar(&o.force, "force", false, "overwrite an existing config file")
	return cmd
}

func runInit(a *app, cmd *cobra.Command, o *initOptions) error {
	cwd, err := os.Getwd()
	if err != nil {
		return exitcode.Errorf(exitcode.Unexpected, "cannot read the current folder: %w", err)
	}
	target := a.configPath
	if target == "" {
		target = config.FileName
	}
	if !filepath.IsAbs(target) {
		target = filepath.Join(cwd, target)
	}
	if st, err := os.Stat(target); err == nil {
		if st.IsDir() {
			return exitcode.Errorf(exitcode.Usage, "%s is a folder; pass --config with a file name", target)
		}
		if !o.force {
			return exitcode.Errorf(exitcode.Usage, "%s already exists; edit it, or pass --force to replace it", target)
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return exitcode.Errorf(exitcode.Usage, "cannot check %s: %w", target, err)
	}
	cfgDir := filepath.Dir(target)
	flags := cmd.Flags()

	// Start from the build script, then let flags win.
	var v initValues
	var header, notes []string
	if o.fromPrg != "" {
		prg := o.fromPrg
		if !filepath.IsAbs(prg) {
			prg = filepath.Join(cwd, prg)
		}
		bs, err := config.ReadBuildScript(prg)
		if err != nil {
			return exitcode.New(exitcode.Usage, fmt.Errorf("--from-prg: %w", err))
		}
		v, notes, err = initValuesFromScript(bs, prg)
		if err != nil {
			return exitcode.Errorf(exitcode.Usage, "--from-prg %s: %w; pass --url (and --exe) to fill what the script does not say", o.fromPrg, err)
		}
		header = append(header, "Imported from "+initSlashRel(cfgDir, prg)+".")
	}
	if flags.Changed("exe") {
		v.exe = initAbsPath(cwd, o.exe)
	}
	if flags.Changed("dll") {
		v.dll = initAbsPath(cwd, o.dll)
	}
	if flags.Changed("url") {
		v.url, v.uploadURL, v.updateURL = o.url, "", ""
	}
	if flags.Changed("flavor") {
		v.flavor = o.flavor
	}
	if flags.Changed("user") {
		v.user = o.user
	}
	if flags.Changed("name") {
		v.name = o.name
	}

	if v.exe == "" || v.url == "" {
		if !a.io.Interactive() {
			var miss []string
			if v.exe == "" {
				miss = append(miss, "--exe")
			}
			if v.url == "" {
				miss = append(miss, "--url")
			}
			return exitcode.Errorf(exitcode.Usage, "init needs %s (or --from-prg with a build script); there is no terminal to ask on", strings.Join(miss, " and "))
		}
		if err := initAsk(a, &v, cwd); err != nil {
			return err
		}
	}
	if v.flavor == "" {
		v.flavor = config.FlavorModule
	}
	base, err := config.NormalizeBaseURL(v.url)
	if err != nil {
		return exitcode.Errorf(exitcode.Usage, "--url: the URL %w", err)
	}
	if v.name == "" {
		u, _ := url.Parse(base)
		v.name = u.Host
	}

	profile := a.profile
	if profile == "" {
		profile = "prod"
	}
	spec := config.InitSpec{
		Profile: profile, Exe: initSlashRel(cfgDir, v.exe), Username: v.user, Flavor: v.flavor,
		Servers: []config.InitServer{{Name: v.name, URL: base, UploadURL: v.uploadURL, UpdateURL: v.updateURL}},
		Header:  header, Notes: notes,
	}
	if v.dll != "" {
		spec.DLL = initSlashRel(cfgDir, v.dll)
	}
	data, err := config.RenderInit(spec)
	if err != nil {
		return exitcode.New(exitcode.Unexpected, err)
	}
	ld, err := initWriteChecked(target, data, profile)
	if err != nil {
		return err
	}

	if _, err := os.Stat(ld.Profile.Exe); err != nil {
		a.logf("Note: %s does not exist yet; build it before deploying.", ld.Profile.Exe)
	}
	if u, _ := url.Parse(base); u != nil && u.Scheme == "http" && !initIsLoopback(u.Hostname()) {
		a.logf("Note: %s is plain http; credentials would cross the network unencrypted. Prefer https, or set allow_insecure_http: true knowingly.", base)
	}
	a.logf("Next: store the password with 'wcdeploy login' (or set WCDEPLOY_PASSWORD in CI), then run 'wcdeploy deploy'.")
	if a.jsonOut {
		enc := json.NewEncoder(a.out())
		enc.SetIndent("", "  ")
		return enc.Encode(map[string]any{"file": target, "profile": ld.Profile.Name, "exe": ld.Profile.Exe, "servers": ld.Profile.Servers})
	}
	fmt.Fprintf(a.out(), "Wrote %s (profile %q, server %s at %s)\n", target, ld.Profile.Name, v.name, base)
	return nil
}

// initValues are the values being gathered; paths are absolute.
type initValues struct {
	exe, dll, url, flavor, user, name string
	uploadURL, updateURL              string
}

func initValuesFromScript(bs *config.BuildScript, prg string) (initValues, []string, error) {
	var v initValues
	var notes []string
	v.exe = bs.ExePath(prg)
	v.user = bs.Username
	if bs.UploadURL != "" {
		base, flavor, up, upd, err := bs.Server()
		if err != nil {
			return v, nil, err
		}
		v.url, v.flavor, v.uploadURL, v.updateURL = base, flavor, up, upd
	}
	if bs.ISAPIUploadURL != "" && v.flavor != config.FlavorISAPI {
		notes = append(notes,
			"The build script also names an ISAPI upload link ("+bs.ISAPIUploadURL+").",
			"For wc.dll set flavor: isapi: the links become wc.wc?wwMaint~FileUpload and wc.wc?_maintain~UpdateExe.")
	}
	if len(bs.Computed) > 0 && (v.exe == "" || v.url == "") {
		notes = append(notes, "Computed in the build script, not imported: "+strings.Join(bs.Computed, ", ")+".")
	}
	return v, notes, nil
}

// initAsk asks on stderr for what is missing; answers come from stdin.
func initAsk(a *app, v *initValues, cwd string) error {
	in := bufio.NewReader(a.io.In)
	ask := func(q, def string, required bool) (string, error) {
		for {
			if def != "" {
				fmt.Fprintf(a.io.Err, "%s [%s]: ", q, def)
			} else {
				fmt.Fprintf(a.io.Err, "%s: ", q)
			}
			line, err := in.ReadString('\n')
			ans := strings.TrimSpace(line)
			if ans == "" {
				ans = def
			}
			if ans != "" || !required {
				return ans, nil
			}
			if err != nil {
				if errors.Is(err, io.EOF) {
					return "", exitcode.Errorf(exitcode.Usage, "no answer for %q; pass it as a flag instead", q)
				}
				return "", exitcode.Errorf(exitcode.Usage, "cannot read the answer: %w", err)
			}
			fmt.Fprintln(a.io.Err, "  (required)")
		}
	}
	exeDef := ""
	if v.exe != "" {
		exeDef = initSlashRel(cwd, v.exe)
	}
	exe, err := ask("Server EXE to deploy (e.g. build/App.exe)", exeDef, true)
	if err != nil {
		return err
	}
	v.exe = initAbsPath(cwd, exe)
	for {
		u, err := ask("Application URL on the server (e.g. https://web1.example.com/App/)", v.url, true)
		if err != nil {
			return err
		}
		if _, nerr := config.NormalizeBaseURL(u); nerr != nil {
			fmt.Fprintf(a.io.Err, "  the URL %s\n", nerr)
			v.url = ""
			continue
		}
		v.url = u
		break
	}
	def := v.flavor
	if def == "" {
		def = config.FlavorModule
	}
	for {
		f, err := ask("Server flavor: module, webserver or isapi", def, true)
		if err != nil {
			return err
		}
		f = strings.ToLower(f)
		if f == config.FlavorModule || f == config.FlavorWebServer || f == config.FlavorISAPI {
			v.flavor = f
			break
		}
		fmt.Fprintln(a.io.Err, "  answer module, webserver or isapi")
	}
	if v.user, err = ask("User name for the admin links (DOMAIN\\user for Windows auth; empty for none)", v.user, false); err != nil {
		return err
	}
	return nil
}

// initWriteChecked writes data beside target, loads it with the real loader,
// and only then moves it into place: init never leaves a file that
// wcdeploy itself would refuse.
func initWriteChecked(target string, data []byte, profile string) (*config.Loaded, error) {
	tmp, err := os.CreateTemp(filepath.Dir(target), ".wcdeploy-init-*.yaml")
	if err != nil {
		return nil, exitcode.Errorf(exitcode.Usage, "cannot write in %s: %w", filepath.Dir(target), err)
	}
	name := tmp.Name()
	defer os.Remove(name)
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return nil, exitcode.Errorf(exitcode.Unexpected, "cannot write %s: %w", name, err)
	}
	if err := tmp.Close(); err != nil {
		return nil, exitcode.Errorf(exitcode.Unexpected, "cannot write %s: %w", name, err)
	}
	ld, err := config.Load(config.Options{ConfigPath: name, Profile: profile, Dir: filepath.Dir(target)})
	if err != nil {
		// The values given cannot make a valid file; say which, not where the temp file was.
		msg := strings.ReplaceAll(err.Error(), name, "the new config")
		return nil, exitcode.Errorf(exitcode.Usage, "%s; nothing was written", msg)
	}
	if err := os.Chmod(name, 0o644); err != nil {
		return nil, exitcode.Errorf(exitcode.Unexpected, "cannot set permissions on %s: %w", name, err)
	}
	if err := os.Rename(name, target); err != nil {
		return nil, exitcode.Errorf(exitcode.Unexpected, "cannot write %s: %w", target, err)
	}
	ld.File = target
	return ld, nil
}

func initAbsPath(base, p string) string {
	if p == "" {
		return ""
	}
	if filepath.IsAbs(p) || (len(p) >= 3 && p[1] == ':' && (p[2] == '\\' || p[2] == '/')) {
		return p
	}
	return filepath.Join(base, filepath.FromSlash(strings.ReplaceAll(p, `\`, "/")))
}

// initSlashRel writes p relative to dir with '/', which every OS reads back.
func initSlashRel(dir, p string) string {
	if p == "" {
		return ""
	}
	if rel, err := filepath.Rel(dir, p); err == nil {
		return filepath.ToSlash(rel)
	}
	return filepath.ToSlash(p)
}

func initIsLoopback(h string) bool {
	return h == "localhost" || strings.HasPrefix(h, "127.") || h == "::1"
}
