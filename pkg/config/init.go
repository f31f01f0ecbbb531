package config

import (
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/wcdeploy/wcdeploy/internal/exitcode"
)

// InitValues are the values 'wcdeploy init' gathers for its one server;
// paths are absolute.
type InitValues struct {
	Exe, DLL, URL, Flavor, User, Name string
	UploadURL, UpdateURL              string
}

// InitRequest is what 'wcdeploy init' was given.
type InitRequest struct {
	Dir     string // the current folder: relative paths start here
	File    string // the file to write (default wcdeploy.yaml in Dir)
	Profile string // default "prod"
	Force   bool   // replace an existing file
	FromPrg string // a bld_<App>.prg to import
	// Flags are the values given as flags; they win over the build script.
	Flags InitValues
	// Changed says whether a flag (exe, dll, url, flavor, user, name) was given.
	Changed func(flag string) bool
	// Ask asks for what is still missing; nil when there is no terminal.
	Ask func(v *InitValues) error
}

// InitResult is the file init wrote.
type InitResult struct {
	File   string
	Loaded *Loaded
	Server string // the server's name
	URL    string // its base URL
	// Notes are what the user should know about the values (an EXE not
	// built yet, plain http).
	Notes []string
}

// Init writes a new config file from the build script, the flags and the
// answers, and checks it with the real loader before it is moved into
// place: init never leaves a file that wcdeploy itself would refuse.
func Init(r InitRequest) (*InitResult, error) {
	target, err := initTarget(r)
	if err != nil {
		return nil, err
	}
	cfgDir := filepath.Dir(target)
	v, header, notes, err := initFromScript(r, cfgDir)
	if err != nil {
		return nil, err
	}
	r.mergeFlags(&v)
	if v.Exe == "" || v.URL == "" {
		if r.Ask == nil {
			var miss []string
			if v.Exe == "" {
				miss = append(miss, "--exe")
			}
			if v.URL == "" {
				miss = append(miss, "--url")
			}
			return nil, exitcode.Errorf(exitcode.Usage, "init needs %s (or --from-prg with a build script); there is no terminal to ask on", strings.Join(miss, " and "))
		}
		if err := r.Ask(&v); err != nil {
			return nil, err
		}
	}
	if v.Flavor == "" {
		v.Flavor = FlavorModule
	}
	base, err := NormalizeBaseURL(v.URL)
	if err != nil {
		return nil, exitcode.Errorf(exitcode.Usage, "--url: the URL %w", err)
	}
	if v.Name == "" {
		u, _ := url.Parse(base)
		v.Name = u.Host
	}
	profile := r.Profile
	if profile == "" {
		profile = "prod"
	}
	spec := InitSpec{
		Profile: profile, Exe: SlashRel(cfgDir, v.Exe), DLL: SlashRel(cfgDir, v.DLL), Username: v.User, Flavor: v.Flavor,
		Servers: []InitServer{{Name: v.Name, URL: base, UploadURL: v.UploadURL, UpdateURL: v.UpdateURL}},
		Header:  header, Notes: notes,
	}
	data, err := RenderInit(spec)
	if err != nil {
		return nil, exitcode.New(exitcode.Unexpected, err)
	}
	ld, err := writeChecked(target, data, profile)
	if err != nil {
		return nil, err
	}
	return &InitResult{File: target, Loaded: ld, Server: v.Name, URL: base, Notes: initNotes(ld, base)}, nil
}

// initTarget is the absolute path to write; an existing file is kept
// unless Force.
func initTarget(r InitRequest) (string, error) {
	target := r.File
	if target == "" {
		target = FileName
	}
	if !filepath.IsAbs(target) {
		target = filepath.Join(r.Dir, target)
	}
	st, err := os.Stat(target)
	switch {
	case err == nil && st.IsDir():
		return "", exitcode.Errorf(exitcode.Usage, "%s is a folder; pass --config with a file name", target)
	case err == nil && !r.Force:
		return "", exitcode.Errorf(exitcode.Usage, "%s already exists; edit it, or pass --force to replace it", target)
	case err != nil && !errors.Is(err, fs.ErrNotExist):
		return "", exitcode.Errorf(exitcode.Usage, "cannot check %s: %w", target, err)
	}
	return target, nil
}

