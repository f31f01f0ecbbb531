package emulator

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestHoldAnswersEveryAppRequest: while a swap holds (§3.4, §4.3) every
// request the application would answer gets 500 "Please wait..." unless
// its caller is an admin, on every flavor; before and after the hold the
// same requests get the application's page. This is what a load balancer
// in front of the servers sees.
func TestHoldAnswersEveryAppRequest(t *testing.T) {
	for _, flavor := range Flavors {
		t.Run(string(flavor), func(t *testing.T) {
			t.Parallel()
			s := startT(t, Config{Flavor: flavor, Auth: AuthBasic, AdminAccount: "wcadmin",
				Users: map[string]string{"wcadmin": "s3cret", "clerk": "pw"}, SwapDelay: 2 * time.Second})
			type request struct{ method, path, login string }
			pages := []request{
				{"GET", "", ""},                    // the application's folder
				{"GET", "default.wc", ""},          // a script-mapped page
				{"GET", "orders/list.wc?id=7", ""}, // any script-mapped path below the app
				{"POST", "orders/save.wc", ""},     // a form post is held too
				{"GET", "default.wc", "clerk:pw"},  // a Windows user who is not an admin
			}
			if flavor == WebServer726 {
				pages = append(pages, request{"GET", "page.wcs", ""})
			} else {
				pages = append(pages, request{"GET", "page.wp", ""})
			}
			send := func(rq request) reply {
				var body []byte
				ctype := ""
				if rq.method == "POST" {
					ctype, body = "application/x-www-form-urlencoded", []byte("qty=1")
				}
				return do(t, nil, rq.method, s.URL()+rq.path, rq.login, ctype, body)
			}
			for _, rq := range pages {
				if r := send(rq); r.status != http.StatusOK || !strings.Contains(r.body, "Hello from the Web Connection server.") {
					t.Errorf("%s /%s before the swap: %d %q", rq.method, rq.path, r.status, r.body)
				}
			}
			swap := "UpdateExe.wc"
			if flavor == ISAPI {
				swap = "wc.wc?_maintain~UPDATEEXE"
			}
			done := make(chan error, 1)
			go func() {
				req, err := http.NewRequest("GET", s.URL()+swap, nil)
				if err == nil {
					req.SetBasicAuth("wcadmin", "s3cret")
					var resp *http.Response
					if resp, err = http.DefaultClient.Do(req); err == nil {
						resp.Body.Close()
					}
				}
				done <- err
			}()
			waitHold(t, s)
			held := 0
			for _, rq := range pages {
				r := send(rq)
				if !s.OnHold() {
					continue // the hold ended during the request: not a held reply
				}
				held++
				if r.status != http.StatusInternalServerError || !strings.Contains(r.body, hdrHold) || !strings.Contains(r.body, msgHold) {
					t.Errorf("%s /%s during the hold: %d %q", rq.method, rq.path, r.status, r.body)
				}
			}
			if held == 0 {
				t.Fatal("no request was answered during the hold")
			}
			if s.OnHold() && flavor != ISAPI {
				// Admin links still work during the hold.
				if r := do(t, nil, "GET", s.URL()+"ModuleAdministration.wc", "wcadmin:s3cret", "", nil); r.status != http.StatusOK {
					t.Errorf("admin page during the hold: %d", r.status)
				}
			}
			if err := <-done; err != nil {
				t.Fatalf("the swap: %v", err)
			}
			if s.OnHold() {
				t.Fatal("the hold outlived the swap")
			}
			for _, rq := range pages {
				if r := send(rq); r.status != http.StatusOK || !strings.Contains(r.body, "Hello from the Web Connection server.") {
					t.Errorf("%s /%s after the swap: %d", rq.method, rq.path, r.status)
				}
			}
		})
	}
}
