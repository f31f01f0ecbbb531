package emulator

import (
	"bytes"
	"encoding/base64"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	ntlmssp "github.com/Azure/go-ntlmssp"
)

func TestIsAdminRules(t *testing.T) {
	cases := []struct {
		flavor     Flavor
		acct       string
		set, empty bool
		user       string
		want       bool
	}{
		{Module714, "", false, false, "bob", true},               // default ANY
		{Module714, "", false, false, "", false},                 // ANY needs a login
		{Module714, "any", true, false, "bob", true},             // ignore case
		{Module714, "", true, false, "bob", false},               // empty denies (binary)
		{Module714, "", true, true, "bob", true},                 // the docs' reading
		{Module714, "ricks,megger", true, false, "MEGGER", true}, // case-insensitive
		{Module714, "ricks, megger", true, false, "megger", false},
		{Module715, "megger", true, false, `WCEMU\megger`, true},       // part after '\'
		{Module715, `wcemu\megger`, true, false, `WCEMU\Megger`, true}, // whole name
		{Module715, "megger", true, false, `\megger`, false},           // '\' at index 0
		{ISAPI, "megger", true, false, "Megger", true},
		{WebServer726, "none", true, false, "", true},
		{WebServer726, "megger", true, false, "Megger", false}, // case-sensitive
		{WebServer726, "megger", true, false, `WCEMU\megger`, false},
		{WebServer726, `WCEMU\megger`, true, false, `WCEMU\megger`, true},
		{WebServer726, "", true, false, "megger", false},
		{WebServer726, "ANY", true, false, "", false},
	}
	for _, tc := range cases {
		s, err := New(Config{Flavor: tc.flavor, AdminAccount: tc.acct, AdminAccountSet: tc.set, EmptyAdminAccountAllows: tc.empty, Dir: t.TempDir()})
		if err != nil {
			t.Fatal(err)
		}
		if got := s.isAdmin(tc.user); got != tc.want {
			t.Errorf("%s AdminAccount=%q user=%q: %v, want %v", tc.flavor, tc.acct, tc.user, got, tc.want)
		}
		s.Close()
	}
}

func ntlmClient() *http.Client {
	return &http.Client{Transport: ntlmssp.Negotiator{RoundTripper: &http.Transport{}}, Timeout: 20 * time.Second}
}

func TestNTLMHandshakeBindsConnection(t *testing.T) {
	for _, flavor := range []Flavor{Module715, WebServer726} {
		t.Run(string(flavor), func(t *testing.T) {
			s := startT(t, Config{Flavor: flavor, Users: map[string]string{"wcadmin": "s3cret"}, Auth: AuthNTLM, Domain: "WCEMU", AdminAccount: "ANY"})
			// One connection only, handshake by hand: the binding is the
			// point of the test.
			c := &http.Client{Transport: &http.Transport{MaxConnsPerHost: 1}, Timeout: 20 * time.Second}
			r := ntlmHandshake(t, c, s.URL()+"ModuleAdministration.wc", "wcadmin", "s3cret")
			if r.status != 200 {
				t.Fatalf("status page over NTLM: %d", r.status)
			}
			// The upload on the same keep-alive connection needs no new
			// handshake: its body crosses the wire exactly once.
			before := s.BodyBytes()
			ct, body := multipartBody(t, part{name: "File", filename: "WcDemo.exe", content: readFile(t, exe(t, t.TempDir(), "x.exe", "3.0.0.1", 0))})
			r = do(t, c, "POST", s.URL()+"UploadExe.wc", "", ct, body)
			if r.status != 200 || !strings.Contains(r.body, "File has been uploaded") {
				t.Fatalf("upload over NTLM: %d %s", r.status, r.body)
			}
			if got := s.BodyBytes() - before; got != int64(len(body)) {
				t.Errorf("upload body crossed the wire as %d bytes, want once (%d)", got, len(body))
			}
			reqs := s.Requests()
			if last := reqs[len(reqs)-1]; last.User != `WCEMU\wcadmin` || last.Action != "uploadexe" || last.BodyBytes != int64(len(body)) {
				t.Errorf("request log: %+v", last)
			}
		})
	}
}

