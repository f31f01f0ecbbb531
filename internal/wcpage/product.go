package wcpage

import (
	"bytes"
	"net/http"
	"strings"
)

// Product is the Web Connection server software that sent a reply, as far
// as the reply shows it.
type Product int

// The products a reply can be recognised as.
const (
	Unknown Product = iota
	// DotNet is the .NET module or the Web Server: their page template
	// (page-header-text), without a sign of which of the two.
	DotNet
	Module    // the IIS .NET module (webconnectionmodule.dll)
	WebServer // the Web Connection Web Server (.NET Core, Kestrel)
	ISAPI     // the legacy ISAPI wc.dll
)

// Flavor names of a profile (config.FlavorModule, …); a test checks that
// they match.
const (
	flavorModule    = "module"
	flavorWebServer = "webserver"
	flavorISAPI     = "isapi"
)

// String names the product for messages.
func (p Product) String() string {
	switch p {
	case DotNet:
		return "the Web Connection .NET module or Web Server"
	case Module:
		return "the Web Connection .NET module"
	case WebServer:
		return "the Web Connection Web Server"
	case ISAPI:
		return "the ISAPI wc.dll"
	}
	return "an unknown server"
}

// Flavor is the profile flavor that fits the product: module, webserver or
// isapi ("module" for DotNet, whose links are the module's), "" for Unknown.
func (p Product) Flavor() string {
	switch p {
	case DotNet, Module:
		return flavorModule
	case WebServer:
		return flavorWebServer
	case ISAPI:
		return flavorISAPI
	}
	return ""
}

// Body markers (wc-protocol.md §1.4, §1.5, §2.2, §3.1; transcripts 00, 01,
// 03), most specific first.
var productMarkers = []struct {
	text    string
	product Product
}{
	{"Web Connection Middleware Administration", WebServer}, // the Web Server's status page header
	{"(.NET Core Middleware)", WebServer},
	{"WebConnectionWebServerSettings.xml", WebServer}, // its 401 page's local hint
	{"Web Connection Handler Status Page", Module},    // the module's status page header
	{"(.NET Handler)", Module},
	{"Web Connection .NET Handler is working", Module},                 // ModuleTest.wc
	{"log in with a valid Windows account that is configured", Module}, // the module's 401 page
	{"(ISAPI Handler)", ISAPI},                                         // wc.dll's version text
	{"in the server <b>web.config</b>", Module},                        // the module's 401 local hint
}

// Identify says which product sent a reply: from the texts only one
// product writes (the status page, ModuleTest.wc, the 401 page), else from
// the headers of its stack (the Web Server's "Server: Kestrel", ASP.NET's
// X-AspNet-Version, which the module sends and wc.dll and the Web Server do
// not, wc.dll's fixed "Expires: Sunday 15-May-94 …"), else from the page
// skeleton (page-header-text for the .NET module or Web Server, wc.dll's
// class 'header'). h may be nil. A page of the FoxPro application itself
// says nothing in its body; only the headers tell then.
func Identify(h http.Header, body []byte) Product {
	if len(body) > MaxBytes {
		body = body[:MaxBytes]
	}
	for _, m := range productMarkers {
		if bytes.Contains(body, []byte(m.text)) {
			return m.product
		}
	}
	// The headers are the stack's, whoever wrote the page: a FoxPro page
	// (wc.dll's wwMaint upload) may use the module's template.
	if p := fromHeaders(h); p != Unknown {
		return p
	}
	return skeleton(body)
}

func fromHeaders(h http.Header) Product {
	if h == nil {
		return Unknown
	}
	switch {
	case strings.EqualFold(strings.TrimSpace(h.Get("Server")), "Kestrel"):
		return WebServer
	case h.Get("X-AspNet-Version") != "":
		return Module
	case strings.Contains(h.Get("Expires"), "15-May-94"):
		return ISAPI
	}
	return Unknown
}

// skeleton tells the two page templates apart: the module's and Web
// Server's <div class="page-header-text">, wc.dll's <div class='header'>.
func skeleton(body []byte) Product {
	d, err := Parse(body)
	if err != nil {
		return Unknown
	}
	if d.pageHeaderText {
		return DotNet
	}
	if d.isapiHeader {
		return ISAPI
	}
	return Unknown
}

// FlavorAdvice is what to tell the user when a reply comes from another
// product than the configured flavor (module, webserver or isapi) talks
// to, e.g. "this is the Web Connection .NET module, not the ISAPI wc.dll:
// use --flavor module (flavor: module in wcdeploy.yaml)". It is "" when the
// reply fits the flavor or does not show its product. The module and the Web
// Server share their links, so only a sure sign of the other one counts
// between them.
func FlavorAdvice(flavor string, h http.Header, body []byte) string {
	p := Identify(h, body)
	want := strings.ToLower(strings.TrimSpace(flavor))
	switch {
	case p == Unknown || p.Flavor() == want:
		return ""
	case p == DotNet && want == flavorWebServer:
		return ""
	}
	use := p.Flavor()
	also := ""
	if p == DotNet {
		also = " (webserver for the Web Server)"
	}
	other := ""
	if w := flavorProduct(want); w != Unknown {
		other = ", not " + w.String()
	}
	return "this is " + p.String() + other + ": use --flavor " + use + also + " (flavor: " + use + " in wcdeploy.yaml)"
}

// flavorProduct is the product a flavor name talks to.
func flavorProduct(flavor string) Product {
	switch flavor {
	case flavorModule:
		return Module
	case flavorWebServer:
		return WebServer
	case flavorISAPI:
		return ISAPI
	}
	return Unknown
}
