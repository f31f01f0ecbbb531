package swapper

import (
	"github.com/wcdeploy/wcdeploy/internal/wctest"
	"os"
	"testing"
)

// transcript returns the final status and body of a captured reply.
func transcript(t testing.TB, path string) (int, []byte) {
	t.Helper()
	return wctest.Transcript(t, path)
}

// modulePage renders the module's built-in page template.
func modulePage(header, message string) string { return wctest.ModulePage(header, message) }

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
