package deploy

import (
	"context"
	"os"

	"github.com/wcdeploy/wcdeploy/internal/output"
	"github.com/wcdeploy/wcdeploy/internal/peversion"
	"github.com/wcdeploy/wcdeploy/pkg/config"
)

// StatusWithLocal is Status beside the local EXE of p, if there is one: its
// version is read first, its hash while the servers answer (so a large EXE
// costs no extra time; it lets --json name the exact build). A local EXE
// that cannot be read is passed to warnf, not an error.
func StatusWithLocal(ctx context.Context, p config.Profile, clients ClientFunc, warnf func(string, ...any)) (*StatusReport, error) {
	local := localExe(p.Exe, warnf)
	type hash struct {
		sum string
		err error
	}
	hashed := make(chan hash, 1)
	if local != nil {
		go func() {
			sum, _, err := peversion.HashFile(p.Exe)
			hashed <- hash{sum, err}
		}()
	} else {
		hashed <- hash{}
	}
	rep, err := Status(ctx, p, local, clients)
	if h := <-hashed; h.err != nil {
		warnf("local EXE: %v", h.err)
	} else if local != nil {
		local.SHA256 = h.sum
	}
	return rep, err
}

// localExe reads the version of the EXE status compares with; nil when there
// is none. A missing file is no error (status works without a build), but
// it is said: a mistyped --exe would otherwise leave every STATE unknown
// without a word.
func localExe(path string, warnf func(string, ...any)) *peversion.Info {
	if path == "" {
		return nil
	}
	info, err := peversion.ReadVersionFile(path)
	switch {
	case os.IsNotExist(err):
		warnf("the local EXE %s does not exist, so STATE compares with nothing (unknown): build it, or fix --exe (the profile's exe)", path)
		return nil
	case err != nil:
		warnf("local EXE: %v", err)
		return nil
	}
	return info
}

// Table is the status as the table 'wcdeploy status' prints.
func (r *StatusReport) Table() output.Table {
	t := output.Table{Header: []string{"SERVER", "RUNNING", "SINCE", "STATE", "ERROR"}}
	for _, s := range r.Servers {
		t.Add(s.Name, dash(s.Running), dash(s.Date), s.State, s.Error)
	}
	return t
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
