package credentials

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/wcdeploy/wcdeploy/internal/exitcode"
	"github.com/wcdeploy/wcdeploy/internal/ui"
)

// needKeyring skips unless scripts/test.sh started a Secret Service for the
// run; in CI a missing keyring is a broken setup, not a reason to skip.
func needKeyring(t *testing.T) {
	t.Helper()
	if os.Getenv("WCDEPLOY_TEST_KEYRING") != "" {
		return
	}
	if os.Getenv("CI") != "" {
		t.Fatal("WCDEPLOY_TEST_KEYRING is not set in CI: run the suite with bash scripts/test.sh so the keychain tests run")
	}
	t.Skip("needs a Secret Service: run bash scripts/test.sh")
}

func uniqueUser(t *testing.T) string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return "wcdeploy-test-" + hex.EncodeToString(b)
}

func TestSystemKeyringRoundTrip(t *testing.T) {
	needKeyring(t)
	s, _, _ := ui.Test("")
	r := &Resolver{Streams: s, Keyring: SystemKeyring(), Timeout: 10 * time.Second}
	ctx := context.Background()
	user := uniqueUser(t)
	req1 := Request{User: user, Host: "web1.example.test:8443"}
	req2 := Request{User: user, Host: "web2.example.test"}
	t.Cleanup(func() {
		_ = r.Forget(ctx, req1)
		_ = r.Forget(ctx, req2)
	})

	if _, err := r.Resolve(ctx, req1); !errors.Is(err, ErrNoCredential) {
		t.Fatalf("before store: %v", err)
	}
	if err := r.Store(ctx, req1, "pw-one"); err != nil {
		t.Fatal(err)
	}
	if err := r.Store(ctx, req2, "pw-two"); err != nil {
		t.Fatal(err)
	}
	for req, want := range map[Request]string{req1: "pw-one", req2: "pw-two"} {
		c, err := r.Resolve(ctx, req)
		if err != nil || c.Password != want || c.Source != SourceKeychain {
			t.Errorf("%s: got %v %q, %v", req.Host, c, c.Password, err)
		}
	}
	// Overwrite keeps one entry per account.
	if err := r.Store(ctx, req1, "pw-one-b"); err != nil {
		t.Fatal(err)
	}
	if c, _ := r.Resolve(ctx, req1); c.Password != "pw-one-b" {
		t.Errorf("after overwrite: %q", c.Password)
	}
	if err := r.Forget(ctx, req1); err != nil {
		t.Fatal(err)
	}
	if err := r.Forget(ctx, req1); !errors.Is(err, ErrNotStored) {
		t.Errorf("second forget: %v", err)
	}
	if src, err := r.Which(ctx, req2); err != nil || src != SourceKeychain {
		t.Errorf("which: %v %v", src, err)
	}
	if _, err := r.Which(ctx, req1); !errors.Is(err, ErrNoCredential) {
		t.Errorf("which after forget: %v", err)
	}
}

// TestSystemKeyringUnavailable runs the real go-keyring against a D-Bus
// address where nothing listens, in a child process because the session
// bus connection is cached per process.
func TestSystemKeyringUnavailable(t *testing.T) {
	if os.Getenv("WCDEPLOY_KEYRING_CHILD") != "" {
		s, _, _ := ui.Test("")
		r := &Resolver{Streams: s, Keyring: SystemKeyring(), Timeout: 5 * time.Second}
		_, err := r.Resolve(context.Background(), Request{User: "u", Host: "web1"})
		os.Stdout.WriteString("RESULT code=" + exitcode.Of(err).String() + " err=" + errString(err) + "\n")
		err = r.Store(context.Background(), Request{User: "u", Host: "web1"}, "pw")
		os.Stdout.WriteString("STORE code=" + exitcode.Of(err).String() + " err=" + errString(err) + "\n")
		return
	}
	if runtime.GOOS != "linux" {
		t.Skip("the Secret Service is Linux only")
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestSystemKeyringUnavailable$", "-test.v")
	cmd.Env = append(os.Environ(), "WCDEPLOY_KEYRING_CHILD=1",
		"DBUS_SESSION_BUS_ADDRESS=unix:path="+t.TempDir()+"/no-bus", "WCDEPLOY_PASSWORD=")
	start := time.Now()
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("took %v", d)
	}
	text := string(out)
	for _, want := range []string{
		"RESULT code=auth", "OS keychain could not be read", EnvPassword, "--password-stdin",
		"STORE code=auth", "could not save",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("child output lacks %q:\n%s", want, text)
		}
	}
}

func errString(err error) string {
	if err == nil {
		return "<nil>"
	}
	return err.Error()
}
