package config

import (
	"strings"
	"time"

	"github.com/spf13/pflag"
)

// EnvPrefix starts every environment variable wcdeploy reads.
const EnvPrefix = "WCDEPLOY_"

type kind int

const (
	kString kind = iota
	kPath        // text, resolved against the config file's folder (file) or the current folder (flag, env)
	kInt
	kBool
	kDuration
)

// binding ties one profile key to its flag and environment variable. Every
// scalar field of Profile has exactly one binding; bindings_test.go checks it.
type binding struct {
	key   string // the key inside a profile, dotted for nested mappings
	flag  string // the flag name; the env var is derived from it
	kind  kind
	usage string
	field func(*Profile) any // pointer to the field
	// check returns "" when the value is fine, else what is wrong with it.
	check func(v any) string
	// parse, for text, turns the value into its one spelling (flavor
	// module-7.15 is module) or says what is wrong with it.
	parse func(string) (string, error)
}

// Env is the environment variable of the binding: WCDEPLOY_ and the flag
// name in upper case with '-' as '_'.
func (b binding) env() string { return envName(b.flag) }

func envName(flag string) string {
	return EnvPrefix + strings.ToUpper(strings.ReplaceAll(flag, "-", "_"))
}

func oneOf(allowed ...string) func(any) string {
	return func(v any) string {
		s := v.(string)
		for _, a := range allowed {
			if s == a {
				return ""
			}
		}
		return "must be one of " + strings.Join(allowed, ", ") + ", not " + quote(s)
	}
}

func atLeast(n int) func(any) string {
	return func(v any) string {
		if v.(int) < n {
			if n == 0 {
				return "must not be negative, got " + itoa(v.(int))
			}
			return "must be at least " + itoa(n) + ", got " + itoa(v.(int))
		}
		return ""
	}
}

func positiveDuration(v any) string {
	if d := v.(time.Duration); d <= 0 {
		return "must be a positive duration such as 30s or 2m, got " + d.String()
	}
	return ""
}

func nonNegativeDuration(v any) string {
	if d := v.(time.Duration); d < 0 {
		return "must not be negative, got " + d.String()
	}
	return ""
}

