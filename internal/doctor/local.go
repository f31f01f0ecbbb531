package doctor

import (
	"fmt"

	"github.com/wcdeploy/wcdeploy/internal/deploy"
	"github.com/wcdeploy/wcdeploy/internal/exitcode"
	"github.com/wcdeploy/wcdeploy/internal/rollout"
	"github.com/wcdeploy/wcdeploy/pkg/config"
)

// checkExe reads the local EXE exactly as deploy does (deploy.ReadBuild):
// a file deploy refuses (no PE, no version resource) fails here too.
func checkExe(p config.Profile) (*rollout.Build, Result) {
	r := Result{Check: "exe"}
	if p.Exe == "" {
		r.Status, r.Message = Skip, "no exe in the profile (--exe): the EXE and the servers' size limits are not checked"
		return nil, r
	}
	b, err := deploy.ReadBuild(p, "")
	if err != nil {
		r.Status, r.Message, r.Code = Fail, err.Error(), exitcode.Of(err)
		return nil, r
	}
	r.Status, r.Message = OK, fmt.Sprintf("%s: FileVersion %s, %d bytes", p.Exe, b.Version, b.Size)
	return &b, r
}
