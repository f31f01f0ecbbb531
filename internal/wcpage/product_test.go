package wcpage

import (
	"bytes"
	"io"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"

	"github.com/wcdeploy/wcdeploy/pkg/config"
	"github.com/wcdeploy/wcdeploy/pkg/emulator"
	"github.com/wcdeploy/wcdeploy/pkg/emulator/emulatortest"
	"github.com/wcdeploy/wcdeploy/pkg/sampleexe"
)

func TestFlavorNamesMatchConfig(t *testing.T) {
	if flavorModule != config.FlavorModule || flavorWebServer != config.FlavorWebServer || flavorISAPI != config.FlavorISAPI {
		t.Fatal("wcpage's flavor names differ from config's")
	}
}

// reply is one real exchange with an emulated server.
func reply(t *testing.T, method, url string, auth bool) (http.Header, []byte) {
	t.Helper()
	var body io.Reader
	ctype := ""
	if method == http.MethodPost {
		var buf bytes.Buffer
		mw := multipart.NewWriter(&buf)
		part, err := mw.CreateFormFile("File", "App.exe")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := sampleexe.Write(part, sampleexe.Options{FileVersion: "2.0.0.0"}); err != nil {
			t.Fatal(err)
		}
		if err := mw.Close(); err != nil {
			t.Fatal(err)
		}
		body, ctype = &buf, mw.FormDataContentType()
	}
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	if auth {
		req.SetBasicAuth("deploy", "secret")
	}
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.Header, b
}

// Each emulated product is recognised from what it answers to the links of
// every flavor, the wrong ones included, and the advice names the flavor to
// use; the right flavor gets no advice.
func TestIdentifyEmulatedServers(t *testing.T) {
	for _, tc := range []struct {
		emulated emulator.Flavor
		want     Product
		advice   string // for the wrong flavor
		wrong    string
	}{
		{emulator.Module715, Module, "this is the Web Connection .NET module, not the ISAPI wc.dll: use --flavor module (flavor: module in wcdeploy.yaml)", config.FlavorISAPI},
		{emulator.Module714, Module, "this is the Web Connection .NET module, not the ISAPI wc.dll: use --flavor module", config.FlavorISAPI},
		{emulator.WebServer726, WebServer, "this is the Web Connection Web Server, not the ISAPI wc.dll: use --flavor webserver", config.FlavorISAPI},
		{emulator.ISAPI, ISAPI, "this is the ISAPI wc.dll, not the Web Connection .NET module: use --flavor isapi (flavor: isapi in wcdeploy.yaml)", config.FlavorModule},
	} {
		t.Run(string(tc.emulated), func(t *testing.T) {
			s := emulatortest.Start(t, emulator.Config{Flavor: tc.emulated, Users: map[string]string{"deploy": "secret"}, Auth: emulator.AuthBasic})
			base := s.URL() + "App/"
			for _, flavor := range []string{config.FlavorModule, config.FlavorISAPI} {
				upload, _, status, err := config.DeriveURLs(flavor, base)
				if err != nil {
					t.Fatal(err)
				}
				for _, r := range []struct {
					method, url string
					auth        bool
				}{{http.MethodGet, status, true}, {http.MethodPost, upload, true}, {http.MethodGet, status, false}} {
					h, body := reply(t, r.method, r.url, r.auth)
					if got := Identify(h, body); got != tc.want {
						t.Errorf("%s %s (auth %v): %v, want %v; reply %.200q", r.method, r.url, r.auth, got, tc.want, body)
					}
					if adv := FlavorAdvice(tc.emulated.Kind(), h, body); adv != "" {
						t.Errorf("%s %s with the right flavor: advice %q", r.method, r.url, adv)
					}
					if adv := FlavorAdvice(tc.wrong, h, body); !strings.HasPrefix(adv, tc.advice) {
						t.Errorf("%s %s with flavor %s: advice %q, want %q", r.method, r.url, tc.wrong, adv, tc.advice)
					}
				}
			}
		})
	}
}

// moduleOwn are the transcripts (by number) whose body names the module.
var moduleOwn = map[string]bool{"00": true, "01": true, "03": true, "15": true, "17": true, "25": true, "26": true}

// The captured module replies, without their headers, are recognised from
// the body alone: the status page, ModuleTest.wc and the 401 page as the
// module, every other module page by its template.
func TestIdentifyTranscripts(t *testing.T) {
	for _, f := range transcripts(t) {
		_, body := transcript(t, f)
		got := Identify(nil, body)
		want := DotNet
		base := f[strings.LastIndexByte(f, '/')+1:]
		switch {
		// The status page, ModuleTest.wc and the module's 401 page.
		case moduleOwn[base[:2]]:
			want = Module
		case !strings.Contains(string(body), "page-header-text"):
			want = Unknown // nginx's own 401 page
		}
		if got != want {
			t.Errorf("%s: %v, want %v", f, got, want)
		}
		if want != Unknown && FlavorAdvice(config.FlavorModule, nil, body) != "" {
			t.Errorf("%s: advice for the module's own flavor", f)
		}
		if want != Unknown && !strings.Contains(FlavorAdvice(config.FlavorISAPI, nil, body), "use --flavor module") {
			t.Errorf("%s: no advice for flavor isapi", f)
		}
	}
}
