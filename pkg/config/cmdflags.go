package config

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/pflag"
)

// Which profile flags each command takes. AddFlags defines them all;
// a command shows and accepts only those that change what it does, so
// 'wcdeploy status --help' does not list --canary. The WCDEPLOY_*
// environment is read by every command all the same.
var (
	// SelectFlags pick the servers of the profile, or name one.
	SelectFlags = []string{"url", "server", "group"}
	// ConnectFlags are what opening a server's status page needs.
	ConnectFlags = []string{"user", "auth", "flavor", "status-url", "ca-file", "insecure-skip-verify",
		"allow-insecure-http", "connect-timeout", "response-timeout", "status-timeout", "keychain-timeout",
		"kerberos-keytab", "kerberos-config"}
	// KeychainFlags are what finding a keychain entry needs.
	KeychainFlags = []string{"user", "keychain-timeout"}
	// RolloutFlags shape a deploy beyond what the connection needs.
	RolloutFlags = []string{"upload-url", "update-url", "swap-timeout", "retries", "parallel", "canary",
		"max-failures", "archive-keep", "health-url", "upload-parallel", "drain-delay", "skip-same-version"}
	// BuildFlags name the local files deployed.
	BuildFlags = []string{"exe", "dll"}
)

// ServerVerb says what command cmd ("auth status") does with the servers
// it selects, or "" for one not listed.
func ServerVerb(cmd string) string { return serverVerbs[cmd] }

// serverVerbs say, per command, what it does with the servers it selects:
// the wording of the server-selecting flags (config's own is a deploy's) and
// of the error when there is none.
var serverVerbs = map[string]string{
	"deploy": "deploy to", "rollback": "roll back", "status": "check", "doctor": "check",
	"login": "log in to", "logout": "log out of", "auth status": "show", "swap": "swap on",
}

// exeUse says what a command other than deploy does with --exe.
var exeUse = map[string]string{
	"status": "whose version is shown beside the servers'",
	"doctor": "to check as deploy reads it",
}

// AddCommandFlags adds the named profile flags of AddFlags to fs, with
// the defaults a run would use shown in the help, and the server-selecting
// flags worded for cmd. Each name must be one config defines.
func AddCommandFlags(cmd string, fs *pflag.FlagSet, groups ...[]string) {
	all := pflag.NewFlagSet("config", pflag.ContinueOnError)
	AddFlags(all)
	defaults := flagDefaults()
	for _, g := range groups {
		for _, name := range g {
			f := all.Lookup(name)
			if f == nil {
				panic(fmt.Sprintf("config defines no flag --%s", name))
			}
			if fs.Lookup(name) != nil {
				continue // in two groups
			}
			if d, ok := defaults[name]; ok {
				f.DefValue = d // shown in the help; the value stays unset
			}
			if verb, ok := serverVerbs[cmd]; ok && verb != "deploy to" {
				f.Usage = reword(f.Usage, verb)
			}
			if use, ok := exeUse[cmd]; ok && name == "exe" {
				f.Usage = strings.Replace(f.Usage, "the server EXE to deploy", "the local server EXE "+use, 1)
			}
			fs.AddFlag(f)
		}
	}
}

// reword turns config's "deploy to this one server" and "deploy only to"
// into what cmd does with the servers.
func reword(usage, verb string) string {
	for _, from := range []string{"deploy only to", "deploy to"} {
		if rest, ok := strings.CutPrefix(usage, from); ok {
			if strings.HasPrefix(rest, " this one") {
				return verb + rest
			}
			return verb + " only" + strings.TrimPrefix(rest, " only")
		}
	}
	return usage
}

// flagDefaults are the values config.Defaults gives the profile flags that
// have a non-zero default, as the help shows them.
func flagDefaults() map[string]string {
	d := Defaults()
	return map[string]string{
		"auth":             d.Auth,
		"flavor":           d.Flavor,
		"connect-timeout":  d.Timeouts.Connect.String(),
		"response-timeout": d.Timeouts.Response.String(),
		"swap-timeout":     d.Timeouts.Swap.String(),
		"status-timeout":   d.Timeouts.Status.String(),
		"keychain-timeout": d.Timeouts.Keychain.String(),
		"retries":          strconv.Itoa(d.Retries),
		"parallel":         strconv.Itoa(d.Rollout.Parallel),
		"canary":           strconv.Itoa(d.Rollout.Canary),
		"max-failures":     strconv.Itoa(d.Rollout.MaxFailures),
		"archive-keep":     strconv.Itoa(d.ArchiveKeep),
	}
}
