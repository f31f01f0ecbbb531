package journal

import (
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"runtime"
	"slices"
	"strings"

	"github.com/wcdeploy/wcdeploy/internal/rollout"
)

// flagsProject starts the project key of a run without a config file.
const flagsProject = "servers: "

// ProjectKey names the project a run belongs to: the absolute path of the
// config file (symbolic links resolved when possible), or for a run given
// by flags alone the sorted server URLs (without user information).
func ProjectKey(configFile string, urls []string) (string, error) {
	if configFile != "" {
		abs, err := filepath.Abs(configFile)
		if err != nil {
			return "", fmt.Errorf("cannot resolve the config file %s for the run journal: %w", configFile, err)
		}
		if real, err := filepath.EvalSymlinks(abs); err == nil {
			abs = real
		}
		return filepath.Clean(abs), nil
	}
	keys := make([]string, 0, len(urls))
	for _, u := range urls {
		keys = append(keys, serverKey(u, ""))
	}
	slices.Sort(keys)
	return flagsProject + strings.Join(slices.Compact(keys), " "), nil
}

// serverKey names a server across runs: its URL without user information,
// query or fragment, with the scheme and host in lower case and one
// trailing slash; a line without a URL falls back to the server's name.
func serverKey(raw, name string) string {
	if raw == "" {
		return "name:" + strings.ToLower(name)
	}
	u, err := url.Parse(rollout.RedactURL(raw))
	if err != nil || u.Host == "" {
		return strings.ToLower(strings.TrimRight(raw, "/")) + "/"
	}
	u.User, u.RawQuery, u.Fragment, u.RawPath = nil, "", "", ""
	u.Scheme, u.Host = strings.ToLower(u.Scheme), strings.ToLower(u.Host)
	u.Path = strings.TrimRight(u.Path, "/") + "/"
	return u.String()
}

// sameProject compares project keys; paths are case-insensitive on Windows.
func sameProject(a, b string) bool {
	if runtime.GOOS == "windows" && !strings.HasPrefix(a, flagsProject) {
		return strings.EqualFold(a, b)
	}
	return a == b
}

// Scope is the project and profile a command works on. History, rollback,
// resume and swap see only the runs of their scope.
type Scope struct {
	Project string // ProjectKey
	Profile string
	// URLs are the profile's server URLs now. A line written before
	// projects were recorded belongs to this scope when its profile matches
	// and every one of its servers has one of these URLs.
	URLs []string
}

// NewScope is the scope of a profile: configFile is the config file used
// ("" for a flags-only run), urls the profile's server URLs.
func NewScope(configFile, profile string, urls []string) (Scope, error) {
	p, err := ProjectKey(configFile, urls)
	return Scope{Project: p, Profile: strings.ToLower(profile), URLs: urls}, err
}

// Holds reports whether a run belongs to the scope.
func (s Scope) Holds(e *Entry) bool {
	if !strings.EqualFold(e.Profile, s.Profile) {
		return false
	}
	if e.Project != "" {
		return sameProject(e.Project, s.Project)
	}
	if len(e.Servers) == 0 || len(s.URLs) == 0 {
		return false
	}
	known := map[string]bool{}
	for _, u := range s.URLs {
		known[serverKey(u, "")] = true
	}
	for _, sv := range e.Servers {
		if sv.URL == "" || !known[serverKey(sv.URL, "")] {
			return false
		}
	}
	return true
}

// String names the scope for messages.
func (s Scope) String() string {
	return fmt.Sprintf("profile %q of %s", s.Profile, projectLabel(s.Project))
}

func projectLabel(p string) string {
	if p == "" {
		return "an unknown project"
	}
	if strings.HasPrefix(p, flagsProject) {
		return "the flags-only project of " + strings.TrimPrefix(p, flagsProject)
	}
	return p
}

// ProjectLabel is the run's project for history --all: the config file,
// the servers of a flags-only run, or "?" for lines written before
// projects were recorded.
func (e *Entry) ProjectLabel() string {
	if e.Project == "" {
		return "?"
	}
	return e.Project
}

