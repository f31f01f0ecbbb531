package config

import (
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/go-viper/mapstructure/v2"
	"github.com/spf13/pflag"
)

// merger builds one Profile from its layers and remembers where each value
// came from, so that errors can name the file and key, the variable or the
// flag.
type merger struct {
	file, profile string
	cfgDir, cwd   string
	getenv        func(string) string
	flags         *pflag.FlagSet
	sources       map[string]string // key -> where its value came from
	fd            *fileData         // the file, for line numbers; nil without one
}

// layer says which layer a value came from.
type layer int

const (
	fromDefault layer = iota
	fromFile
	fromEnv
	fromFlag
)

func (m *merger) fileKey(key string) string { return m.fileKeyOn(key, key) }

// fileKeyOn names key with the line lineKey is written on, when known.
func (m *merger) fileKeyOn(key, lineKey string) string {
	if l := m.fd.line(m.profile, lineKey); l > 0 {
		return fmt.Sprintf("%s:%d: profile %q: %s", m.file, l, m.profile, key)
	}
	return fmt.Sprintf("%s: profile %q: %s", m.file, m.profile, key)
}

// strictKey names the item key for a decodeStrict error: on the unknown
// key's line when that is what went wrong.
func (m *merger) strictKey(key string, err error) string {
	var uk *unknownKeyError
	if errors.As(err, &uk) {
		return m.fileKeyOn(key, key+"."+uk.key)
	}
	return m.fileKey(key)
}

// flagValue returns the flag's text when it was set on the command line.
func (m *merger) flagValue(name string) (string, bool) {
	if m.flags == nil {
		return "", false
	}
	f := m.flags.Lookup(name)
	if f == nil || !f.Changed {
		return "", false
	}
	return f.Value.String(), true
}

// flagList returns a repeatable flag's values when set.
func (m *merger) flagList(name string) ([]string, bool) {
	if m.flags == nil {
		return nil, false
	}
	f := m.flags.Lookup(name)
	if f == nil || !f.Changed {
		return nil, false
	}
	vals, err := m.flags.GetStringSlice(name)
	if err != nil {
		return []string{f.Value.String()}, true
	}
	return vals, true
}

// pick returns the highest layer's raw value for a key: flag, env, file.
// Empty environment variables count as unset (CI systems define them empty).
func (m *merger) pick(flag string, file map[string]any, key string) (any, layer, string) {
	if v, ok := m.flagValue(flag); ok {
		return v, fromFlag, "--" + flag
	}
	env := envName(flag)
	if v := m.getenv(env); v != "" {
		return v, fromEnv, "environment variable " + env
	}
	if v, ok := file[key]; ok {
		return v, fromFile, m.fileKey(key)
	}
	return nil, fromDefault, "default"
}

// profileSections are the nested mappings inside a profile.
var profileSections = map[string]bool{"timeouts": true, "rollout": true, "archive": true, "kerberos": true}

// flatten turns the profile mapping into dotted keys and refuses any key that
// is not known. Lists (servers, rollout.health) are returned as they are.
func (m *merger) flatten(raw map[string]any) (map[string]any, error) {
	known := map[string]bool{"servers": true, "rollout.health": true, "rollout.hooks": true}
	for _, b := range bindings {
		known[b.key] = true
	}
	out := map[string]any{}
	var walk func(prefix string, mm map[string]any) error
	walk = func(prefix string, mm map[string]any) error {
		for _, k := range sortedKeys(mm) {
			v := mm[k]
			full := prefix + k
			switch {
			case known[full]:
				out[full] = v
			case prefix == "" && profileSections[k]:
				if v == nil {
					continue
				}
				sub, ok := v.(map[string]any)
				if !ok {
					return usageErr("%s: must be a mapping (for example %s: {...}), not %s", m.fileKey(full), k, describe(v))
				}
				if err := walk(full+".", sub); err != nil {
					return err
				}
			default:
				here := knownAt(prefix, known)
				hint := didYouMean(k, here)
				if prefix == "" {
					hint = profileKeyHint(k, here)
				}
				return usageErr("%s: unknown key %q%s; known keys here: %s (see docs/configuration.md)", m.fileKey(full), full, hint, strings.Join(here, ", "))
			}
		}
		return nil
	}
	if err := walk("", raw); err != nil {
		return nil, err
	}
	return out, nil
}

