package doctor

import (
	"net/http"
	"slices"

	"github.com/wcdeploy/wcdeploy/internal/deploy"
	"github.com/wcdeploy/wcdeploy/internal/rollout"
	"github.com/wcdeploy/wcdeploy/internal/transport"
	"github.com/wcdeploy/wcdeploy/pkg/config"
)

const exeNameCheck = "exe name"

// AnonymousClients builds, per server, the client of the anonymous
// challenge check: no user, auto mode, no Kerberos.
func AnonymousClients(p *config.Profile, newClient deploy.NewClientFunc) func(rollout.Target) (*http.Client, error) {
	return func(t rollout.Target) (*http.Client, error) {
		o := deploy.TransportOptions(p, "")
		// The challenge of an anonymous request, whatever auth says.
		o.Auth, o.User, o.Name, o.Kerberos.Off = transport.AuthAuto, "", t.Name, true
		return newClient(t.URL, o)
	}
}

// WarnExeName adds, after each server's paths check, a warning when its
// ExeFile has another name than the local EXE.
func (rep *Report) WarnExeName() {
	if rep.Exe == nil || rep.Exe.Path == "" {
		return
	}
	for i := range rep.Servers {
		s := &rep.Servers[i]
		msg, next, differs := deploy.ExeNameDiffers(rep.Exe.Path, s.ExeFile)
		if !differs {
			continue
		}
		at := len(s.Checks)
		for j, c := range s.Checks {
			if c.Check == "paths" {
				at = j + 1
			}
		}
		s.Checks = slices.Insert(s.Checks, at, Result{Check: exeNameCheck, Status: Warn, Message: msg, Next: next})
	}
}
