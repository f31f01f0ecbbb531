package transport

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestQuietSpeaksTheUsersTerms: what reaches people names the problem, not
// Go's wrapping of it, and errors.Is still sees the cause.
func TestQuietSpeaksTheUsersTerms(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	addr := srv.URL
	srv.Close() // nothing listens there now
	_, refused := http.Get(addr + "/status")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, addr, nil)
	_, cancelled := http.DefaultClient.Do(req)
	_, missing := os.Stat(filepath.Join(t.TempDir(), "App.exe"))

	for _, c := range []struct {
		err       error
		want, not string
		is        error
	}{
		{refused, "connection refused", `Get "`, nil},
		{cancelled, "interrupted", "context canceled", context.Canceled},
		{missing, "App.exe does not exist", "stat ", os.ErrNotExist},
	} {
		got := Quiet(c.err).Error()
		if !strings.Contains(got, c.want) || strings.Contains(got, c.not) || strings.Contains(got, "127.0.0.1") {
			t.Errorf("Quiet(%q) = %q, want %q without %q or the address", c.err, got, c.want, c.not)
		}
		if c.is != nil && !errors.Is(Quiet(c.err), c.is) {
			t.Errorf("Quiet(%q) lost its cause", c.err)
		}
	}
}
