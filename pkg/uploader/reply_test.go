package uploader

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wcdeploy/wcdeploy/internal/exitcode"
)

// The EXE in the captures had 1,670,144 bytes.
const capturedSize = 1670144

func TestCheckReplyTranscripts(t *testing.T) {
	tests := []struct {
		file string
		want string // error substring; "" = accepted
		code exitcode.Code
	}{
		{"module-7.14/11-uploadexe-ok.txt", "", 0},
		{"module-7.15/11-uploadexe-ok.txt", "", 0},
		{"module-7.14/10-uploadexe-lowercase-part.txt", "", 0},
		{"module-7.15/10-uploadexe-lowercase-part.txt", "", 0},
		{"module-7.15/08-uploadexe-wrong-part-name.txt", "", 0},
		{"module-7.15/21a-uploadexe-exe-and-dll.txt", "", 0},
		// 7.14 saves any file in the part named File (here an 11-byte
		// readme.txt); its size is not the EXE's.
		{"module-7.14/09-uploadexe-non-exe-filename.txt", "the server saved 11 bytes but the EXE has 1670144", exitcode.Upload},
		{"module-7.15/09-uploadexe-non-exe-filename.txt", "no .exe found in the upload", exitcode.Upload},
		{"module-7.14/05-uploadexe-get-no-body.txt", "found no file in the upload (500 Missing File", exitcode.Upload},
		{"module-7.15/05-uploadexe-get-no-body.txt", "found no file in the upload (500 No files sent", exitcode.Upload},
		{"module-7.14/06-uploadexe-no-file.txt", "found no file", exitcode.Upload},
		{"module-7.15/06-uploadexe-no-file.txt", "found no file", exitcode.Upload},
		{"module-7.14/07-uploadexe-file-without-filename.txt", "found no file", exitcode.Upload},
		{"module-7.15/07-uploadexe-file-without-filename.txt", "found no file", exitcode.Upload},
		{"module-7.14/08-uploadexe-wrong-part-name.txt", "found no file", exitcode.Upload},
		// Status 200 and "File has been uploaded", but the save failed.
		{"module-7.14/23-uploadexe-delete-fails.txt", "the server could not save the upload: The save operation failed: Access to the path", exitcode.Upload},
		{"module-7.15/23-uploadexe-delete-fails.txt", "the server could not save the upload", exitcode.Upload},
		{"module-7.14/01-updateexe-unauth.txt", "refused the credentials (401): Unauthorized Operation", exitcode.Auth},
		{"module-7.15/02-updateexe-bad-password.txt", "refused the credentials (401): 401 Authorization Required", exitcode.Auth},
		{"module-7.15/25-authenticated-non-admin.txt", "AdminAccount", exitcode.Auth},
		{"module-7.14/26-empty-adminaccount.txt", "(401)", exitcode.Auth},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			status, body := transcript(t, filepath.Join("testdata", tc.file))
			res, err := CheckReply(status, body, Sent{ExeSize: capturedSize})
			check(t, res, err, tc.want, tc.code)
			if err == nil && (res.Bytes != capturedSize || !strings.HasSuffix(res.UpdateFile, "/deploy/WcTestApp_Update.exe")) {
				t.Errorf("result %+v", res)
			}
		})
	}
}

func check(t *testing.T, res *Result, err error, want string, code exitcode.Code) {
	t.Helper()
	if want == "" {
		if err != nil {
			t.Fatalf("rejected: %v", err)
		}
		return
	}
	if err == nil {
		t.Fatalf("accepted %+v, want error %q", res, want)
	}
	if !strings.Contains(err.Error(), want) {
		t.Errorf("error %q\nwant it to contain %q", err, want)
	}
	if got := exitcode.Of(err); got != code {
		t.Errorf("exit code %v, want %v", got, code)
	}
}

