package emulator

import (
	_ "embed"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"
)

// fallbackTemplate is the module's built-in page (no views\_AdminTemplate.html),
// byte for byte as the shipped 7.14/7.15 module writes it (§3.1).
//
//go:embed assets/fallback.html
var fallbackTemplate string

// bootstrapTemplate stands in for a generated project's
// views/_AdminTemplate.html (a Bootstrap page with {0} in title and banner).
//
//go:embed assets/bootstrap.html
var bootstrapTemplate string

// statusModuleTemplate is the message part of the module's status page
// (transcript 03) with {{…}} markers for what changes per server.
//
//go:embed assets/status_module.html
var statusModuleTemplate string

func loadTemplate(name string) (string, error) {
	switch name {
	case "", TemplateFallback:
		return fallbackTemplate, nil
	case TemplateBootstrap:
		return strings.ReplaceAll(bootstrapTemplate, "~/", "/"), nil
	}
	b, err := os.ReadFile(name)
	if err != nil {
		return "", fmt.Errorf("emulator: cannot read the page template %s: %w (use fallback, bootstrap or a readable file)", name, err)
	}
	// The module resolves ~/ to the application's base path (§3.1).
	return strings.ReplaceAll(string(b), "~/", "/"), nil
}

// render fills the template like String.Format(template, header, message, footer).
func (s *Server) render(header, message string) string {
	r := strings.NewReplacer("{0}", header, "{1}", message, "{2}", "")
	return r.Replace(s.tmpl)
}

// culture holds the .NET number and "G" date formats of one server culture.
type culture struct {
	thousands string
	date      func(time.Time) string
}

var cultures = map[string]culture{
	"en-US": {",", func(t time.Time) string { return t.Format("1/2/2006 3:04:05 PM") }},
	"de-DE": {".", func(t time.Time) string { return t.Format("02.01.2006 15:04:05") }},
}

