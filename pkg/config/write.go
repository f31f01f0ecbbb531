package config

import (
	"bytes"
	"fmt"
	"strings"
	"time"
)

// InitServer is one server for a new config file.
type InitServer struct {
	Name, URL, Flavor, UploadURL, UpdateURL string
}

// InitSpec is what `wcdeploy init` writes.
type InitSpec struct {
	Profile  string // profile name (written lower-case)
	Exe      string // as it should appear: relative to the file's folder, slash-separated
	DLL      string
	Username string
	Flavor   string // the profile's default flavor
	Servers  []InitServer
	// Header lines go into the comment at the top (e.g. where values came from).
	Header []string
	// Notes are comment lines written just above the servers list.
	Notes []string
}

// RenderInit writes a commented wcdeploy.yaml that shows every key with its
// default, so that the file documents itself.
func RenderInit(s InitSpec) ([]byte, error) {
	name := strings.ToLower(strings.TrimSpace(s.Profile))
	if name == "" {
		name = "prod"
	}
	flavor := s.Flavor
	if flavor == "" {
		flavor = FlavorModule
	}
	d := Defaults()
	var b bytes.Buffer
	w := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }

	w("# wcdeploy configuration. Every key is described in docs/configuration.md.")
	w("# Flags (--exe, --url, ...) override WCDEPLOY_* environment variables, which override this file.")
	w("# Passwords never go here: run 'wcdeploy login' or set WCDEPLOY_PASSWORD.")
	for _, h := range s.Header {
		w("# %s", h)
	}
	w("default_profile: %s", yamlQuote(name))
	w("profiles:")
	w("  %s:  # profile names are case-insensitive", yamlQuote(name))
	w("    exe: %s  # the server EXE, relative to this file's folder", yamlQuote(s.Exe))
	if s.DLL != "" {
		w("    dll: %s  # companion DLL (VFP 10 loader apps; module 7.15+)", yamlQuote(s.DLL))
	} else {
		w("    dll: ''  # companion DLL (VFP 10 loader apps; module 7.15+)")
	}
	w("    username: %s  # 'DOMAIN\\user' or 'user@domain' for Windows authentication", yamlQuote(s.Username))
	w("    auth: %s  # auto (from the server's challenge) | basic | ntlm | kerberos", d.Auth)
	w("    flavor: %s  # module (IIS .NET module) | webserver (Web Connection Web Server) | isapi (wc.dll)", yamlQuote(flavor))
	w("    ca_file: \"\"  # PEM file of CA certificates to trust for HTTPS")
	w("    insecure_skip_verify: false  # skip TLS certificate checks (testing only)")
	w("    allow_insecure_http: false  # allow credentials over plain http to a non-loopback host")
	w("    timeouts:")
	w("      connect: %s", dur(d.Timeouts.Connect))
	w("      response: %s", dur(d.Timeouts.Response))
	w("      swap: %s", dur(d.Timeouts.Swap))
	w("      status: %s", dur(d.Timeouts.Status))
	w("      keychain: %s", dur(d.Timeouts.Keychain))
	w("    retries: %d  # upload retries on transient failures", d.Retries)
	w("    rollout:")
	w("      parallel: %d  # servers uploaded to and swapped at once", d.Rollout.Parallel)
	w("      canary: %d  # servers swapped first, alone (0 = no canary)", d.Rollout.Canary)
	w("      max_failures: %d  # failures tolerated before swapping stops", d.Rollout.MaxFailures)
	w("      # health:  # checked after each swap; url is absolute or relative to the server URL")
	w("      #   - url: default.wc")
	w("      #     status: %d", DefaultHealthStatus)
	w("      #     contains: \"\"")
	w("      #     timeout: %s", dur(DefaultHealthTimeout))
	w("      #     retries: %d", DefaultHealthRetries)
	w("      #     interval: %s", dur(DefaultHealthInterval))
	w("    archive:")
	w("      keep: %d  # builds kept locally for 'wcdeploy rollback'", d.ArchiveKeep)
	for _, n := range s.Notes {
		w("    # %s", n)
	}
	if len(s.Servers) == 0 {
		w("    servers: []  # add: - {name: web1, url: \"https://web1.example.com/App/\"}")
	} else {
		w("    servers:  # a list: names keep their case; upload/update/status links are derived from url and flavor")
	}
	for _, sv := range s.Servers {
		w("      - name: %s", yamlQuote(sv.Name))
		w("        url: %s", yamlQuote(sv.URL))
		if sv.Flavor != "" && sv.Flavor != flavor {
			w("        flavor: %s", yamlQuote(sv.Flavor))
		}
		if sv.UploadURL != "" {
			w("        upload_url: %s", yamlQuote(sv.UploadURL))
		}
		if sv.UpdateURL != "" {
			w("        update_url: %s", yamlQuote(sv.UpdateURL))
		}
		w("        group: \"\"  # optional: select with --group")
	}
	return b.Bytes(), nil
}

// dur prints a duration the way people write it in YAML (60s, not 1m0s).
func dur(d time.Duration) string {
	if d%time.Second == 0 {
		return fmt.Sprintf("%ds", d/time.Second)
	}
	return d.String()
}