// initFromScript starts from the build script, when one is given.
func initFromScript(r InitRequest, cfgDir string) (v InitValues, header, notes []string, err error) {
	if r.FromPrg == "" {
		return v, nil, nil, nil
	}
	prg := r.FromPrg
	if !filepath.IsAbs(prg) {
		prg = filepath.Join(r.Dir, prg)
	}
	bs, err := ReadBuildScript(prg)
	if err != nil {
		return v, nil, nil, exitcode.New(exitcode.Usage, fmt.Errorf("--from-prg: %w", err))
	}
	v, notes, err = initValuesFromScript(bs, prg)
	if err != nil {
		return v, nil, nil, exitcode.Errorf(exitcode.Usage, "--from-prg %s: %w; pass --url (and --exe) to fill what the script does not say", r.FromPrg, err)
	}
	return v, []string{"Imported from " + SlashRel(cfgDir, prg) + "."}, notes, nil
}

// mergeFlags lets the flags given win over the build script.
func (r InitRequest) mergeFlags(v *InitValues) {
	changed := r.Changed
	if changed == nil {
		changed = func(string) bool { return false }
	}
	f := r.Flags
	if changed("exe") {
		v.Exe = AbsPath(r.Dir, f.Exe)
	}
	if changed("dll") {
		v.DLL = AbsPath(r.Dir, f.DLL)
	}
	if changed("url") {
		v.URL, v.UploadURL, v.UpdateURL = f.URL, "", ""
	}
	if changed("flavor") {
		v.Flavor = f.Flavor
	}
	if changed("user") {
		v.User = f.User
	}
	if changed("name") {
		v.Name = f.Name
	}
}

func initValuesFromScript(bs *BuildScript, prg string) (InitValues, []string, error) {
	var v InitValues
	var notes []string
	v.Exe = bs.ExePath(prg)
	v.User = bs.Username
	if bs.UploadURL != "" {
		base, flavor, up, upd, err := bs.Server()
		if err != nil {
			return v, nil, err
		}
		v.URL, v.Flavor, v.UploadURL, v.UpdateURL = base, flavor, up, upd
	}
	if bs.ISAPIUploadURL != "" && v.Flavor != FlavorISAPI {
		notes = append(notes,
			"The build script also names an ISAPI upload link ("+bs.ISAPIUploadURL+").",
			"For wc.dll set flavor: isapi: the links become wc.wc?wwMaint~FileUpload and wc.wc?_maintain~UpdateExe.")
	}
	if len(bs.Computed) > 0 && (v.Exe == "" || v.URL == "") {
		notes = append(notes, "Computed in the build script, not imported: "+strings.Join(bs.Computed, ", ")+".")
	}
	return v, notes, nil
}

func initNotes(ld *Loaded, base string) []string {
	var notes []string
	if _, err := os.Stat(ld.Profile.Exe); err != nil {
		notes = append(notes, fmt.Sprintf("Note: %s does not exist yet; build it before deploying.", ld.Profile.Exe))
	}
	if u, _ := url.Parse(base); u != nil && u.Scheme == "http" && !isLoopbackHost(u.Hostname()) {
		notes = append(notes, fmt.Sprintf("Note: %s is plain http; credentials would cross the network unencrypted. Prefer https, or set allow_insecure_http: true knowingly.", base))
	}
	return notes
}

// writeChecked writes data beside target, loads it with the real loader,
// and only then moves it into place.
func writeChecked(target string, data []byte, profile string) (*Loaded, error) {
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
	ld, err := Load(Options{ConfigPath: name, Profile: profile, Dir: filepath.Dir(target)})
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

// AbsPath makes p (with / or \) absolute against base; a Windows drive
// path stays as it is.
func AbsPath(base, p string) string {
	if p == "" {
		return ""
	}
	if filepath.IsAbs(p) || (len(p) >= 3 && p[1] == ':' && (p[2] == '\\' || p[2] == '/')) {
		return p
	}
	return filepath.Join(base, filepath.FromSlash(strings.ReplaceAll(p, `\`, "/")))
}

// SlashRel writes p relative to dir with '/', which every OS reads back.
func SlashRel(dir, p string) string {
	if p == "" {
		return ""
	}
	if rel, err := filepath.Rel(dir, p); err == nil {
		return filepath.ToSlash(rel)
	}
	return filepath.ToSlash(p)
}

func isLoopbackHost(h string) bool {
	return h == "localhost" || strings.HasPrefix(h, "127.") || h == "::1"
}
