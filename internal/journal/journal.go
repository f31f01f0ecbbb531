// Package journal keeps the local record of every run (journal.jsonl, one JSON
// line per run, append-only) and the archive of every EXE deployed (content
// addressed by SHA-256), so that a partial rollout can be resumed and a
// profile rolled back to the build it ran before, which the server itself
// cannot do.
//
// Every run records its project (ProjectKey) and profile; the queries a
// command uses (History, Resume, Stage, RollbackTarget, Identities) see
// only the runs of one Scope, so two projects that both have a profile
// "prod" never mix their runs.
package journal

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/wcdeploy/wcdeploy/internal/rollout"
)

// FileName is the journal's file inside the state folder.
const FileName = "journal.jsonl"

// DefaultDir returns the user's state folder for wcdeploy: WCDEPLOY_STATE_DIR
// when set, %LOCALAPPDATA%\wcdeploy on Windows, else $XDG_STATE_HOME/wcdeploy
// or ~/.local/state/wcdeploy.
func DefaultDir(getenv func(string) string, goos string) (string, error) {
	if d := getenv("WCDEPLOY_STATE_DIR"); d != "" {
		return d, nil
	}
	if goos == "windows" {
		if d := getenv("LOCALAPPDATA"); d != "" {
			return filepath.Join(d, "wcdeploy"), nil
		}
		return "", errors.New("cannot find the folder for the run journal: LOCALAPPDATA is not set; set WCDEPLOY_STATE_DIR to a folder wcdeploy may write to")
	}
	// The XDG spec says to ignore relative paths.
	if d := getenv("XDG_STATE_HOME"); d != "" && filepath.IsAbs(d) {
		return filepath.Join(d, "wcdeploy"), nil
	}
	home := getenv("HOME")
	if home == "" {
		h, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("cannot find the folder for the run journal: %w; set WCDEPLOY_STATE_DIR to a folder wcdeploy may write to", err)
		}
		home = h
	}
	return filepath.Join(home, ".local", "state", "wcdeploy"), nil
}

// Journal is the run journal and archive in one state folder.
type Journal struct {
	dir string
}

// Open returns the journal kept in dir. Nothing is touched until it is used.
func Open(dir string) *Journal { return &Journal{dir: dir} }

// Dir is the state folder.
func (j *Journal) Dir() string { return j.dir }

// Path is the journal file.
func (j *Journal) Path() string { return filepath.Join(j.dir, FileName) }

// Exe is the build a run deployed.
type Exe struct {
	Path    string `json:"path"`
	Version string `json:"version"`
	Size    int64  `json:"size"`
	SHA256  string `json:"sha256"`
}

// Server is one server's outcome in a run.
type Server struct {
	Name          string `json:"name"`
	URL           string `json:"url"`
	VersionBefore string `json:"version_before,omitempty"`
	VersionAfter  string `json:"version_after,omitempty"`
	Staged        bool   `json:"staged"`
	Swapped       bool   `json:"swapped"`
	Verified      bool   `json:"verified"`
	UpToDate      bool   `json:"up_to_date,omitempty"`
	// State is the report's claim (updated, current, not_updated,
	// unknown); an unknown server may run the build, so rollback counts
	// the build as having reached it.
	State      string `json:"state,omitempty"`
	Health     string `json:"health,omitempty"`
	Skipped    string `json:"skipped,omitempty"`
	Error      string `json:"error,omitempty"`
	ExitCode   int    `json:"exit_code"`
	DurationMS int64  `json:"duration_ms"`
	// Swap is what the server's swap reply echoed for the build this run
	// deployed, recorded only when the server was verified: with the
	// server's URL it identifies the build later (see Identities).
	Swap *Echo `json:"swap,omitempty"`
	// The server's hooks, when they ran: command, exit code, last lines
	// (the hook runner already masks any secret in them).
	BeforeSwap *rollout.HookResult `json:"before_swap,omitempty"`
	AfterSwap  *rollout.HookResult `json:"after_swap,omitempty"`
}

// Echo is what a swap reply said about the EXE the server runs after it:
// the FileVersion, the size in kb (bytes/1000) and the file date (the
// upload time on that server, in its own format).
type Echo struct {
	Version string `json:"version"`
	SizeKB  int64  `json:"size_kb"`
	Date    string `json:"date"`
}

// Kind says what a run did.
type Kind string

// The kinds of run.
const (
	KindDeploy   Kind = "deploy"   // wcdeploy deploy
	KindRollback Kind = "rollback" // wcdeploy rollback: an older build deployed again
	KindResume   Kind = "resume"   // wcdeploy deploy --resume: finishes the run named in Resumes
	KindStage    Kind = "stage"    // wcdeploy deploy --stage-only: uploaded, nothing swapped
	KindSwap     Kind = "swap"     // wcdeploy swap: swapped what the run named in StageRun uploaded
)

// Link names another run and its build.
type Link struct {
	Run     string `json:"run"`
	Version string `json:"version"`
	SHA256  string `json:"sha256"`
}

