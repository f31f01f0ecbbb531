// Package config reads wcdeploy.yaml: finding it, choosing a profile,
// merging flags > WCDEPLOY_* environment > file > defaults, validating every
// value, selecting servers and deriving each server's hot-swap URLs. It also
// writes a new file (init) and imports a FoxPro bld_<App>.prg build script.
package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/wcdeploy/wcdeploy/internal/exitcode"
)

// FileName is the config file looked for by walking up from the current folder.
const FileName = "wcdeploy.yaml"

// altFileName is accepted too, since editors and habits differ.
const altFileName = "wcdeploy.yml"

// Flavors of Web Connection server, which decide the hot-swap URLs.
const (
	FlavorModule    = "module"    // IIS .NET module: UploadExe.wc, UpdateExe.wc
	FlavorWebServer = "webserver" // Web Connection Web Server (.NET Core): same links
	FlavorISAPI     = "isapi"     // legacy wc.dll: wc.wc?wwMaint~FileUpload, wc.wc?_maintain~UpdateExe
)

// Auth modes.
const (
	AuthAuto  = "auto"
	AuthBasic = "basic"
	AuthNTLM  = "ntlm"
	// AuthKerberos is Kerberos (Negotiate) only.
	AuthKerberos = "kerberos"
)

// Server is one target. The three URLs are filled by Load.
type Server struct {
	Name      string `json:"name"`
	URL       string `json:"url"` // base URL of the application, always ending in '/'
	Flavor    string `json:"flavor"`
	Group     string `json:"group,omitempty"`
	UploadURL string `json:"upload_url"`
	UpdateURL string `json:"update_url"`
	StatusURL string `json:"status_url"`
	// Vars are the server's own names for the hooks (the balancer's name
	// for it, say), exported to them as WCDEPLOY_VAR_<NAME>.
	Vars map[string]string `json:"vars,omitempty"`
	// SPN is the Kerberos service principal; "" means HTTP/<host of URL>.
	SPN string `json:"spn,omitempty"`
}

// Health is one health check run after a swap.
type Health struct {
	URL      string // absolute, or relative to the server's URL
	Status   int
	Contains string
	Timeout  time.Duration
	Interval time.Duration
	Retries  int
	// Auth sends the deploy credentials with the check; by default it goes
	// out without them, as a user's request would.
	Auth bool
}

// Rollout says how careful a rollout over many servers is.
type Rollout struct {
	Parallel    int
	Canary      int
	MaxFailures int
	Health      []Health
	// UploadParallel bounds concurrent uploads (0: Parallel).
	UploadParallel int
	// DrainDelay is waited after a server's before_swap hook.
	DrainDelay time.Duration
	// SkipSameVersion leaves alone a server that shows the build's version
	// although no deploy from this machine is known to have put this very
	// build there.
	SkipSameVersion bool
	Hooks           Hooks
}

// Timeouts bound every network and keychain call.
type Timeouts struct {
	Connect  time.Duration
	Response time.Duration
	Swap     time.Duration
	Status   time.Duration
	Keychain time.Duration
}

// Profile is everything one deploy needs, after merging and validation.
type Profile struct {
	Name               string
	Exe                string // absolute path
	DLL                string // absolute path or ""
	Username           string
	Auth               string
	Flavor             string
	CAFile             string // absolute path or ""
	InsecureSkipVerify bool
	AllowInsecureHTTP  bool
	KerberosKeytab     string // absolute path or "": the client keytab
	KerberosConfig     string // absolute path or "": krb5.conf
	Timeouts           Timeouts
	Retries            int
	Rollout            Rollout
	ArchiveKeep        int
	Servers            []Server
}

// Options say where to look and what the command line and environment hold.
type Options struct {
	ConfigPath string              // --config; "" means WCDEPLOY_CONFIG, then walk up from Dir
	Profile    string              // --profile; "" means WCDEPLOY_PROFILE, default_profile, or the only one
	Dir        string              // current folder; "" means os.Getwd()
	Getenv     func(string) string // nil means an empty environment
	Flags      *pflag.FlagSet      // flags defined by AddFlags; nil means none
	NeedExe    bool                // the exe must be set and exist
	// NeedServers: at least one server must be selected.
	NeedServers bool
}

// Loaded is the result of Load.
type Loaded struct {
	Profile  Profile
	File     string   // the config file used, "" when none
	Dir      string   // the config file's folder (or the current folder without a file)
	Profiles []string // every profile in the file, sorted (lower-case)
}

// DefaultProfileName is used when no file names a profile.
const DefaultProfileName = "default"

// Find walks up from dir looking for wcdeploy.yaml (or wcdeploy.yml). It
// returns "" and no error when there is none.
func Find(dir string) (string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("cannot resolve folder %q: %w", dir, err)
	}
	for {
		for _, name := range []string{FileName, altFileName} {
			p := filepath.Join(abs, name)
			st, err := os.Stat(p)
			switch {
			case err == nil && st.Mode().IsRegular():
				return p, nil
			case err == nil:
				// A folder named wcdeploy.yaml is not a config; keep walking.
			case errors.Is(err, fs.ErrNotExist) || errors.Is(err, fs.ErrPermission):
				// An unreadable parent folder ends nothing: keep walking up.
			default:
				return "", fmt.Errorf("cannot look for %s in %s: %w", name, abs, err)
			}
		}
		parent := filepath.Dir(abs)
		if parent == abs {
			return "", nil
		}
		abs = parent
	}
}

