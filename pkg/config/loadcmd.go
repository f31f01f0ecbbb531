package config

import (
	"cmp"

	"github.com/wcdeploy/wcdeploy/internal/exitcode"
)

// LoadCommand loads o for command cmd ("auth status"). A profile without
// servers is refused in cmd's words, and with the way to name one (in an
// empty folder: 'wcdeploy init'); the EXE is checked (with needExe) after
// that, so a first try in an empty folder learns about init.
func LoadCommand(o Options, cmd string, needExe bool) (*Loaded, error) {
	ld, err := Load(o)
	if err != nil {
		return nil, err
	}
	if len(ld.Profile.Servers) == 0 {
		return nil, noServer(cmd, ld, needExe)
	}
	if !needExe {
		return ld, nil
	}
	o.NeedExe = true
	return Load(o)
}

// noServer says that the profile names no server, and how to name one.
func noServer(cmd string, ld *Loaded, needExe bool) error {
	verb := cmp.Or(ServerVerb(cmd), "use")
	if ld.File == "" {
		hint := "--url https://host/App/"
		if needExe {
			hint = "--exe build/App.exe " + hint
		}
		return exitcode.Errorf(exitcode.Usage, "no server to %s: there is no %s in %s or a folder above it; run 'wcdeploy init' in the project folder to write one, or pass %s",
			verb, FileName, ld.Dir, hint)
	}
	return exitcode.Errorf(exitcode.Usage, "no server to %s: %s: profile %q lists no servers; add one under servers: (as 'wcdeploy init' writes it), or pass --url https://host/App/",
		verb, ld.File, ld.Profile.Name)
}
