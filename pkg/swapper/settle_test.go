package swapper

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// holdPage is a status page with the module's "Hold Requests" row.
func holdPage(version string, hold bool) string {
	state := "<b> <i class='fas fa-check-circle text-success'></i> Servers running "
	if hold {
		state = "<b><i class='fas fa-times-circle text-danger' ></i> Servers on Hold</b> "
	}
	row := "<tr><td>Hold Requests</td><td>" + state + " <small><a href=\"HoldRequests.wc\">switch</a></small></td></tr>\r\n"
	return strings.Replace(statusPage(version), "<tr><td>Exe Version</td>", row+"<tr><td>Exe Version</td>", 1)
}

func TestParseStatusHold(t *testing.T) {
	for _, hold := range []bool{false, true} {
		st, err := ParseStatus([]byte(holdPage("1.2.3.5", hold)))
		if err != nil || st.Hold != hold || st.Version != "1.2.3.5" {
			t.Errorf("hold %v: %+v, %v", hold, st, err)
		}
	}
}

// TestSwapSettlesAfterTheHold: a swap reply that is lost (timeout) or
// damaged (200, garbage) is settled from the status page read until the
// server is off hold; a hold that outlasts the window is reported as such.
func TestSwapSettlesAfterTheHold(t *testing.T) {
	cases := []struct {
		name     string
		reply    func(w http.ResponseWriter, r *http.Request)
		holdFor  int32         // status reads that still show the hold
		timeout  time.Duration // timeouts.swap: the reply's wait, then the status page's
		damaged  bool
		wantHold bool
	}{
		{"late", func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }, 2, time.Second, false, false},
		{"garbage 200", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "\x00\xffgarb") }, 2, 3 * time.Second, true, false},
		{"hold outlasts the window", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "<html>") }, 1000, 600 * time.Millisecond, true, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var reads atomic.Int32
			mux := http.NewServeMux()
			mux.HandleFunc("/UpdateExe.wc", c.reply)
			mux.HandleFunc("/ModuleAdministration.wc", func(w http.ResponseWriter, r *http.Request) {
				n := reads.Add(1)
				io.WriteString(w, holdPage("1.2.3.6", n <= c.holdFor))
			})
			srv := httptest.NewServer(mux)
			t.Cleanup(srv.Close)
			ctx := context.Background()
			_, err := Swap(ctx, newClient(t), srv.URL+"/UpdateExe.wc", srv.URL+"/ModuleAdministration.wc", c.timeout)
			var lost *LostReplyError
			if !errors.As(err, &lost) || lost.Status == nil || lost.Damaged != c.damaged || lost.Status.Hold != c.wantHold {
				t.Fatalf("err %v (%+v)", err, lost)
			}
			if !c.wantHold && (reads.Load() != c.holdFor+1 || lost.Status.Version != "1.2.3.6") {
				t.Errorf("%d status reads, status %+v", reads.Load(), lost.Status)
			}
			if c.wantHold && !strings.Contains(err.Error(), "still holding its requests") {
				t.Errorf("message %q", err)
			}
		})
	}
}
