package journal

import (
	"strings"

	"github.com/wcdeploy/wcdeploy/internal/rollout"
)

// SetSwap records what server name's swap reply echoed. Only a verified
// server's echo is kept: the record means "this server ran this build with
// this file date", which Identities relies on.
func (e *Entry) SetSwap(name string, sw rollout.Swapped) bool {
	for k := range e.Servers {
		s := &e.Servers[k]
		if s.Name == name && s.Verified && sw.Version != "" && usableDate(sw.Date) {
			s.Swap = &Echo{Version: sw.Version, SizeKB: sw.SizeKB, Date: sw.Date}
			return true
		}
	}
	return false
}

// Identity is a build that this machine deployed to a server.
type Identity struct {
	SHA256  string
	Version string
	Run     string // the newest run that swapped it in with that file date
}

// Identities answers, for the servers of a scope, whether what a status
// page shows (version and file date) is a build this machine deployed.
type Identities struct {
	builds map[string][]Identity // identityKey → the deploys that match
	// uncertain holds the servers (serverKey) whose newest swap ended
	// unknown: a swap of another build may have happened there, and a
	// status page cannot tell two swaps within its date's resolution (one
	// second) apart, so no earlier build is known to run there.
	uncertain map[string]bool
}

// Identities loads every verified swap of the scope once (a rollout over
// many servers asks for each).
func (j *Journal) Identities(s Scope) (*Identities, error) {
	runs, err := j.History(s)
	if err != nil {
		return nil, err
	}
	ids := &Identities{builds: map[string][]Identity{}, uncertain: map[string]bool{}}
	// servers whose newest swap outcome was seen (runs are newest first)
	decided := map[string]bool{}
	for _, e := range runs {
		if e.DryRun || !validSHA(e.Exe.SHA256) {
			continue
		}
		for _, sv := range e.Servers {
			if sv.URL == "" {
				continue
			}
			if key := serverKey(sv.URL, ""); !decided[key] && (sv.Verified || sv.State == rollout.ServerUnknown) {
				decided[key] = true
				ids.uncertain[key] = sv.State == rollout.ServerUnknown
			}
			if sv.Swap == nil || !sv.Verified {
				continue
			}
			k := identityKey(sv.URL, sv.Swap.Version, sv.Swap.Date)
			ids.builds[k] = append(ids.builds[k], Identity{SHA256: e.Exe.SHA256, Version: e.Exe.Version, Run: e.ID})
		}
	}
	return ids, nil
}

// Lookup says which build the server at serverURL runs, given what its
// status page shows now. ok is false when no deploy from this machine
// matches, when the page shows no usable file date, when the server's
// newest swap ended unknown (see Identities.uncertain), or when two different
// builds were swapped in with the same version and date (then the bytes
// cannot be told apart): the caller must treat the build as unknown.
func (ids *Identities) Lookup(serverURL string, now rollout.Running) (Identity, bool) {
	if ids == nil || now.Version == "" || !usableDate(now.Date) || ids.uncertain[serverKey(serverURL, "")] {
		return Identity{}, false
	}
	found := ids.builds[identityKey(serverURL, now.Version, now.Date)]
	if len(found) == 0 {
		return Identity{}, false
	}
	for _, f := range found[1:] {
		if f.SHA256 != found[0].SHA256 {
			return Identity{}, false
		}
	}
	return found[0], true
}

// RunsBuild reports whether the server runs exactly the build with this SHA-256.
func (ids *Identities) RunsBuild(serverURL string, now rollout.Running, sha string) bool {
	id, ok := ids.Lookup(serverURL, now)
	return ok && id.SHA256 == strings.ToLower(sha)
}

func identityKey(url, version, date string) string {
	return serverKey(url, "") + "\x00" + strings.TrimSpace(version) + "\x00" + normDate(date)
}

// normDate makes the swap reply's "File Date" and the status page's date
// (the same .NET DateTime.ToString, around &nbsp; on the status page)
// compare equal.
func normDate(d string) string {
	return strings.Join(strings.Fields(strings.ReplaceAll(d, "\u00a0", " ")), " ")
}

// usableDate: the server writes "n/a" when it cannot read the file date.
func usableDate(d string) bool {
	n := normDate(d)
	return n != "" && !strings.EqualFold(n, "n/a")
}