// RunKind is what the run did. Lines written before kinds were recorded
// are resumes when they name a run, stage runs when their servers say
// --stage-only, else deploys (rollbacks were not told apart then).
func (e *Entry) RunKind() Kind {
	if e.Kind != "" {
		return e.Kind
	}
	if e.Resumes != "" {
		return KindResume
	}
	for _, s := range e.Servers {
		if strings.Contains(s.Skipped, "--stage-only") {
			return KindStage
		}
	}
	return KindDeploy
}

// KindLabel describes the run's kind and links for history.
func (e *Entry) KindLabel() string {
	k := e.RunKind()
	switch {
	case k == KindRollback && e.RollbackFrom != nil:
		return fmt.Sprintf("rollback from %s", e.RollbackFrom.Version)
	case k == KindResume && e.Resumes != "":
		return "resume of " + e.Resumes
	case k == KindSwap && e.StageRun != "":
		return "swap of " + e.StageRun
	}
	return string(k)
}

// History returns the runs of a scope, newest first.
func (j *Journal) History(s Scope) ([]Entry, error) {
	all, err := j.All()
	if err != nil {
		return nil, err
	}
	var out []Entry
	for k := range all {
		if s.Holds(&all[k]) {
			out = append(out, all[k])
		}
	}
	return out, nil
}

// FindIn is Find within a scope: a run id of another project or profile is
// refused with a message naming where it belongs.
func (j *Journal) FindIn(s Scope, idOrVersion string) (Entry, error) {
	all, err := j.All()
	if err != nil {
		return Entry{}, err
	}
	q := strings.TrimSpace(idOrVersion)
	if e, ok, err := findID(all, q); err != nil || ok {
		if err == nil && !s.Holds(&e) {
			err = j.otherScope(s, &e)
		}
		return e, err
	}
	for k := range all {
		if s.Holds(&all[k]) && all[k].Exe.Version == q && !all[k].DryRun {
			return all[k], nil
		}
	}
	return Entry{}, fmt.Errorf("no run of %s with id or version %q: %w %s; 'wcdeploy history' lists the runs", s, q, ErrNotFound, j.Path())
}

// ErrOtherScope is returned (wrapped) for a run of another project or profile.
var ErrOtherScope = errors.New("the run belongs to another project or profile")

func (j *Journal) otherScope(s Scope, e *Entry) error {
	where := "--profile " + e.Profile
	if e.Project != "" && !strings.HasPrefix(e.Project, flagsProject) {
		where = fmt.Sprintf("--config %s --profile %s", e.Project, e.Profile)
	}
	return fmt.Errorf("run %s is a run of profile %q of %s, not of %s (%w): run the command there (%s); 'wcdeploy history --all' lists every run",
		e.ID, e.Profile, projectLabel(e.Project), s, ErrOtherScope, where)
}

// findID looks a run up by id or unique id prefix.
func findID(all []Entry, q string) (Entry, bool, error) {
	if q == "" {
		return Entry{}, false, errors.New("which run? give a run id or a version ('wcdeploy history' lists them)")
	}
	var byPrefix []Entry
	for _, e := range all {
		if e.ID == q {
			return e, true, nil
		}
		if strings.HasPrefix(e.ID, q) {
			byPrefix = append(byPrefix, e)
		}
	}
	switch len(byPrefix) {
	case 0:
		return Entry{}, false, nil
	case 1:
		return byPrefix[0], true, nil
	}
	return Entry{}, false, fmt.Errorf("%q matches %d runs; give more of the run id ('wcdeploy history' lists them)", q, len(byPrefix))
}

// Key is the scope's canonical name, for its lock (internal/lock.Path):
// the same for every spelling of the same project and profile.
func (s Scope) Key() string {
	p := s.Project
	if runtime.GOOS == "windows" && !strings.HasPrefix(p, flagsProject) {
		p = strings.ToLower(p)
	}
	return p + "\x00" + strings.ToLower(s.Profile)
}
