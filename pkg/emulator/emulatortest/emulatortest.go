// Package emulatortest starts emulated Web Connection servers for tests,
// as net/http/httptest does for plain handlers. It is a package of its own
// so that programs using the emulator do not link the testing package.
package emulatortest

import (
	"testing"
	"time"

	"github.com/wcdeploy/wcdeploy/pkg/emulator"
)

// SwapDelay is the swap's sleep in tests that leave Config.SwapDelay unset:
// long enough to see the hold, short enough for a quick suite.
const SwapDelay = 50 * time.Millisecond

// Start starts an emulator on 127.0.0.1:0 for a test and closes it in
// t.Cleanup. The swap delay defaults to SwapDelay and the deploy folder to a
// test temporary folder.
func Start(t testing.TB, cfg emulator.Config) *emulator.Server {
	t.Helper()
	if cfg.SwapDelay == 0 {
		cfg.SwapDelay = SwapDelay
	}
	if cfg.Dir == "" {
		cfg.Dir = t.TempDir()
	}
	s, err := emulator.New(cfg)
	if err != nil {
		t.Fatalf("emulator: %v", err)
	}
	if err := s.Start("127.0.0.1:0"); err != nil {
		t.Fatalf("emulator: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}
