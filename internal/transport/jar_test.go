package transport

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
)

// TestCookieJarPerServer: a cookie a sticky balancer sets (ARRAffinity)
// comes back on the server's next requests, and the client of another
// server, even at the same address, does not send it.
func TestCookieJarPerServer(t *testing.T) {
	var mu sync.Mutex
	var seen []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.Header.Get("Cookie"))
		mu.Unlock()
		if _, err := r.Cookie("ARRAffinity"); err != nil {
			http.SetCookie(w, &http.Cookie{Name: "ARRAffinity", Value: "node-b", Path: "/", HttpOnly: true})
		}
		_, _ = io.WriteString(w, "ok")
	}))
	defer srv.Close()
	get := func(c *http.Client) {
		t.Helper()
		req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, srv.URL+"/App/ModuleAdministration.wc", nil)
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	one, err := New(srv.URL+"/App/", Options{Auth: AuthAuto})
	if err != nil {
		t.Fatal(err)
	}
	other, err := New(srv.URL+"/App/", Options{Auth: AuthNTLM, User: `WCEMU\deploy`, Password: "pw-not-sent"})
	if err != nil {
		t.Fatal(err)
	}
	get(one)
	get(one)
	get(other)
	get(one)
	mu.Lock()
	defer mu.Unlock()
	want := []string{"", "ARRAffinity=node-b", "", "ARRAffinity=node-b"}
	if len(seen) != len(want) {
		t.Fatalf("requests %q, want %q", seen, want)
	}
	for i := range want {
		if seen[i] != want[i] {
			t.Errorf("request %d sent Cookie %q, want %q", i+1, seen[i], want[i])
		}
	}
}