// Entry is one run: one line of the journal.
type Entry struct {
	ID   string    `json:"id"`
	Time time.Time `json:"time"`
	User string    `json:"user,omitempty"`
	// Project is the project the run belongs to (ProjectKey): the config
	// file's absolute path, or the servers of a flags-only run. Empty in
	// lines written before projects were recorded.
	Project string `json:"project,omitempty"`
	Profile string `json:"profile"`
	// Kind is what the run did; empty in older lines (see RunKind).
	Kind       Kind   `json:"kind,omitempty"`
	Exe        Exe    `json:"exe"`
	DryRun     bool   `json:"dry_run,omitempty"`
	OK         bool   `json:"ok"`
	ExitCode   int    `json:"exit_code"`
	Halted     bool   `json:"halted,omitempty"`
	HaltReason string `json:"halt_reason,omitempty"`
	// The run-level hooks, when they ran: command, exit code, last lines.
	BeforeRollout *rollout.HookResult `json:"before_rollout,omitempty"`
	AfterRollout  *rollout.HookResult `json:"after_rollout,omitempty"`
	// Resumes is the id of the run this one finished (deploy --resume).
	Resumes string `json:"resumes,omitempty"`
	// StageRun is the stage-only run whose uploads a swap run swapped in.
	StageRun string `json:"stage_run,omitempty"`
	// RollbackFrom is the build a rollback run moved the servers away from.
	RollbackFrom *Link    `json:"rollback_from,omitempty"`
	DurationMS   int64    `json:"duration_ms"`
	Servers      []Server `json:"servers"`
}

// NewID returns a run id that sorts by time and is short enough to type.
func NewID(t time.Time) string {
	var b [3]byte
	_, _ = rand.Read(b[:])
	return t.UTC().Format("20060102T150405Z") + "-" + hex.EncodeToString(b[:])
}

// CurrentUser names the OS user for the journal (never a credential).
func CurrentUser(getenv func(string) string) string {
	if u, err := user.Current(); err == nil && u.Username != "" {
		return u.Username
	}
	for _, k := range []string{"USER", "USERNAME", "LOGNAME"} {
		if v := getenv(k); v != "" {
			return v
		}
	}
	return ""
}

// userinfo matches a password in a URL inside free text.
var userinfo = regexp.MustCompile(`(?i)([a-z][a-z0-9+.-]*://[^/@\s:]*):[^@\s/]*@`)

// scrub removes URL passwords from free text (error messages), in case a
// step quoted a URL that carried one.
func scrub(s string) string { return userinfo.ReplaceAllString(s, "$1@") }

// Meta is what a command knows about its run beyond the report.
type Meta struct {
	ID      string // NewID, made when the run starts (the lock names it)
	Project string // ProjectKey
	Profile string
	User    string // CurrentUser
	// Kind defaults to KindStage for a stage-only report, else KindDeploy.
	Kind         Kind
	Resumes      string // KindResume: the run finished
	StageRun     string // KindSwap: the stage run swapped
	RollbackFrom *Link  // KindRollback: Rollback.From
}

// NewEntry makes the journal line for a finished run of a profile (no
// project: see NewRun).
func NewEntry(id, profile, osUser string, rep *rollout.Report) Entry {
	return NewRun(Meta{ID: id, Profile: profile, User: osUser}, rep)
}

// NewRun makes the journal line for a finished run.
func NewRun(m Meta, rep *rollout.Report) Entry {
	kind := m.Kind
	if kind == "" {
		kind = KindDeploy
		if rep.StageOnly {
			kind = KindStage
		}
	}
	e := Entry{
		ID: m.ID, Time: rep.Started.UTC(), User: m.User, Project: m.Project, Profile: m.Profile, Kind: kind,
		Resumes: m.Resumes, StageRun: m.StageRun, RollbackFrom: m.RollbackFrom,
		Exe:    Exe{Path: rep.Build.Path, Version: rep.Build.Version, Size: rep.Build.Size, SHA256: strings.ToLower(rep.Build.SHA256)},
		DryRun: rep.DryRun, OK: rep.OK, ExitCode: rep.ExitCode, Halted: rep.Halted,
		BeforeRollout: rep.BeforeRollout, AfterRollout: rep.AfterRollout,
		HaltReason: scrub(rep.HaltReason), DurationMS: rep.Duration,
	}
	for _, s := range rep.Servers {
		e.Servers = append(e.Servers, Server{
			Name: s.Name, URL: rollout.RedactURL(s.URL), VersionBefore: s.VersionBefore, VersionAfter: s.VersionAfter,
			Staged: s.Staged, Swapped: s.Swapped, Verified: s.Verified, UpToDate: s.UpToDate, State: s.State,
			Health: s.Health, Skipped: scrub(s.Skipped), Error: scrub(s.Error), ExitCode: s.ExitCode, DurationMS: s.DurationMS,
			BeforeSwap: s.BeforeSwap, AfterSwap: s.AfterSwap,
		})
	}
	return e
}