// ntlmHandshake runs the three legs on c's single connection and returns
// the final reply.
func ntlmHandshake(t *testing.T, c *http.Client, url, user, pass string) reply {
	t.Helper()
	neg, _ := ntlmssp.NewNegotiateMessage("", "")
	req, _ := http.NewRequest("GET", url, nil)
	req.Header.Set("Authorization", "NTLM "+base64.StdEncoding.EncodeToString(neg))
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	scheme, data, _ := strings.Cut(resp.Header.Get("WWW-Authenticate"), " ")
	if resp.StatusCode != 401 || scheme != "NTLM" {
		t.Fatalf("NEGOTIATE leg: %d %q", resp.StatusCode, resp.Header.Values("WWW-Authenticate"))
	}
	ch, err := base64.StdEncoding.DecodeString(data)
	if err != nil {
		t.Fatal(err)
	}
	auth, err := ntlmssp.NewAuthenticateMessage(ch, user, pass, nil)
	if err != nil {
		t.Fatalf("client rejected the challenge: %v", err)
	}
	req, _ = http.NewRequest("GET", url, nil)
	req.Header.Set("Authorization", "NTLM "+base64.StdEncoding.EncodeToString(auth))
	resp, err = c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return reply{resp.StatusCode, resp.Header, string(b)}
}

func TestNTLMLoginForms(t *testing.T) {
	s := startT(t, Config{Flavor: Module714, Users: map[string]string{"wcadmin": "s3cret"}, Auth: AuthNTLM, Domain: "WCEMU"})
	cases := []struct {
		login string
		want  int
	}{
		{"wcadmin:s3cret", 200},
		{`WCEMU\wcadmin:s3cret`, 200},
		{"wcadmin@wcemu:s3cret", 200},
		{`OTHER\wcadmin:s3cret`, 401},
		{"wcadmin:wrong", 401},
		{"nobody:s3cret", 401},
	}
	for _, tc := range cases {
		r := do(t, ntlmClient(), "GET", s.URL()+"ModuleAdministration.wc", tc.login, "", nil)
		if r.status != tc.want {
			t.Errorf("%s: %d, want %d", strings.Split(tc.login, ":")[0], r.status, tc.want)
		}
		if tc.want == 401 && !strings.Contains(r.body, "401 - Unauthorized: Access is denied due to invalid credentials.") {
			t.Errorf("%s: a failed NTLM login should get IIS's own 401 page", tc.login)
		}
	}
}

func TestChallengeHeaders(t *testing.T) {
	cases := []struct {
		flavor Flavor
		auth   string
		want   []string
	}{
		{Module714, AuthBoth, []string{"Negotiate", "NTLM", `Basic realm="127.0.0.1"`}},
		{Module715, AuthNTLM, []string{"Negotiate", "NTLM"}},
		{Module715, AuthBasic, []string{`Basic realm="127.0.0.1"`}},
		{Module715, AuthNone, nil},
		{WebServer726, AuthBasic, []string{"Negotiate", "NTLM", `Basic realm="HOSTPORT"`}},
	}
	for _, tc := range cases {
		s := startT(t, Config{Flavor: tc.flavor, Auth: tc.auth, Users: map[string]string{"u": "p"}})
		r := do(t, nil, "GET", s.URL()+"UpdateExe.wc", "", "", nil)
		host := strings.TrimSuffix(strings.TrimPrefix(s.URL(), "http://"), "/")
		var want []string
		for _, w := range tc.want {
			want = append(want, strings.ReplaceAll(w, "HOSTPORT", host))
		}
		got := r.header.Values("WWW-Authenticate")
		if r.status != 401 || strings.Join(got, "|") != strings.Join(want, "|") {
			t.Errorf("%s/%s: %d %q, want %q", tc.flavor, tc.auth, r.status, got, want)
		}
		if tc.flavor == WebServer726 && (!strings.Contains(r.body, msgUnauthWebSrv) || r.header.Get("Expires") != "0") {
			t.Errorf("webserver 401 page or Expires wrong: %q", r.header.Get("Expires"))
		}
	}
}

