//go:build windows

package hooks

import (
	"os"
	"os/exec"
	"strconv"
	"syscall"

	"github.com/wcdeploy/wcdeploy/pkg/config"
)

// createNewProcessGroup keeps a console's Ctrl-C away from the hook:
// wcdeploy decides what to stop (CREATE_NEW_PROCESS_GROUP).
const createNewProcessGroup = 0x00000200

// command runs a command line with cmd /C, or the argument list as it is.
// The command line is handed to cmd.exe as written (/S /C "line"), since
// cmd.exe does not parse the quoting Go would add.
func command(h config.Hook) *exec.Cmd {
	var cmd *exec.Cmd
	if h.Shell != "" {
		shell := os.Getenv("ComSpec")
		if shell == "" {
			shell = "cmd.exe"
		}
		cmd = exec.Command(shell)
		cmd.SysProcAttr = &syscall.SysProcAttr{
			CmdLine:       syscall.EscapeArg(shell) + ` /D /S /C "` + h.Shell + `"`,
			CreationFlags: createNewProcessGroup,
		}
		return cmd
	}
	cmd = exec.Command(h.Argv[0], h.Argv[1:]...)
	cmd.SysProcAttr = &syscall.SysProcAttr{CreationFlags: createNewProcessGroup}
	return cmd
}

// shellNote says which shell ran a command line, for errors.
func shellNote(h config.Hook) string {
	if h.Shell != "" {
		return ", with cmd /C"
	}
	return ", without a shell"
}

// terminateTree ends the hook and every process it started: taskkill /T
// walks the tree of child processes (Windows has no process groups that a
// signal reaches).
func terminateTree(cmd *exec.Cmd) {
	if cmd.Process == nil {
		return
	}
	kill := exec.Command("taskkill", "/T", "/F", "/PID", strconv.Itoa(cmd.Process.Pid))
	_ = kill.Run()
}

// killTree kills the hook itself if taskkill could not.
func killTree(cmd *exec.Cmd) {
	if cmd.Process != nil {
		_ = cmd.Process.Kill()
	}
}