// Append adds one run to the journal. The line goes out in a single write
// to a file opened with O_APPEND, so runs that finish at the same time never
// interleave their lines.
func (j *Journal) Append(e Entry) error {
	if e.ID == "" {
		return errors.New("journal: a run needs an id")
	}
	line, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("journal: encoding run %s: %w", e.ID, err)
	}
	line = append(line, '\n')
	if err := os.MkdirAll(j.dir, 0o700); err != nil {
		return fmt.Errorf("cannot create the state folder %s for the run journal: %w; set WCDEPLOY_STATE_DIR to a folder wcdeploy may write to", j.dir, err)
	}
	f, err := os.OpenFile(j.Path(), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("cannot open the run journal %s: %w", j.Path(), err)
	}
	if _, err := f.Write(line); err != nil {
		f.Close()
		return fmt.Errorf("cannot write to the run journal %s: %w", j.Path(), err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("cannot write to the run journal %s: %w", j.Path(), err)
	}
	return nil
}

// ParseLine decodes one journal line. Lines that do not hold a run (a torn
// write after a crash, a hand edit) are errors the reader skips.
func ParseLine(b []byte) (Entry, error) {
	var e Entry
	b = bytes.TrimSpace(b)
	if len(b) == 0 {
		return e, errors.New("empty line")
	}
	if err := json.Unmarshal(b, &e); err != nil {
		return Entry{}, err
	}
	if e.ID == "" {
		return Entry{}, errors.New("a run without an id")
	}
	return e, nil
}

// All returns every run, newest first. A missing journal is no error: no
// run has been recorded yet.
func (j *Journal) All() ([]Entry, error) {
	data, err := os.ReadFile(j.Path())
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("cannot read the run journal %s: %w", j.Path(), err)
	}
	var out []Entry
	for line := range bytes.Lines(data) {
		if e, err := ParseLine(line); err == nil {
			out = append(out, e)
		}
	}
	// Appended in finishing order; sort by start, newest first, keeping the
	// file order for equal times.
	slices.Reverse(out)
	slices.SortStableFunc(out, func(a, b Entry) int { return b.Time.Compare(a.Time) })
	return out, nil
}

// Runs returns the runs of one profile ("" for all), newest first, of every
// project.
//
// Deprecated: use History (one project and profile) or All.
func (j *Journal) Runs(profile string) ([]Entry, error) {
	all, err := j.All()
	if err != nil || profile == "" {
		return all, err
	}
	var out []Entry
	for _, e := range all {
		if e.Profile == profile {
			out = append(out, e)
		}
	}
	return out, nil
}

// ErrNotFound is returned (wrapped) when a query finds no run.
var ErrNotFound = errors.New("not found in the run journal")

// Find returns the run with this id (or a unique prefix of one), else the
// newest run of this version.
func (j *Journal) Find(idOrVersion string) (Entry, error) {
	all, err := j.All()
	if err != nil {
		return Entry{}, err
	}
	q := strings.TrimSpace(idOrVersion)
	if e, ok, err := findID(all, q); err != nil || ok {
		return e, err
	}
	for _, e := range all {
		if e.Exe.Version == q {
			return e, nil
		}
	}
	return Entry{}, fmt.Errorf("no run with id or version %q: %w %s; 'wcdeploy history' lists the runs", q, ErrNotFound, j.Path())
}

// Current counts the servers that ran the run's build when it ended.
func (e *Entry) Current() int {
	n := 0
	for _, s := range e.Servers {
		if s.Verified || s.UpToDate {
			n++
		}
	}
	return n
}

// deployed reports whether the run's build ran somewhere when it ended.
func (e *Entry) deployed() bool { return !e.DryRun && e.Current() > 0 }

// PreviousBuild finds the build a profile ran before its last successful run:
// the newest earlier run of the profile whose build ran somewhere and differs
// from that run's build. Rollback redeploys it from the archive.
//
// Deprecated: use RollbackTarget, which sees one project only and goes to
// the build the servers ran before a partial rollout.
func (j *Journal) PreviousBuild(profile string) (Entry, error) {
	runs, err := j.Runs(profile)
	if err != nil {
		return Entry{}, err
	}
	last := -1
	for k := range runs {
		if runs[k].OK && runs[k].deployed() {
			last = k
			break
		}
	}
	if last < 0 {
		return Entry{}, fmt.Errorf("profile %q has no successful run: %w %s; deploy an older EXE with 'wcdeploy deploy' instead", profile, ErrNotFound, j.Path())
	}
	cur := runs[last].Exe.SHA256
	for _, e := range runs[last+1:] {
		if e.deployed() && e.Exe.SHA256 != cur {
			return e, nil
		}
	}
	return Entry{}, fmt.Errorf("profile %q ran no other build before %s (run %s): %w %s; deploy an older EXE with 'wcdeploy deploy' instead",
		profile, runs[last].Exe.Version, runs[last].ID, ErrNotFound, j.Path())
}

// Unverified returns the servers of a run that do not run its build as far
// as the run knows.
//
// Deprecated: use Resume, which checks the run's project and profile and
// returns every server of the run.
func (j *Journal) Unverified(id string) (Entry, []string, error) {
	e, err := j.Find(id)
	if err != nil {
		return Entry{}, nil, err
	}
	var out []string
	for _, s := range e.Servers {
		if !s.Verified && !s.UpToDate {
			out = append(out, s.Name)
		}
	}
	return e, out, nil
}
