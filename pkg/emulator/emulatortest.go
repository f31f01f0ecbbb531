package emulator

import (
	"testing"
	"time"
)

// StartT starts an emulator on 127.0.0.1:0 for a test and closes it in
// t.Cleanup. The swap delay defaults to 50 ms and the deploy folder to a
// test temporary folder.
func StartT(t testing.TB, cfg Config) *Server {
	t.Helper()
	if cfg.SwapDelay == 0 {
		cfg.SwapDelay = 50 * time.Millisecond
	}
	if cfg.Dir == "" {
		cfg.Dir = t.TempDir()
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatalf("emulator: %v", err)
	}
	if err := s.Start("127.0.0.1:0"); err != nil {
		t.Fatalf("emulator: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}