func knownAt(prefix string, known map[string]bool) []string {
	set := map[string]bool{}
	for k := range known {
		if !strings.HasPrefix(k, prefix) {
			continue
		}
		rest := strings.TrimPrefix(k, prefix)
		if i := strings.IndexByte(rest, '.'); i >= 0 {
			rest = rest[:i]
		}
		set[rest] = true
	}
	out := make([]string, 0, len(set))
	for k := range set {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// build merges the layers into a validated Profile with its servers.
func (m *merger) build(raw map[string]any) (Profile, error) {
	p := Defaults()
	file, err := m.flatten(raw)
	if err != nil {
		return p, err
	}
	for _, b := range bindings {
		v, lay, src := m.pick(b.flag, file, b.key)
		if lay == fromDefault {
			continue
		}
		m.sources[b.key] = src
		if err := setField(b.field(&p), b.kind, v); err != nil {
			return p, usageErr("%s: %s", src, err)
		}
		if b.parse != nil {
			ptr := b.field(&p).(*string)
			if *ptr, err = b.parse(*ptr); err != nil {
				return p, usageErr("%s: %s", src, err)
			}
		}
		if b.kind == kPath {
			ptr := b.field(&p).(*string)
			base := m.cwd
			if lay == fromFile {
				base = m.cfgDir
			}
			*ptr = LocalPath(base, *ptr)
		}
	}
	for _, b := range bindings {
		if b.check == nil {
			continue
		}
		if msg := b.check(reflectValue(b.field(&p))); msg != "" {
			src := m.sources[b.key]
			if src == "" {
				src = "default for " + b.key
			}
			return p, usageErr("%s: %s", src, msg)
		}
	}
	if p.CAFile != "" {
		if err := m.checkFile(p.CAFile, "ca_file", "a PEM file of CA certificates", "fix ca_file or --ca-file"); err != nil {
			return p, err
		}
	}
	if p.Rollout.Health, err = m.health(file["rollout.health"]); err != nil {
		return p, err
	}
	if p.Rollout.Hooks, err = m.hooks(file["rollout.hooks"]); err != nil {
		return p, err
	}
	if p.Servers, err = m.servers(file["servers"], p.Flavor); err != nil {
		return p, err
	}
	return p, nil
}

func reflectValue(ptr any) any {
	switch v := ptr.(type) {
	case *string:
		return *v
	case *int:
		return *v
	case *bool:
		return *v
	case *time.Duration:
		return *v
	}
	return nil
}

// setField parses raw (a YAML value or the text of a flag or variable) into ptr.
func setField(ptr any, k kind, raw any) error {
	switch k {
	case kString, kPath:
		s, ok := raw.(string)
		if !ok {
			if raw == nil {
				s = ""
			} else {
				return fmt.Errorf("must be text, not %s; put it in quotes", describe(raw))
			}
		}
		*ptr.(*string) = strings.TrimSpace(s)
	case kInt:
		n, err := toInt(raw)
		if err != nil {
			return err
		}
		*ptr.(*int) = n
	case kBool:
		switch v := raw.(type) {
		case bool:
			*ptr.(*bool) = v
		case string:
			b, err := strconv.ParseBool(strings.TrimSpace(v))
			if err != nil {
				return fmt.Errorf("must be true or false, not %s", quote(v))
			}
			*ptr.(*bool) = b
		default:
			return fmt.Errorf("must be true or false, not %s", describe(raw))
		}
	case kDuration:
		d, err := toDuration(raw)
		if err != nil {
			return err
		}
		*ptr.(*time.Duration) = d
	}
	return nil
}

func toInt(raw any) (int, error) {
	switch v := raw.(type) {
	case int:
		return v, nil
	case int64:
		if v > math.MaxInt32 || v < math.MinInt32 {
			return 0, fmt.Errorf("%d is out of range", v)
		}
		return int(v), nil
	case uint64:
		if v > math.MaxInt32 {
			return 0, fmt.Errorf("%d is out of range", v)
		}
		return int(v), nil
	case float64:
		if v != math.Trunc(v) || v > math.MaxInt32 || v < math.MinInt32 {
			return 0, fmt.Errorf("must be a whole number, not %v", v)
		}
		return int(v), nil
	case string:
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil || n > math.MaxInt32 || n < math.MinInt32 {
			return 0, fmt.Errorf("must be a whole number, not %s", quote(v))
		}
		return n, nil
	}
	return 0, fmt.Errorf("must be a whole number, not %s", describe(raw))
}

func toDuration(raw any) (time.Duration, error) {
	switch v := raw.(type) {
	case string:
		d, err := time.ParseDuration(strings.TrimSpace(v))
		if err != nil {
			return 0, fmt.Errorf("must be a duration such as 30s, 2m or 1m30s, not %s", quote(v))
		}
		return d, nil
	case int, int64, uint64, float64:
		// A bare number is ambiguous (seconds? nanoseconds?): ask for a unit.
		return 0, fmt.Errorf("must be a duration with a unit such as 30s or 2m, not the bare number %v", v)
	}
	return 0, fmt.Errorf("must be a duration such as 30s, not %s", describe(raw))
}

// LocalPath is a path from a flag or a file as this OS opens it: '\' and '/'
// both separate folders (deploy\bld_App.prg works on Linux too), and a
// relative path is joined to base (left relative when base is ""). Drive and
// UNC paths are kept as written.
func LocalPath(base, p string) string {
	if p == "" {
		return ""
	}
	if isWindowsAbs(p) {
		return p
	}
	p = filepath.FromSlash(strings.ReplaceAll(p, `\`, "/"))
	if !filepath.IsAbs(p) {
		p = filepath.Join(base, p)
	}
	return filepath.Clean(p)
}

// isWindowsAbs reports a drive or UNC path, which is absolute even when read
// on Linux or macOS.
func isWindowsAbs(p string) bool {
	if len(p) >= 3 && p[1] == ':' && (p[2] == '\\' || p[2] == '/') &&
		((p[0] >= 'a' && p[0] <= 'z') || (p[0] >= 'A' && p[0] <= 'Z')) {
		return true
	}
	return strings.HasPrefix(p, `\\`)
}

// what names the file ("the server EXE") and advice says what to do when
// it is missing.
func (m *merger) checkFile(path, key, what, advice string) error {
	src := m.sources[key]
	st, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return usageErr("%s: %s does not exist (%s); %s", src, path, what, advice)
	case err != nil:
		return usageErr("%s: cannot read %s (%s): %w", src, path, what, errors.Unwrap(err))
	case !st.Mode().IsRegular():
		return usageErr("%s: %s is not a file, but %s must be one", src, path, what)
	}
	return nil
}

// checkExe makes sure the build to deploy is named and exists.
func (m *merger) checkExe(p *Profile) error {
	if p.Exe == "" {
		where := "no config file was found"
		if m.file != "" {
			where = fmt.Sprintf("profile %q in %s has no exe", m.profile, m.file)
		}
		return usageErr("no EXE to deploy: %s; pass --exe build/App.exe, set %s, or add exe: to the profile", where, envName("exe"))
	}
	if err := m.checkFile(p.Exe, "exe", "the server EXE", "build it first, or fix the path"); err != nil {
		return err
	}
	if p.DLL != "" {
		return m.checkFile(p.DLL, "dll", "the companion DLL", "build it, or fix the path")
	}
	return nil
}

type fileHealth struct {
	URL      string `mapstructure:"url"`
	Status   *int   `mapstructure:"status"`
	Contains string `mapstructure:"contains"`
	Timeout  string `mapstructure:"timeout"`
	Interval string `mapstructure:"interval"`
	Retries  *int   `mapstructure:"retries"`
	Auth     bool   `mapstructure:"auth"`
}

// health builds the health checks: --health-url / WCDEPLOY_HEALTH_URL
// replace the file's list.
func (m *merger) health(raw any) ([]Health, error) {
	urls, ok := m.flagList(flagHealthURL)
	src := "--" + flagHealthURL
	if !ok {
		if env := m.getenv(envName(flagHealthURL)); env != "" {
			urls, ok, src = splitList(env), true, "environment variable "+envName(flagHealthURL)
		}
	}
	if ok {
		var out []Health
		for _, u := range urls {
			u = strings.TrimSpace(u)
			if u == "" {
				continue
			}
			if err := checkHealthURL(u); err != nil {
				return nil, usageErr("%s: %s", src, err)
			}
			out = append(out, DefaultHealth(u))
		}
		return out, nil
	}
	if raw == nil {
		return nil, nil
	}
	list, isList := raw.([]any)
	if !isList {
		return nil, usageErr("%s: must be a list of checks (- url: default.wc), not %s", m.fileKey("rollout.health"), describe(raw))
	}
	var out []Health
	for i, item := range list {
		key := fmt.Sprintf("rollout.health[%d]", i)
		var fh fileHealth
		if err := decodeStrict(item, &fh); err != nil {
			return nil, usageErr("%s: %s; keys: url, status, contains, timeout, interval, retries, auth", m.strictKey(key, err), err)
		}
		h := DefaultHealth(strings.TrimSpace(fh.URL))
		h.Contains = fh.Contains
		h.Auth = fh.Auth
		if h.URL == "" {
			return nil, usageErr("%s: is required (absolute, or relative to the server URL, e.g. default.wc)", m.fileKeyOn(key+".url", key))
		}
		if err := checkHealthURL(h.URL); err != nil {
			return nil, usageErr("%s: %s", m.fileKey(key+".url"), err)
		}
		if fh.Status != nil {
			if *fh.Status < 100 || *fh.Status > 599 {
				return nil, usageErr("%s: must be an HTTP status between 100 and 599, got %d", m.fileKey(key+".status"), *fh.Status)
			}
			h.Status = *fh.Status
		}
		if fh.Retries != nil {
			if *fh.Retries < 0 {
				return nil, usageErr("%s: must not be negative, got %d", m.fileKey(key+".retries"), *fh.Retries)
			}
			h.Retries = *fh.Retries
		}
		for _, d := range []struct {
			name     string
			text     string
			into     *time.Duration
			positive bool
		}{{"timeout", fh.Timeout, &h.Timeout, true}, {"interval", fh.Interval, &h.Interval, false}} {
			if d.text == "" {
				continue
			}
			v, err := toDuration(d.text)
			if err != nil {
				return nil, usageErr("%s: %s", m.fileKey(key+"."+d.name), err)
			}
			if v < 0 || (d.positive && v == 0) {
				return nil, usageErr("%s: must be a positive duration, got %s", m.fileKey(key+"."+d.name), v)
			}
			*d.into = v
		}
		out = append(out, h)
	}
	return out, nil
}

// decodeStrict decodes a YAML mapping into a struct, refusing unknown keys
// and values of the wrong type.
func decodeStrict(in, out any) error {
	if _, ok := in.(map[string]any); !ok {
		return fmt.Errorf("must be a mapping, not %s", describe(in))
	}
	// Metadata rather than ErrorUnused: the same strictness, with an error
	// that names the key plainly.
	var md mapstructure.Metadata
	dec, err := mapstructure.NewDecoder(&mapstructure.DecoderConfig{
		Result:   out,
		Metadata: &md,
		TagName:  "mapstructure",
	})
	if err != nil {
		return err
	}
	if err := dec.Decode(in); err != nil {
		return unwrapDecode(err)
	}
	if len(md.Unused) > 0 {
		sort.Strings(md.Unused)
		return &unknownKeyError{md.Unused[0], mapKeys(out)}
	}
	return nil
}

// unknownKeyError is a key decodeStrict does not know.
type unknownKeyError struct {
	key   string
	known []string // the keys there are, for a suggestion
}

func (e *unknownKeyError) Error() string {
	return fmt.Sprintf("unknown key %q%s", e.key, didYouMean(e.key, e.known))
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func quote(s string) string { return strconv.Quote(s) }
func itoa(n int) string     { return strconv.Itoa(n) }
