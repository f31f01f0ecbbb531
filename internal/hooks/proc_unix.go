//go:build !windows

package hooks

import (
	"os/exec"
	"syscall"

	"github.com/wcdeploy/wcdeploy/pkg/config"
)

// command runs a command line with sh -c, or the argument list as it is,
// in a process group of its own: a terminal's Ctrl-C goes to wcdeploy,
// which decides what to stop, and a timeout can stop every process the
// hook started.
func command(h config.Hook) *exec.Cmd {
	var cmd *exec.Cmd
	if h.Shell != "" {
		cmd = exec.Command("/bin/sh", "-c", h.Shell)
	} else {
		cmd = exec.Command(h.Argv[0], h.Argv[1:]...)
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	return cmd
}

// shellNote says which shell ran a command line, for errors.
func shellNote(h config.Hook) string {
	if h.Shell != "" {
		return ", with /bin/sh -c"
	}
	return ", without a shell"
}

// terminateTree asks the hook's process group to end (SIGTERM).
func terminateTree(cmd *exec.Cmd) { signalGroup(cmd, syscall.SIGTERM) }

// killTree kills what is left of the hook's process group.
func killTree(cmd *exec.Cmd) { signalGroup(cmd, syscall.SIGKILL) }

func signalGroup(cmd *exec.Cmd, sig syscall.Signal) {
	if cmd.Process == nil {
		return
	}
	// The group id is the hook's pid (Setpgid with Pgid 0). It stays
	// taken while any process of the group lives, even after the hook
	// itself has been waited for.
	_ = syscall.Kill(-cmd.Process.Pid, sig)
}
