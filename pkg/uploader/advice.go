package uploader

import (
	"fmt"
	"strings"
)

// Default request size limits of a stock server (wc-protocol.md §4.5).
const (
	// DefaultRequestLimit is the request size IIS (maxAllowedContentLength)
	// and Kestrel (MaxRequestBodySize) accept unless the site raised it.
	DefaultRequestLimit = 30_000_000
	// DefaultASPNETRequestKB is ASP.NET's httpRuntime maxRequestLength, in
	// KB. Web Connection's generated web.config raises it to 10,000,000 KB.
	DefaultASPNETRequestKB = 4096
)

// Server kinds the advice tells apart. A flavor given with a version
// ("module-7.15", "webserver-7.26") counts as its kind.
const (
	kindModule    = "module"
	kindWebServer = "webserver"
	kindISAPI     = "isapi"
)

// kindOf is the server kind of a flavor; "" when it is not known.
func kindOf(flavor string) string {
	f := strings.ToLower(strings.TrimSpace(flavor))
	for _, k := range []string{kindModule, kindWebServer, kindISAPI} {
		if f == k || strings.HasPrefix(f, k+"-") {
			return k
		}
	}
	return ""
}

// RequestLimit is the request size limit to advise for an upload request of
// request bytes: the request plus a quarter, so the EXE can grow for a while
// before the setting needs another change, never below the stock
// 30,000,000-byte limit, rounded up to a whole MiB so the value in KB
// (maxRequestLength) is exactly the value in bytes divided by 1024.
func RequestLimit(request int64) int64 {
	const mib = 1 << 20
	n := max(request+request/4, DefaultRequestLimit)
	return (n + mib - 1) / mib * mib
}

// Setting is one server setting to raise, with its value in its own unit.
type Setting struct {
	// Name is the setting as the server's documentation names it.
	Name string `json:"name"`
	// File and Section say where it lives.
	File    string `json:"file"`
	Section string `json:"section"`
	Value   int64  `json:"value"`
	Unit    string `json:"unit"` // "bytes" or "KB"
	// IISHosted marks a setting that applies only when the Web Connection
	// Web Server runs inside IIS.
	IISHosted bool `json:"iis_hosted,omitempty"`
	// Line is the setting as written in File.
	Line string `json:"line"`
}

// Advice is what to raise on a server of one flavor so it takes an upload
// request of Request bytes. The one place that knows which settings each
// flavor has, and their units: doctor, the preflight probe, the upload's
// reply check and the reset-during-upload path all use it.
type Advice struct {
	Flavor   string    `json:"flavor"`
	Request  int64     `json:"request_bytes"`
	Limit    int64     `json:"limit_bytes"` // RequestLimit(Request)
	Settings []Setting `json:"settings"`
}

// LimitAdvice gives the advice for an upload request of request bytes to a
// server of flavor: the IIS .NET module has IIS request filtering
// (maxAllowedContentLength, bytes) and ASP.NET's httpRuntime
// (maxRequestLength, KB); the Web Connection Web Server has Kestrel's
// MaxRequestBodySize (bytes), plus IIS request filtering when it is hosted
// in IIS; the ISAPI wc.dll only IIS request filtering. An unknown flavor
// gets every setting.
func LimitAdvice(flavor string, request int64) Advice {
	limit := RequestLimit(request)
	iis := Setting{Name: "maxAllowedContentLength", File: "web.config", Section: "system.webServer/security/requestFiltering",
		Value: limit, Unit: "bytes", Line: fmt.Sprintf(`<requestLimits maxAllowedContentLength="%d" />`, limit)}
	aspnet := Setting{Name: "maxRequestLength", File: "web.config", Section: "system.web",
		Value: limit / 1024, Unit: "KB", Line: fmt.Sprintf(`<httpRuntime maxRequestLength="%d" />`, limit/1024)}
	kestrel := Setting{Name: "MaxRequestBodySize", File: "appsettings.json", Section: "Kestrel/Limits",
		Value: limit, Unit: "bytes", Line: fmt.Sprintf(`"Kestrel": { "Limits": { "MaxRequestBodySize": %d } }`, limit)}
	a := Advice{Flavor: flavor, Request: request, Limit: limit}
	switch kindOf(flavor) {
	case kindModule:
		a.Settings = []Setting{iis, aspnet}
	case kindWebServer:
		iis.IISHosted = true
		a.Settings = []Setting{kestrel, iis}
	case kindISAPI:
		a.Settings = []Setting{iis}
	default:
		a.Settings = []Setting{iis, aspnet, kestrel}
	}
	return a
}

// String is the advice as one sentence for an error message.
func (a Advice) String() string {
	var parts []string
	for _, s := range a.Settings {
		p := fmt.Sprintf("%s (%s, %s %s)", s.Line, s.Unit, s.File, s.Section)
		if s.Name == "MaxRequestBodySize" {
			p = fmt.Sprintf("Kestrel's MaxRequestBodySize to %d bytes (%s in %s)", s.Value, s.Line, s.File)
		}
		if s.IISHosted {
			p = "when the Web Server is hosted in IIS also " + p
		}
		parts = append(parts, p)
	}
	return "set " + strings.Join(parts, " and ")
}

// Config is the advice as the lines to put in each file, for doctor's
// fix and the troubleshooting page: one block per setting.
func (a Advice) Config() string {
	blocks := make([]string, 0, len(a.Settings))
	for _, s := range a.Settings {
		var b string
		switch {
		case s.File == "appsettings.json":
			b = "in the Web Server's appsettings.json (bytes):\n{\n  " + s.Line + "\n}"
		case s.IISHosted:
			b = "when it is hosted in IIS, also in its web.config (bytes):\n" + iisBlock(s.Line)
		case s.Name == "maxRequestLength":
			b = "in the application's web.config (KB):\n<configuration>\n  <system.web>\n    " + s.Line + "\n  </system.web>\n</configuration>"
		default:
			b = "in the application's web.config (bytes):\n" + iisBlock(s.Line)
		}
		blocks = append(blocks, b)
	}
	return strings.Join(blocks, "\n\n")
}

func iisBlock(line string) string {
	return "<configuration>\n  <system.webServer>\n    <security>\n      <requestFiltering>\n        " + line +
		"\n      </requestFiltering>\n    </security>\n  </system.webServer>\n</configuration>"
}
