package emulator

import (
	"bytes"
	"net/http/httptest"
	"testing"
)

// FuzzUploadBody feeds arbitrary multipart bodies and boundaries to the
// upload handler: every reply must be a page, never a crash or a hang.
func FuzzUploadBody(f *testing.F) {
	ct, body := multipartBody(f, part{name: "File", filename: "a.exe", content: []byte("MZ")}, part{name: "Dll", filename: "a.dll", content: []byte("x")})
	_, params, _ := splitBoundary(ct)
	f.Add(params, body)
	f.Add("b", []byte("--b\r\nContent-Disposition: form-data; name=\"File\"; filename=\"\"\r\n\r\nx\r\n--b--\r\n"))
	f.Add("b", []byte("--b\r\nContent-Disposition: form-data; name=File; filename*=UTF-8''%E2%82%AC.exe\r\n\r\n"))
	f.Add("x", []byte("garbage"))
	servers := map[Flavor]*Server{}
	for _, fl := range Flavors {
		s, err := New(Config{Flavor: fl, Users: users, Dir: f.TempDir(), MaxRequestBytes: 1 << 20})
		if err != nil {
			f.Fatal(err)
		}
		servers[fl] = s
		f.Cleanup(func() { s.Close() })
	}
	f.Fuzz(func(t *testing.T, boundary string, body []byte) {
		for fl, s := range servers {
			target := "/UploadExe.wc"
			if fl == ISAPI {
				target = "/wc.wc?wwMaint~FileUpload"
			}
			req := httptest.NewRequest("POST", target, bytes.NewReader(body))
			req.Header.Set("Content-Type", "multipart/form-data; boundary=\""+boundary+"\"")
			req.SetBasicAuth("wcadmin", "s3cret")
			w := httptest.NewRecorder()
			s.ServeHTTP(w, req)
			if w.Code != 200 && w.Code != 500 {
				t.Fatalf("%s: status %d", fl, w.Code)
			}
		}
	})
}

func splitBoundary(ct string) (string, string, bool) {
	const key = "boundary="
	for i := 0; i+len(key) <= len(ct); i++ {
		if ct[i:i+len(key)] == key {
			return ct[:i], ct[i+len(key):], true
		}
	}
	return ct, "", false
}
