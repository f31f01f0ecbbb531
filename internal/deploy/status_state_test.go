package deploy

import (
	"errors"
	"strings"
	"testing"

	"github.com/wcdeploy/wcdeploy/internal/credentials"
	"github.com/wcdeploy/wcdeploy/internal/exitcode"
)

func TestVersionState(t *testing.T) {
	for _, c := range []struct{ running, local, want string }{
		{"1.2.3.4", "1.2.3.5", StateBehind},
		{"1.2.3.10", "1.2.3.9", StateAhead},
		{"2.0", "1.9.9.9", StateAhead},
		{"1.2", "1.2.0.0", StateDiffers},
		{"beta", "1.0.0.0", StateDiffers},
	} {
		if got := versionState(c.running, c.local); got != c.want {
			t.Errorf("running %s, local %s: %s, want %s", c.running, c.local, got, c.want)
		}
	}
}

// A server named by its address (a --url run) whose error starts with that
// address is named once.
func TestStatusErrNamesOnce(t *testing.T) {
	r := &StatusReport{Servers: []ServerStatus{{Name: "127.0.0.1:8080", Error: "127.0.0.1:8080 refused the login", code: exitcode.Auth}}}
	if err := r.Err(); err == nil || err.Error() != "127.0.0.1:8080 refused the login" || exitcode.Of(err) != exitcode.Auth {
		t.Errorf("Err() = %v", err)
	}
	r.Servers[0].Name = "web1"
	if err := r.Err(); err == nil || err.Error() != "web1: 127.0.0.1:8080 refused the login" {
		t.Errorf("Err() = %v", err)
	}
}

// A keychain that cannot save is told in the user's terms, and the error
// still is a KeychainError.
func TestStoreFailedInUserTerms(t *testing.T) {
	ke := &credentials.KeychainError{Op: "save", Account: `CORP\deploy@web1`, Err: errors.New(`exec: "dbus-launch": executable file not found in $PATH`)}
	err := storeFailed(exitcode.New(exitcode.Auth, ke), "web1")
	var got *credentials.KeychainError
	if msg := err.Error(); strings.Contains(msg, "dbus-launch") || !strings.Contains(msg, "no Secret Service") || !strings.Contains(msg, "(web1 accepted it)") || !errors.As(err, &got) || exitcode.Of(err) != exitcode.Auth {
		t.Errorf("storeFailed = %v", err)
	}
}