func TestBasicLoginForms(t *testing.T) {
	s := startT(t, Config{Flavor: Module715, Users: map[string]string{"wcadmin": "s3cret", `CORP\ops`: "pw"}, Auth: AuthBasic, AdminAccount: "wcadmin,ops"})
	cases := []struct {
		login string
		want  int
	}{
		{"wcadmin:s3cret", 200}, {"WCADMIN:s3cret", 200}, {"wcadmin@anything:s3cret", 200},
		{`CORP\ops:pw`, 200}, {"ops@corp:pw", 200}, {`OTHER\ops:pw`, 401}, {"wcadmin:S3CRET", 401},
	}
	for _, tc := range cases {
		if r := do(t, nil, "GET", s.URL()+"ModuleAdministration.wc", tc.login, "", nil); r.status != tc.want {
			t.Errorf("%s: %d, want %d", tc.login, r.status, tc.want)
		}
	}
	// Basic is not bound to the connection: the next request without a
	// header is anonymous again.
	c := &http.Client{}
	do(t, c, "GET", s.URL()+"ModuleAdministration.wc", "wcadmin:s3cret", "", nil)
	if r := do(t, c, "GET", s.URL()+"ModuleAdministration.wc", "", "", nil); r.status != 401 {
		t.Errorf("anonymous after Basic: %d", r.status)
	}
}

func TestWebServerIgnoresBasic(t *testing.T) {
	s := startT(t, Config{Flavor: WebServer726, Users: map[string]string{"u": "p"}, WebServerIgnoresBasic: true})
	if r := do(t, nil, "GET", s.URL()+"ModuleAdministration.wc", "u:p", "", nil); r.status != 401 {
		t.Errorf("self-hosted Web Server accepted Basic: %d", r.status)
	}
	if r := do(t, ntlmClient(), "GET", s.URL()+"ModuleAdministration.wc", "u:p", "", nil); r.status != 200 {
		t.Errorf("NTLM on the Web Server: %d", r.status)
	}
	s2 := startT(t, Config{Flavor: WebServer726, AdminAccount: "none", Auth: AuthNone})
	if r := do(t, nil, "GET", s2.URL()+"ModuleAdministration.wc", "", "", nil); r.status != 200 || !strings.Contains(r.body, hdrStatusWeb) {
		t.Errorf("AdminAccount none: %d", r.status)
	}
}

func FuzzAuthorization(f *testing.F) {
	for _, seed := range []string{"", "Basic d2NhZG1pbjpzM2NyZXQ=", "Basic !!!", "NTLM TlRMTVNTUAABAAAAB4IIogAAAAAAAAAAAAAAAAAAAAAKAGFKAAAADw==", "Negotiate YIIB", "NTLM TlRMTVNTUAADAAAA", "Digest x"} {
		f.Add(seed)
	}
	s, err := New(Config{Flavor: Module715, Users: map[string]string{"wcadmin": "s3cret"}, Dir: f.TempDir()})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { s.Close() })
	f.Fuzz(func(t *testing.T, h string) {
		req, _ := http.NewRequest("GET", "http://127.0.0.1/UpdateExe.wc", bytes.NewReader(nil))
		req.Header.Set("Authorization", h)
		req = req.WithContext(withConnState(req.Context(), nil))
		w := &headerOnly{h: http.Header{}}
		user, _, out := s.authenticate(w, req)
		if out == authOK && user == "" {
			t.Fatalf("authenticated without a user: %q", h)
		}
	})
}

type headerOnly struct{ h http.Header }

func (w *headerOnly) Header() http.Header         { return w.h }
func (w *headerOnly) Write(b []byte) (int, error) { return len(b), nil }
func (w *headerOnly) WriteHeader(int)             {}