// usageErr makes a configuration error (exit code 2).
func usageErr(format string, args ...any) error {
	return exitcode.Errorf(exitcode.Usage, format, args...)
}

// Load finds and reads the config file, selects the profile, merges flags,
// environment, file and defaults, validates everything, selects the servers
// asked for and derives their URLs. Every error carries exitcode.Usage and
// names the file, profile and key (or the flag or environment variable).
func Load(o Options) (*Loaded, error) {
	getenv := o.Getenv
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	dir := o.Dir
	if dir == "" {
		wd, err := os.Getwd()
		if err != nil {
			return nil, usageErr("cannot read the current folder: %w", err)
		}
		dir = wd
	}
	dir, err := filepath.Abs(dir)
	if err != nil {
		return nil, usageErr("cannot resolve folder %q: %w", o.Dir, err)
	}

	path, err := locate(o.ConfigPath, getenv, dir)
	if err != nil {
		return nil, err
	}
	o.Getenv = getenv
	return loadFrom(o, dir, path, func() (*fileData, error) { return readFile(path) })
}

// loadFrom is Load once the file is located; read parses it.
func loadFrom(o Options, dir, path string, read func() (*fileData, error)) (*Loaded, error) {
	getenv := o.Getenv
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	ld := &Loaded{File: path, Dir: dir}
	var ff *fileData
	var err error
	if path != "" {
		ld.Dir = filepath.Dir(path)
		ff, err = read()
		if err != nil {
			return nil, err
		}
		for name := range ff.profiles {
			ld.Profiles = append(ld.Profiles, name)
		}
		sort.Strings(ld.Profiles)
	}

	name, err := selectProfile(o.Profile, getenv, ff, path, ld.Profiles)
	if err != nil {
		return nil, err
	}
	m := &merger{
		file: path, profile: name, cfgDir: ld.Dir, cwd: dir,
		getenv: getenv, flags: o.Flags, sources: map[string]string{}, fd: ff,
	}
	var raw map[string]any
	if ff != nil {
		raw = ff.profiles[name]
	}
	p, err := m.build(raw)
	if err != nil {
		return nil, err
	}
	p.Name = name
	if o.NeedExe {
		if err := m.checkExe(&p); err != nil {
			return nil, err
		}
	}
	if o.NeedServers && len(p.Servers) == 0 {
		where := "no config file was found"
		if path != "" {
			where = fmt.Sprintf("%s: profile %q lists no servers", path, name)
		}
		return nil, usageErr("no server to deploy to: %s; pass --url https://host/App/ or add servers to wcdeploy.yaml (see 'wcdeploy init')", where)
	}
	ld.Profile = p
	return ld, nil
}

// locate decides which file to read: --config, WCDEPLOY_CONFIG, or the one
// found by walking up.
func locate(flagPath string, getenv func(string) string, dir string) (string, error) {
	explicit, from := flagPath, "--config"
	if explicit == "" {
		explicit, from = getenv(EnvPrefix+"CONFIG"), EnvPrefix+"CONFIG"
	}
	if explicit == "" {
		p, err := Find(dir)
		if err != nil {
			return "", usageErr("%w", err)
		}
		return p, nil
	}
	if !filepath.IsAbs(explicit) {
		explicit = filepath.Join(dir, explicit)
	}
	st, err := os.Stat(explicit)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return "", usageErr("config file %s (from %s) does not exist; check the path, or run 'wcdeploy init' to create one", explicit, from)
		}
		return "", usageErr("cannot read config file %s (from %s): %w", explicit, from, err)
	}
	if st.IsDir() {
		return "", usageErr("config file %s (from %s) is a folder; name the file, e.g. %s", explicit, from, filepath.Join(explicit, FileName))
	}
	return explicit, nil
}

// selectProfile picks the profile: --profile, WCDEPLOY_PROFILE,
// default_profile, the only one. Names are case-insensitive.
func selectProfile(flagName string, getenv func(string) string, ff *fileData, path string, names []string) (string, error) {
	name, from := flagName, "--profile"
	if name == "" {
		name, from = getenv(EnvPrefix+"PROFILE"), EnvPrefix+"PROFILE"
	}
	name = strings.ToLower(strings.TrimSpace(name))
	if ff == nil {
		if name != "" && name != DefaultProfileName {
			return "", usageErr("profile %q (from %s) needs a config file, and none was found; run 'wcdeploy init' or pass --config", name, from)
		}
		return DefaultProfileName, nil
	}
	if name == "" && ff.defaultProfile != "" {
		name, from = strings.ToLower(ff.defaultProfile), "default_profile"
	}
	if name == "" {
		switch len(names) {
		case 0:
			return DefaultProfileName, nil
		case 1:
			return names[0], nil
		default:
			return "", usageErr("%s has %d profiles (%s) and no default_profile; pass --profile NAME or set default_profile", path, len(names), strings.Join(names, ", "))
		}
	}
	if _, ok := ff.profiles[name]; !ok {
		if len(names) == 0 && name == DefaultProfileName {
			return name, nil
		}
		avail := "none"
		if len(names) > 0 {
			avail = strings.Join(names, ", ")
		}
		return "", usageErr("%s: profile %q (from %s) does not exist; profiles in the file: %s", path, name, from, avail)
	}
	return name, nil
}
