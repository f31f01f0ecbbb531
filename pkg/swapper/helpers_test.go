package swapper

import (
	"bytes"
	"fmt"
	"os"
	"testing"
)

// transcript returns the final status and body of a captured reply
// (shared/transcripts format: '#' comment lines, then the HTTP reply). The
// captures replaced server paths with "<run>", so Content-Length no longer
// matches: the body is everything after the headers, less the newline the
// capture added.
func transcript(t testing.TB, path string) (int, []byte) {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for bytes.HasPrefix(raw, []byte("#")) {
		raw = raw[bytes.IndexByte(raw, '\n')+1:]
	}
	for {
		var status int
		if _, err := fmt.Sscanf(string(raw), "HTTP/1.1 %d", &status); err != nil {
			t.Fatalf("%s: status line: %v", path, err)
		}
		end := bytes.Index(raw, []byte("\r\n\r\n"))
		if end < 0 {
			t.Fatalf("%s: no end of headers", path)
		}
		raw = raw[end+4:]
		if status >= 200 {
			if bytes.HasSuffix(raw, []byte("\n")) && !bytes.HasSuffix(raw, []byte("\r\n")) {
				raw = raw[:len(raw)-1]
			}
			return status, raw
		}
	}
}

// modulePage renders the module's built-in page template (wc-protocol.md §3.1).
func modulePage(header, message string) string {
	return "<!DOCTYPE HTML>\r\n<html>\r\n<head>\r\n<title>" + header + "</title>\r\n<style>\r\n.page-header-text { font-size: 16pt; }\r\n</style>\r\n" +
		"<script src='//code.jquery.com/jquery-1.12.0.min.js'></script>\r\n</head>\r\n<body>\r\n\r\n<div class=\"container\">\r\n" +
		"            <div class=\"page-header-text\">\r\n                <i class=\"fa fa-gear\"></i>\r\n                " + header +
		"\r\n            </div>\r\n\r\n            <div>\r\n                " + message + "\r\n            </div>\r\n        </div>\r\n</div>\r\n\r\n</body>\r\n</html>"
}

// swapPage is the success page of §3.3.
func swapPage(version, sizeKB string) string {
	return modulePage("Exe File Updated", "The Exe file has been updated on your server and the latest version is now running.<br/><br/>File Name: App.exe<br/>File Size: "+
		sizeKB+" kb<br/>File Version: "+version+"<br/>File Date: 11/23/2026 8:23:42 PM<hr/><p><a href='http://web1/admin/Administration.wc' class='btn btn-primary'>Back to Admin Page</a>")
}

// statusPage is a minimal status page with the rows of §5.
func statusPage(version string) string {
	return modulePage("Web Connection Handler Status Page", "<table class='table'>\r\n<tr><th colspan='2'>Versions and Configuration</td></tr>\r\n"+
		"<tr><td>Dll Version</td><td>7.15 (.NET Handler)</td></tr>\r\n"+
		"<tr><td>Exe Version</td><td>"+version+"&nbsp;&nbsp;&nbsp; 11/23/2026 8:23:42 PM</td></tr>\r\n"+
		"<tr><td>Exe File</td><td>C:\\WebApps\\App\\deploy\\App.exe</td></tr>\r\n"+
		"<tr><td>Update File</td><td>C:\\WebApps\\App\\deploy\\App_Update.exe</td></tr>\r\n</table>")
}

func mustRead(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