var bindings = []binding{
	{key: "exe", flag: "exe", kind: kPath, usage: "the server EXE to deploy (e.g. build/App.exe)",
		field: func(p *Profile) any { return &p.Exe }},
	{key: "dll", flag: "dll", kind: kPath, usage: "companion DLL uploaded with the EXE (VFP 10 loader apps; module 7.15+)",
		field: func(p *Profile) any { return &p.DLL }},
	{key: "username", flag: "user", kind: kString, usage: "user name for the admin links ('DOMAIN\\user' or 'user@domain' for Windows auth)",
		field: func(p *Profile) any { return &p.Username }},
	{key: "auth", flag: "auth", kind: kString, usage: "authentication: auto (from the server's challenge), basic, ntlm or kerberos",
		field: func(p *Profile) any { return &p.Auth }, check: oneOf(AuthAuto, AuthBasic, AuthNTLM, AuthKerberos)},
	{key: "kerberos.keytab", flag: "kerberos-keytab", kind: kPath, usage: "client keytab for Kerberos (default KRB5_CLIENT_KTNAME)",
		field: func(p *Profile) any { return &p.KerberosKeytab }},
	{key: "kerberos.config", flag: "kerberos-config", kind: kPath, usage: "krb5.conf for Kerberos (default KRB5_CONFIG, then the OS default)",
		field: func(p *Profile) any { return &p.KerberosConfig }},
	{key: "flavor", flag: "flavor", kind: kString, usage: "server flavor: module (IIS .NET module), webserver (Web Connection Web Server) or isapi (wc.dll)",
		field: func(p *Profile) any { return &p.Flavor }, parse: ParseFlavor},
	{key: "ca_file", flag: "ca-file", kind: kPath, usage: "PEM file of CA certificates to trust for HTTPS",
		field: func(p *Profile) any { return &p.CAFile }},
	{key: "insecure_skip_verify", flag: "insecure-skip-verify", kind: kBool, usage: "do not verify the server's TLS certificate (testing only)",
		field: func(p *Profile) any { return &p.InsecureSkipVerify }},
	{key: "allow_insecure_http", flag: "allow-insecure-http", kind: kBool, usage: "allow credentials over plain http to a non-loopback host",
		field: func(p *Profile) any { return &p.AllowInsecureHTTP }},
	{key: "timeouts.connect", flag: "connect-timeout", kind: kDuration, usage: "time to open a connection (TCP and TLS)",
		field: func(p *Profile) any { return &p.Timeouts.Connect }, check: positiveDuration},
	{key: "timeouts.response", flag: "response-timeout", kind: kDuration, usage: "time to wait for a reply's headers once a request is sent",
		field: func(p *Profile) any { return &p.Timeouts.Response }, check: positiveDuration},
	{key: "timeouts.swap", flag: "swap-timeout", kind: kDuration, usage: "time the swap request may take (it holds requests, waits 3 s and copies the EXE)",
		field: func(p *Profile) any { return &p.Timeouts.Swap }, check: positiveDuration},
	{key: "timeouts.status", flag: "status-timeout", kind: kDuration, usage: "time a status page request may take",
		field: func(p *Profile) any { return &p.Timeouts.Status }, check: positiveDuration},
	{key: "timeouts.keychain", flag: "keychain-timeout", kind: kDuration, usage: "time an OS keychain call may take",
		field: func(p *Profile) any { return &p.Timeouts.Keychain }, check: positiveDuration},
	{key: "retries", flag: "retries", kind: kInt, usage: "upload retries on transient failures",
		field: func(p *Profile) any { return &p.Retries }, check: atLeast(0)},
	{key: "rollout.parallel", flag: "parallel", kind: kInt, usage: "servers uploaded to (and swapped) at once",
		field: func(p *Profile) any { return &p.Rollout.Parallel }, check: atLeast(1)},
	{key: "rollout.canary", flag: "canary", kind: kInt, usage: "servers swapped first, alone (0 = no canary)",
		field: func(p *Profile) any { return &p.Rollout.Canary }, check: atLeast(0)},
	{key: "rollout.max_failures", flag: "max-failures", kind: kInt, usage: "failed servers tolerated before swapping stops",
		field: func(p *Profile) any { return &p.Rollout.MaxFailures }, check: atLeast(0)},
	{key: "rollout.upload_parallel", flag: "upload-parallel", kind: kInt, usage: "servers uploaded to at once (0 = parallel), so swapping one at a time need not upload one at a time",
		field: func(p *Profile) any { return &p.Rollout.UploadParallel }, check: atLeast(0)},
	{key: "rollout.drain_delay", flag: "drain-delay", kind: kDuration, usage: "wait after a server's before_swap hook, so a load balancer can finish its requests in flight",
		field: func(p *Profile) any { return &p.Rollout.DrainDelay }, check: nonNegativeDuration},
	{key: "rollout.skip_same_version", flag: "skip-same-version", kind: kBool, usage: "leave alone a server that shows the build's version although this machine never deployed this build there (FoxPro builds often keep their version)",
		field: func(p *Profile) any { return &p.Rollout.SkipSameVersion }},
	{key: "archive.keep", flag: "archive-keep", kind: kInt, usage: "builds kept in the local archive for rollback (0 = keep none)",
		field: func(p *Profile) any { return &p.ArchiveKeep }, check: atLeast(0)},
}

// Flags that are not profile keys: they build or select servers.
const (
	flagURL       = "url"
	flagUploadURL = "upload-url"
	flagUpdateURL = "update-url"
	flagStatusURL = "status-url"
	flagServer    = "server"
	flagGroup     = "group"
	flagHealthURL = "health-url"
)

// AddFlags defines every profile-level flag on fs, plus the flags that build
// or select servers. Flags are typed for help and parsing, but carry no
// defaults of their own: an unset flag never hides the environment or file.
func AddFlags(fs *pflag.FlagSet) {
	for _, b := range bindings {
		usage := b.usage + " (env " + b.env() + ")"
		switch b.kind {
		case kString, kPath:
			fs.String(b.flag, "", usage)
		case kInt:
			fs.Int(b.flag, 0, usage)
		case kBool:
			fs.Bool(b.flag, false, usage)
		case kDuration:
			fs.Duration(b.flag, 0, usage)
		}
	}
	fs.String(flagURL, "", "deploy to this one server (the application's base URL, e.g. https://host/App/) instead of the profile's servers (env "+envName(flagURL)+")")
	fs.String(flagUploadURL, "", "explicit upload link, when it is not derived from the URL and flavor; one server only (env "+envName(flagUploadURL)+")")
	fs.String(flagUpdateURL, "", "explicit swap (update) link; one server only (env "+envName(flagUpdateURL)+")")
	fs.String(flagStatusURL, "", "explicit status page link; one server only (env "+envName(flagStatusURL)+")")
	fs.StringSlice(flagServer, nil, "deploy only to this server (repeatable, or comma-separated; env "+envName(flagServer)+")")
	fs.StringSlice(flagGroup, nil, "deploy only to servers of this group (repeatable; env "+envName(flagGroup)+")")
	fs.StringSlice(flagHealthURL, nil, "health check URL after the swap, absolute or relative to the server URL; replaces the profile's checks (repeatable; env "+envName(flagHealthURL)+")")
}
