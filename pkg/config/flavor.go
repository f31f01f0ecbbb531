package config

import (
	"fmt"
	"strings"
)

// The one vocabulary of flavor names. A profile (flavor: in wcdeploy.yaml,
// --flavor on deploy, status, doctor, init) needs only the kind of server,
// which decides the links; the emulator needs the version too, which decides
// its pages. Both take every name below, in any case: a profile reads
// module-7.15 as module, and the emulator reads module as module-7.15 (the
// newest module it knows).
var flavorNames = []struct {
	name, kind, emulated string
}{
	{"module", FlavorModule, "module-7.15"},
	{"module-7.15", FlavorModule, "module-7.15"},
	{"module-7.14", FlavorModule, "module-7.14"},
	{"webserver", FlavorWebServer, "webserver-7.26"},
	{"webserver-7.26", FlavorWebServer, "webserver-7.26"},
	{"isapi", FlavorISAPI, "isapi"},
}

// FlavorNames lists the accepted names, for help texts and errors.
func FlavorNames() []string {
	out := make([]string, 0, len(flavorNames))
	for _, f := range flavorNames {
		out = append(out, f.name)
	}
	return out
}

// lookupFlavor finds name (case-insensitive, surrounding blanks ignored).
func lookupFlavor(name string) (kind, emulated string, ok bool) {
	n := strings.ToLower(strings.TrimSpace(name))
	for _, f := range flavorNames {
		if f.name == n {
			return f.kind, f.emulated, true
		}
	}
	return "", "", false
}

// ParseFlavor reads a flavor name for a profile: module, webserver or isapi.
// It accepts the emulator's versioned names too (module-7.14 is module).
func ParseFlavor(name string) (string, error) {
	if kind, _, ok := lookupFlavor(name); ok {
		return kind, nil
	}
	return "", fmt.Errorf("must be one of %s, %s, %s, not %s (module is the IIS .NET module, webserver the Web Connection Web Server, isapi the wc.dll; the emulator's module-7.14, module-7.15 and webserver-7.26 are read as module and webserver)",
		FlavorModule, FlavorWebServer, FlavorISAPI, quote(name))
}

// ParseEmulatedFlavor reads a flavor name for the emulator: module-7.14,
// module-7.15, webserver-7.26 or isapi. It accepts a profile's names too
// (module is module-7.15, webserver is webserver-7.26).
func ParseEmulatedFlavor(name string) (string, error) {
	if _, emulated, ok := lookupFlavor(name); ok {
		return emulated, nil
	}
	return "", fmt.Errorf("unknown flavor %s: use module-7.14, module-7.15, webserver-7.26 or isapi (module means module-7.15, webserver means webserver-7.26)", quote(name))
}
