// Package wctest holds what the reply parsers' tests share: reading the
// captured replies of the real module (testdata/transcripts) and rendering
// the module's built-in page template.
package wctest

import (
	"bytes"
	"fmt"
	"os"
	"testing"
)

// Transcript returns the final status and body of a captured reply
// (transcripts format: '#' comment lines, then the HTTP reply). The
// captures replaced server paths with "<run>", so Content-Length no longer
// matches: the body is everything after the headers, less the newline the
// capture added.
func Transcript(t testing.TB, path string) (int, []byte) {
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

// ModulePage renders the module's built-in page template (wc-protocol.md §3.1).
func ModulePage(header, message string) string {
	return "<!DOCTYPE HTML>\r\n<html>\r\n<head>\r\n<title>" + header + "</title>\r\n<style>\r\n.page-header-text { font-size: 16pt; }\r\n</style>\r\n" +
		"<script src='//code.jquery.com/jquery-1.12.0.min.js'></script>\r\n</head>\r\n<body>\r\n\r\n<div class=\"container\">\r\n" +
		"            <div class=\"page-header-text\">\r\n                <i class=\"fa fa-gear\"></i>\r\n                " + header +
		"\r\n            </div>\r\n\r\n            <div>\r\n                " + message + "\r\n            </div>\r\n        </div>\r\n</div>\r\n\r\n</body>\r\n</html>"
}