func TestCheckReplySynthetic(t *testing.T) {
	const size = 31234567
	kestrel := modulePage("An Error occurred", "Request body too large. The max request body size is 30000000 bytes.")
	aspnet := modulePage("An Error occurred", "Unknown application error<p>Maximum request length exceeded.")
	login := `<html><head><title>Sign in</title></head><body><form action="/login"><input name="user"></form></body></html>`
	tests := []struct {
		name   string
		status int
		body   string
		size   int64
		want   string
		code   exitcode.Code
	}{
		{"en-US", 200, uploadedPage(size, ","), size, "", 0},
		{"de-DE", 200, uploadedPage(size, "."), size, "", 0},
		{"fr-FR nbsp", 200, uploadedPage(size, "\u00a0"), size, "", 0},
		{"fr-FR narrow nbsp", 200, uploadedPage(size, "\u202f"), size, "", 0},
		{"space", 200, uploadedPage(size, " "), size, "", 0},
		{"de-CH", 200, uploadedPage(size, "'"), size, "", 0},
		{"no separator", 200, uploadedPage(size, ""), size, "", 0},
		{"small", 200, uploadedPage(7, ","), 7, "", 0},
		{"wrong size", 200, uploadedPage(size-1, ","), size, "saved 31234566 bytes but the EXE has 31234567", exitcode.Upload},
		{"no byte count", 200, modulePage("File has been uploaded", "<h3>File Uploaded:</h3>"), size, "did not say how many bytes", exitcode.Upload},
		{"login page", 200, login, size, "the server answered 200 but not with the upload page (a login page or proxy?): Sign in", exitcode.Upload},
		{"empty 200", 200, "", size, "not with the upload page", exitcode.Upload},
		{"marker in title only", 200, "<title>File has been uploaded</title>", size, "did not say how many bytes", exitcode.Upload},
		{"404.13", 404, "<h3>HTTP Error 404.13 - Not Found</h3><p>The request filtering module is configured to deny a request that exceeds the request content length.</p>", 1000,
			`maxAllowedContentLength="30408704"`, exitcode.Upload},
		{"404 big body", 404, "<h1>Not Found</h1>", size, `maxAllowedContentLength="39845888" /> (bytes`, exitcode.Upload},
		{"404 small body", 404, "<h1>Not Found</h1>", 1000, "upload URL was not found (404)", exitcode.Upload},
		{"kestrel", 500, kestrel, size, `<httpRuntime maxRequestLength="38912" /> (KB`, exitcode.Upload},
		{"asp.net", 500, aspnet, size, "request size limit is below the EXE's size of 31234567 bytes (500)", exitcode.Upload},
		{"413", 413, "<html><body>413 Request Entity Too Large</body></html>", size, "maxAllowedContentLength", exitcode.Upload},
		{"UpdateFile empty", 500, modulePage("UpdateExe setting not set", "The UpdateExe setting in the configuration is not configured and the value is empty or missing."), size,
			"UpdateFile is not configured on the server: set UpdateFile in web.config", exitcode.Upload},
		{"web server no file", 500, modulePage("Invalid File Upload", "Server update upload failed to pick up a valid file"), size, "found no file in the upload", exitcode.Upload},
		{"web server error", 500, modulePage("An Error occurred", "Could not find a part of the path 'C:\\x\\y.exe'."), size, "the server failed while taking the upload (500): Could not find a part of the path", exitcode.Upload},
		{"503", 503, "Service Unavailable", size, "the server is unavailable (503): Service Unavailable", exitcode.Upload},
		{"403", 403, "<h1>Forbidden</h1>", size, "denied access (403)", exitcode.Auth},
		{"418", 418, "", size, "did not accept the upload (418)", exitcode.Upload},
		{"garbage", 500, "\x00\xff\xfe<<<>>>", size, "did not accept the upload (500)", exitcode.Upload},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, err := CheckReply(tc.status, []byte(tc.body), Sent{ExeSize: tc.size})
			check(t, res, err, tc.want, tc.code)
			if err == nil && (res.Bytes != tc.size || res.UpdateFile != `C:\WebApps\App\deploy\App_Update.exe`) {
				t.Errorf("result %+v", res)
			}
		})
	}
}

func TestCheckReplyNoSecrets(t *testing.T) {
	// Errors quote the server's page; they must not quote our request.
	_, err := CheckReply(401, []byte("<h1>nope</h1>"), Sent{ExeSize: 10})
	if err == nil || errors.Is(err, ErrChanged) {
		t.Fatal(err)
	}
}

func FuzzCheckReply(f *testing.F) {
	files, _ := filepath.Glob("testdata/module-*/*.txt")
	for _, file := range files {
		status, body := transcript(f, file)
		f.Add(status, body, int64(capturedSize))
	}
	f.Add(200, []byte(uploadedPage(1234567, ".")), int64(1234567))
	f.Add(404, []byte("HTTP Error 404.13"), int64(5))
	f.Fuzz(func(t *testing.T, status int, body []byte, size int64) {
		res, err := CheckReply(status, body, Sent{ExeSize: size})
		if err == nil {
			if status != 200 || res.Bytes != size || !strings.Contains(strings.ToLower(string(body)), "file has been uploaded") ||
				strings.Contains(strings.ToLower(string(body)), "unable to save") {
				t.Errorf("accepted status %d size %d: %+v", status, size, res)
			}
			return
		}
		if c := exitcode.Of(err); c != exitcode.Upload && c != exitcode.Auth {
			t.Errorf("exit code %v for %v", c, err)
		}
	})
}
