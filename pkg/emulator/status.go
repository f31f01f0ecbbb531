package emulator

import (
	"encoding/json"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// statusValues fill the module status page's markers.
type statusValues struct {
	dllVersion, updated, hold, physPath, configFile, webServer, winVer, tempPath, progID string
	exeVersion, exeDate, exeFile, updateFile, fileInput                                  string
	adminAccount, authUser, authMode, serverAccount, timeout                             string
}

const (
	holdRunning = "<b> <i class='fas fa-check-circle text-success'></i> Servers running "
	holdOn      = "<b><i class='fas fa-times-circle text-danger' ></i> Servers on Hold</b> "
)

func (v statusValues) render() string {
	return strings.NewReplacer(
		"{{DLLVERSION}}", v.dllVersion, "{{UPDATED}}", v.updated, "{{HOLD}}", v.hold,
		"{{PHYSPATH}}", v.physPath, "{{CONFIGFILE}}", v.configFile, "{{WEBSERVER}}", v.webServer,
		"{{WINVER}}", v.winVer, "{{TEMPPATH}}", v.tempPath, "{{PROGID}}", v.progID,
		"{{EXEVERSION}}", v.exeVersion, "{{EXEDATE}}", v.exeDate, "{{EXEFILE}}", v.exeFile,
		"{{UPDATEFILE}}", v.updateFile, "{{FILEINPUT}}", v.fileInput, "{{ADMINACCOUNT}}", v.adminAccount,
		"{{AUTHUSER}}", v.authUser, "{{AUTHMODE}}", v.authMode, "{{SERVERACCOUNT}}", v.serverAccount,
		"{{TIMEOUT}}", v.timeout,
	).Replace(statusModuleTemplate)
}

func (s *Server) appName() string {
	return strings.TrimSuffix(s.cfg.ExeName, filepath.Ext(s.cfg.ExeName))
}

func (s *Server) statusValues(user, mode string) statusValues {
	version, mod := s.exeInfo()
	v := statusValues{
		dllVersion:    strings.TrimPrefix(string(s.cfg.Flavor), "module-"),
		updated:       time.Now().Format("Jan. 2, 2006 @ 15:04:05"),
		hold:          holdRunning,
		physPath:      filepath.Join(s.cfg.Dir, "web") + string(filepath.Separator),
		configFile:    filepath.Join(s.cfg.Dir, "web", "web.config"),
		webServer:     "Microsoft-IIS/10.0 &bull; w3wp &bull; 64bit",
		winVer:        "10.0.17763.0",
		tempPath:      s.cfg.Dir,
		progID:        s.appName() + "." + s.appName() + "Server",
		exeVersion:    version,
		exeDate:       s.dateG(mod),
		exeFile:       s.exePath,
		updateFile:    s.updatePath,
		adminAccount:  htmlEscape(s.cfg.AdminAccount),
		authUser:      htmlEscape(user),
		authMode:      mode,
		serverAccount: `IIS APPPOOL\` + s.appName(),
		timeout:       "90",
	}
	if s.hold.Load() {
		v.hold = holdOn
	}
	if s.cfg.Flavor != Module714 {
		v.fileInput = ` multiple="multiple" accept=".exe,.dll"`
	}
	return v
}

// statusPage is the admin status page (§1.4, §5).
func (s *Server) statusPage(w http.ResponseWriter, r *http.Request, user, mode string) {
	v := s.statusValues(user, mode)
	header, msg := hdrStatus, ""
	if s.cfg.Flavor != WebServer726 {
		msg = v.render()
	} else {
		header = hdrStatusWeb
		v.dllVersion = "7.26"
		msg = strings.NewReplacer("(.NET Handler)", "(.NET Core Middleware)", ".NET 4.0", ".NET 6.0",
			"Microsoft-IIS/10.0 &bull; w3wp", "Kestrel &bull; WebConnectionWebServer", "web.config", "WebConnectionWebServerSettings.xml").Replace(v.render())
	}
	s.writePage(w, http.StatusOK, header, msg)
}

// isapiStatus is an invented wc.dll status page that carries the same
// Exe Version / Exe File / Update File rows as the module's (assumption).
func (s *Server) isapiStatus(w http.ResponseWriter) {
	version, mod := s.exeInfo()
	hold := "Servers running"
	if s.hold.Load() {
		hold = "Servers on Hold"
	}
	rows := "<table>\r\n" +
		"<tr><td>Web Connection</td><td>Web Connection 7.12 (ISAPI Handler)</td></tr>\r\n" +
		"<tr><td>Hold Requests</td><td>" + hold + "</td></tr>\r\n" +
		"<tr><td>Exe Version</td><td>" + version + "&nbsp;&nbsp;&nbsp; " + s.dateG(mod) + "</td></tr>\r\n" +
		"<tr><td>Exe File</td><td>" + s.exePath + "</td></tr>\r\n" +
		"<tr><td>Update File</td><td>" + s.updatePath + "</td></tr>\r\n" +
		"<tr><td>Admin Account</td><td>" + htmlEscape(s.cfg.AdminAccount) + "</td></tr>\r\n" +
		"</table>"
	s.writeRaw(w, http.StatusOK, isapiPage("Web Connection Server Status", rows), true)
}

// statusJSON is the Web Server's ShowStatusJson.wc: paths, no version.
func (s *Server) statusJSON(w http.ResponseWriter) {
	doc := map[string]any{
		"Time": time.Now().Format("2006-01-02T15:04:05.0000000-07:00"),
		"Configuration": map[string]any{
			"MessagingMechanism":        "Com",
			"ServerCount":               2,
			"AutoStartServers":          true,
			"ComServerProgId":           s.appName() + "." + s.appName() + "Server",
			"TempPath":                  s.cfg.Dir,
			"TempFilePrefix":            "WC_",
			"ExeFile":                   s.exePath,
			"UpdateFile":                s.updatePath,
			"TimeoutSeconds":            90,
			"AdminAccount":              s.cfg.AdminAccount,
			"LiveReloadEnabled":         false,
			"LogDetail":                 false,
			"LiveReloadExtensions":      ".wc,.wcs,.html,.htm,.css,.js",
			"UseWebSockets":             false,
			"WebSocketProcessScriptMap": "",
			"HoldRequests":              s.hold.Load(),
		},
		"Servers": []any{},
	}
	b, _ := json.MarshalIndent(doc, "", "  ")
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Server", "Kestrel")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b)
}

// serverListFragment is ShowServerList.wc in COM mode with no servers.
func serverListFragment() string {
	return "<div style='margin: 0 0 30px;'>\n<table id='serverlisttable' class='table table-striped table-dark-headers table-bordered' style='width:100%;margin-bottom: 5px;'>\n" +
		"<tr><th>COM Server</th><th>Status</th><th>Hits</th><th>Time</th><th class='hidable'>Avg</th><th>Started</th><th class='hidable'>Memory</th><th>CPU</th><th></td></tr>\n" +
		"<tr><td colspan='9' style='color: darkred; font-weight: bold;'>No servers loaded...</td></tr>\n</table>\n" +
		"<div id='updated' class='small'><b style='color: darkgreen'>COM mode</b> &bull; Updated: " + time.Now().Format("Jan. 2, 2006 @ 15:04:05") + "</div>\n</div>\n"
}
