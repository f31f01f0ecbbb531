package hooks

import (
	"maps"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/wcdeploy/wcdeploy/internal/rollout"
	"github.com/wcdeploy/wcdeploy/pkg/config"
)

// The variables a hook is given.
const (
	EnvServer        = config.EnvPrefix + "SERVER"
	EnvServerURL     = config.EnvPrefix + "SERVER_URL"
	EnvServerHost    = config.EnvPrefix + "SERVER_HOST"
	EnvGroup         = config.EnvPrefix + "GROUP"
	EnvProfile       = config.EnvPrefix + "PROFILE"
	EnvRunID         = config.EnvPrefix + "RUN_ID"
	EnvPhase         = config.EnvPrefix + "PHASE"
	EnvBatch         = config.EnvPrefix + "BATCH"
	EnvVersion       = config.EnvPrefix + "VERSION"
	EnvVersionBefore = config.EnvPrefix + "VERSION_BEFORE"
	EnvOutcome       = config.EnvPrefix + "OUTCOME"
	EnvVersionAfter  = config.EnvPrefix + "VERSION_AFTER"
	EnvExitCode      = config.EnvPrefix + "EXIT_CODE"
	// EnvVarPrefix starts each of a server's vars: WCDEPLOY_VAR_LB_SERVER.
	EnvVarPrefix = config.EnvPrefix + "VAR_"
)

// ours are the names the runner sets; inherited values of them are dropped,
// so a hook never sees another server's or another run's.
var ours = []string{EnvServer, EnvServerURL, EnvServerHost, EnvGroup, EnvProfile, EnvRunID, EnvPhase,
	EnvBatch, EnvVersion, EnvVersionBefore, EnvOutcome, EnvVersionAfter, EnvExitCode}

// secretWords in a variable's name (in upper case) make it a secret that
// no hook sees, unless rollout.hooks.pass_env names it.
var secretWords = []string{"PASSWORD", "PASSWD", "PASSPHRASE", "SECRET", "TOKEN", "CREDENTIAL",
	"APIKEY", "API_KEY", "PRIVATE_KEY", "ACCESS_KEY"}

// secretSuffixes end the names of secrets too (DB_PWD, SMTP_PASS, GPG_KEY).
var secretSuffixes = []string{"_PWD", "_PASS", "_KEY"}

// minSecretLen is the shortest value looked for in other variables and in
// output: a shorter one would match everywhere.
const minSecretLen = 4

// IsSecretName reports a variable whose name says it holds a secret.
// WCDEPLOY_PASSWORD and WCDEPLOY_PASSWORD_FILE are among them.
func IsSecretName(name string) bool {
	n := strings.ToUpper(name)
	for _, w := range secretWords {
		if strings.Contains(n, w) {
			return true
		}
	}
	for _, s := range secretSuffixes {
		if strings.HasSuffix(n, s) && len(n) > len(s) {
			return true
		}
	}
	return false
}

// env builds a hook's environment: the inherited one without secrets and
// without stale WCDEPLOY_* hook variables, plus this call's.
func (r *Runner) env(c rollout.HookCall) []string {
	base := r.run.Environ
	if base == nil {
		base = os.Environ()
	}
	pass := map[string]bool{}
	for _, n := range r.hooks.PassEnv {
		pass[strings.ToUpper(n)] = true
	}
	var out []string
	for _, kv := range base {
		name, value := splitEnv(kv)
		upper := strings.ToUpper(name)
		switch {
		case name == "":
			// Windows' per-drive folders (=C:=C:\work): not a variable.
		case strings.HasPrefix(upper, config.EnvPrefix+"PASSWORD"):
			continue
		case IsSecretName(name) && !pass[upper]:
			continue
		case containsSecret(value, r.secrets()):
			continue
		case isOurs(upper):
			continue
		}
		out = append(out, kv)
	}
	return append(out, r.callVars(c)...)
}

// callVars are the WCDEPLOY_* variables of one call.
func (r *Runner) callVars(c rollout.HookCall) []string {
	set := func(name, value string) string { return name + "=" + value }
	out := []string{
		set(EnvPhase, c.Point),
		set(EnvProfile, r.profile),
		set(EnvRunID, r.run.RunID),
		set(EnvVersion, r.run.Version),
		set(EnvVersionBefore, c.VersionBefore),
	}
	if t := c.Target; t != nil {
		host := ""
		if u, err := url.Parse(t.URL); err == nil {
			host = u.Hostname()
		}
		out = append(out, set(EnvServer, t.Name), set(EnvServerURL, rollout.RedactURL(t.URL)),
			set(EnvServerHost, host), set(EnvGroup, t.Group), set(EnvBatch, strconv.Itoa(c.Batch)))
		vars := r.vars[t.Name]
		for _, k := range slices.Sorted(maps.Keys(vars)) {
			out = append(out, set(EnvVarPrefix+strings.ToUpper(k), vars[k]))
		}
	}
	if c.Point == rollout.HookAfterSwap || c.Point == rollout.HookAfterRollout {
		out = append(out, set(EnvOutcome, c.Outcome), set(EnvVersionAfter, c.VersionAfter),
			set(EnvExitCode, strconv.Itoa(c.ExitCode)))
	}
	return out
}

// splitEnv splits NAME=value; Windows' "=C:=C:\x" entries have no name.
func splitEnv(kv string) (string, string) {
	i := strings.IndexByte(kv, '=')
	if i <= 0 {
		return "", kv
	}
	return kv[:i], kv[i+1:]
}

func isOurs(upper string) bool {
	if strings.HasPrefix(upper, EnvVarPrefix) {
		return true
	}
	for _, n := range ours {
		if upper == n {
			return true
		}
	}
	return false
}

func containsSecret(s string, secrets []string) bool {
	for _, v := range secrets {
		if len(v) >= minSecretLen && strings.Contains(s, v) {
			return true
		}
	}
	return false
}

// redact hides every secret in s.
func redact(s string, secrets []string) string {
	for _, v := range secrets {
		if len(v) >= minSecretLen {
			s = strings.ReplaceAll(s, v, "***")
		}
	}
	return s
}