// n0 formats n like n.ToString("n0") in the server culture.
func (s *Server) n0(n int64) string {
	sep := cultures[s.cfg.Culture].thousands
	neg := n < 0
	if neg {
		n = -n
	}
	d := strconv.FormatInt(n, 10)
	var b strings.Builder
	for i, c := range d {
		if i > 0 && (len(d)-i)%3 == 0 {
			b.WriteString(sep)
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// dateG formats t in local time like DateTime.ToString() ("G").
func (s *Server) dateG(t time.Time) string {
	if t.IsZero() {
		return "n/a"
	}
	return cultures[s.cfg.Culture].date(t.Local())
}

func (s *Server) isModule() bool { return s.cfg.Flavor == Module714 || s.cfg.Flavor == Module715 }

// setHeaders writes the headers the flavor's stack sends with a page:
// IIS + ASP.NET for the module and ISAPI, Kestrel for the Web Server.
func (s *Server) setHeaders(h http.Header, expires bool) {
	switch s.cfg.Flavor {
	case WebServer726:
		h.Set("Content-Type", "text/html")
		h.Set("Server", "Kestrel")
		if expires {
			h.Set("Expires", "0")
		}
	case ISAPI:
		h.Set("Content-Type", "text/html")
		h.Set("Server", "Microsoft-IIS/10.0")
		h.Set("Expires", "Sunday 15-May-94 14:00:01 GMT")
		h.Set("X-Powered-By", "ASP.NET")
	default:
		h.Set("Content-Type", "text/html; charset=utf-8")
		h.Set("Server", "Microsoft-IIS/10.0")
		h.Set("X-AspNet-Version", "4.0.30319")
		h.Set("X-Powered-By", "ASP.NET")
		h.Set("Cache-Control", "private")
		if expires {
			h.Set("Expires", time.Now().UTC().Format(http.TimeFormat))
		}
	}
}

// writeRaw sends body with status and the flavor's headers.
func (s *Server) writeRaw(w http.ResponseWriter, status int, body string, expires bool) {
	s.setHeaders(w.Header(), expires)
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write([]byte(body))
}

// writePage is StandardPage/ErrorResponse: the template with header and message.
func (s *Server) writePage(w http.ResponseWriter, status int, header, message string) {
	s.writeRaw(w, status, s.render(header, message), true)
}

// Page texts (§3).
const (
	hdrUnauthorized  = "Unauthorized Operation"
	msgUnauthModule  = "<p>Administration Page access requires that you log in with a valid Windows account that is configured for this application.</p>"
	msgUnauthLocal   = "<div class='alert alert-warning'><p>Make sure that <b>Windows Authentication</b> is enabled on your IIS Web Site or Virtual Directory for this application.</p><p>Check your <b>AdminAccount</b> setting in the server <b>web.config</b> file and make sure you set it to <b>ANY</b> or a valid Windows username(s) in the comma delimited list of valid accounts.</p><p>Finally, if you are on the local machine and can't log in with your Windows credentials, it may be because <a href='https://webconnection.west-wind.com/docs/_4gi0ql5jb.htm'>Loopback Protection is enabled</a> on the machine. This Windows policy setting disables local logins through Windows Authentication and it can be disabled via Powershell command or Registry setting.</p><p style='margin-top: 1em' class='text-danger'><small><i>you only see this message on a local login. Remote access sees only the error message above.</i></small></p></div>"
	msgUnauthWebSrv  = "<p>Administration Page access requires that you log in and provide valid credentials that match the configured access.</p>"
	msgUnauthWebLoc  = "<div class='alert alert-warning'><p>Make sure that <b>Windows Authentication</b> is enabled for this application.</p><p>Check your <b>AdminAccount</b> setting in <b>WebConnectionWebServerSettings.xml</b> and make sure you set it to <b>ANY</b>, <b>NONE</b> or a valid Windows username(s) in the comma delimited list of valid accounts.</p><p style='margin-top: 1em' class='text-danger'><small><i>you only see this message on a local login. Remote access sees only the error message above.</i></small></p></div>"
	msgModuleTest    = "<h2>Web Connection .NET Handler is working and responding!</h2><hr/>This means IIS is connecting and communicating with the Web Connection .NET handler so scriptmapping and security are configured properly. If your Web Connection server is not responding there are likely configuration issues in the COM or File mode configuration settings."
	hdrHold          = "Please wait..."
	msgHold          = "We're running maintenance requests at the moment and all requests are on hold. Please check back in a minute."
	hdrError         = "An Error occurred"
	msgUnknownPrefix = "Unknown application error<p>"
	hdrNoInstance    = "Unable to retrieve a server instance"
	msgNoInstance    = "We were unable to retrieve a server instance from the server pool.<p>"
	hdrInvalidMaint  = "Invalid Maintenance Request"
	msgInvalidMaint  = "The request you made is not a valid maintenance request. Please check the URL."

	hdrUploaded      = "File has been uploaded"
	hdrMissingFile   = "Missing File"
	hdrNoFiles       = "No files sent"
	msgNoFile        = "It appears that there was no file uploaded."
	hdrNoExe         = "Can't find Exe file"
	msgNoExe         = "Make sure you are uploading a Web Connection executable as the first file uploaded."
	hdrUnableSave    = "Unable to save Update Exe file"
	msgUnableSave    = "The save operation  failed: "
	hdrInvalidUpload = "Invalid File Upload"
	msgInvalidUpload = "Server update upload failed to pick up a valid file"

	hdrSwapped    = "Exe File Updated"
	hdrSwapFailed = "Unable to copy Update Exe file"
	hdrStatus     = "Web Connection Handler Status Page"
	hdrStatusWeb  = "Web Connection Middleware Administration"
)

// uploadedMessage is the upload success message (§3.2).
func (s *Server) uploadedMessage(size int64) string {
	return "<h3>File Uploaded:</h3> \r\n<p>\r\n    " + s.updatePath + " (" + s.n0(size) + " bytes)\r\n</p>\r\n<hr/>\r\n<p>\r\n" +
		"    <a href='UpdateExe.wc' class='btn btn-primary'>Swap Servers</a>\r\n" +
		"    <a href='ModuleAdministration.wc' class='btn btn-default'>Handler Admin Page</a>\r\n</p>"
}

// iisPage is IIS's own error page (custom error, as remote clients see it).
func iisPage(title, h3 string) string {
	return `<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Strict//EN" "http://www.w3.org/TR/xhtml1/DTD/xhtml1-strict.dtd">` + "\r\n" +
		`<html xmlns="http://www.w3.org/1999/xhtml">` + "\r\n<head>\r\n" +
		`<meta http-equiv="Content-Type" content="text/html; charset=iso-8859-1"/>` + "\r\n" +
		"<title>" + title + "</title>\r\n" +
		`<style type="text/css">` + "\r\n<!--\r\nbody{margin:0;font-size:.7em;font-family:Verdana, Arial, Helvetica, sans-serif;background:#EEEEEE;}\r\n" +
		"fieldset{padding:0 15px 10px 15px;} \r\nh1{font-size:2.4em;margin:0;color:#FFF;}\r\nh2{font-size:1.7em;margin:0;color:#CC0000;} \r\n" +
		"h3{font-size:1.2em;margin:10px 0 0 0;color:#000000;} \r\n#header{width:96%;margin:0 0 0 0;padding:6px 2% 6px 2%;font-family:\"trebuchet MS\", Verdana, sans-serif;color:#FFF;\r\nbackground-color:#555555;}\r\n" +
		"#content{margin:0 0 0 2%;position:relative;}\r\n.content-container{background:#FFF;width:96%;margin-top:8px;padding:10px;position:relative;}\r\n-->\r\n</style>\r\n</head>\r\n" +
		"<body>\r\n<div id=\"header\"><h1>Server Error</h1></div>\r\n<div id=\"content\">\r\n <div class=\"content-container\"><fieldset>\r\n" +
		"  <h2>" + title + "</h2>\r\n  <h3>" + h3 + "</h3>\r\n </fieldset></div>\r\n</div>\r\n</body>\r\n</html>\r\n"
}

var (
	iis401Page = iisPage("401 - Unauthorized: Access is denied due to invalid credentials.",
		"You do not have permission to view this directory or page using the credentials that you supplied.")
	iis40413Page = iisPage("404.13 - Content Length Too Large: The request filtering module is configured to deny a request that exceeds the request content length.",
		"Verify the configuration/system.webServer/security/requestFiltering/requestLimits@maxAllowedContentLength setting in the applicationhost.config or web.config file.")
)

// isapiPage is the ISAPI wc.dll page skeleton (§1.5, from its strings).
func isapiPage(header, message string) string {
	return "<html>\r\n<head>\r\n<title>" + header + "</title>\r\n" +
		"<style>body { font-family: verdana, arial; font-size: 10pt; margin: 0; } .header { background: #535353; color: cornsilk; font-size: 16pt; font-weight: bold; padding: 8px; } td { padding: 4px 8px; border-bottom: 1px solid silver; }</style>\r\n" +
		"</head>\r\n<body>\r\n<div class='header'>" + header + "</div><div style='padding:20px;'>" + message + "</div>\r\n</body>\r\n</html>\r\n"
}

// normalPage is what the emulated FoxPro application answers to a
// non-admin request; it shows the running version so it can serve as a
// health check.
func (s *Server) normalPage(path, version string) string {
	app := strings.TrimSuffix(s.cfg.ExeName, ".exe")
	app = strings.TrimSuffix(app, ".EXE")
	return "<!DOCTYPE html>\r\n<html>\r\n<head>\r\n<title>" + app + " - Web Connection</title>\r\n</head>\r\n<body>\r\n" +
		"<h1>" + app + "</h1>\r\n<p>Hello from the Web Connection server.</p>\r\n" +
		"<p>Server version: <span id=\"server-version\">" + version + "</span></p>\r\n" +
		"<p>Page: " + htmlEscape(path) + "</p>\r\n" +
		"<p>Time: " + s.dateG(time.Now()) + "</p>\r\n</body>\r\n</html>\r\n"
}

func htmlEscape(v string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", "'", "&#39;", `"`, "&quot;").Replace(v)
}
