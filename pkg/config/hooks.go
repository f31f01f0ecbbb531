package config

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Hook is one user command: a command line for the platform's shell
// (sh -c, cmd /C), or an argument list run without a shell.
type Hook struct {
	Shell string   `json:"shell,omitempty"`
	Argv  []string `json:"argv,omitempty"`
}

// IsZero reports a hook point without a command.
func (h Hook) IsZero() bool { return h.Shell == "" && len(h.Argv) == 0 }

// String is the command as written, for reports.
func (h Hook) String() string {
	if h.Shell != "" {
		return h.Shell
	}
	parts := make([]string, len(h.Argv))
	for i, a := range h.Argv {
		parts[i] = a
		if a == "" || strings.ContainsAny(a, " \t\"'\\") {
			parts[i] = strconv.Quote(a)
		}
	}
	return strings.Join(parts, " ")
}

// Hooks are the commands of rollout.hooks.
type Hooks struct {
	BeforeRollout Hook
	BeforeSwap    Hook
	AfterSwap     Hook
	AfterRollout  Hook
	// Timeout bounds each hook; 0 (not set) means DefaultHookTimeout.
	Timeout time.Duration
	// PassEnv names variables that reach the hooks although their name
	// looks like a secret (a cloud CLI's credentials).
	PassEnv []string
}

// HookKeys are the hook points' keys under rollout.hooks, in the order a
// rollout meets them.
var HookKeys = []string{"before_rollout", "before_swap", "after_swap", "after_rollout"}

// Point returns the hook configured for one of HookKeys.
func (h *Hooks) Point(key string) *Hook {
	switch key {
	case "before_rollout":
		return &h.BeforeRollout
	case "before_swap":
		return &h.BeforeSwap
	case "after_swap":
		return &h.AfterSwap
	case "after_rollout":
		return &h.AfterRollout
	}
	return nil
}

// envNameRE is what a variable name may be everywhere: vars: keys and
// pass_env entries.
var envNameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// hooks reads rollout.hooks: each point a command line or a list, plus
// timeout and pass_env.
func (m *merger) hooks(raw any) (Hooks, error) {
	var h Hooks
	if raw == nil {
		return h, nil
	}
	key := m.fileKey("rollout.hooks")
	mm, ok := raw.(map[string]any)
	if !ok {
		return h, usageErr("%s: must be a mapping (before_swap: ./drain.sh), not %s", key, describe(raw))
	}
	known := append(append([]string{}, HookKeys...), "timeout", "pass_env")
	for _, k := range sortedKeys(mm) {
		v := mm[k]
		switch k {
		case "timeout":
			d, err := toDuration(v)
			if err == nil && d <= 0 {
				err = fmt.Errorf("must be a positive duration such as 60s, got %s", d)
			}
			if err != nil {
				return h, usageErr("%s.timeout: %s", key, err)
			}
			h.Timeout = d
		case "pass_env":
			names, err := stringList(v)
			if err != nil {
				return h, usageErr("%s.pass_env: %s", key, err)
			}
			for _, n := range names {
				if !envNameRE.MatchString(n) {
					return h, usageErr("%s.pass_env: %q is not a variable name (letters, digits, _)", key, n)
				}
				if strings.HasPrefix(strings.ToUpper(n), EnvPrefix+"PASSWORD") {
					return h, usageErr("%s.pass_env: %s never reaches a hook: the deploy password stays with wcdeploy", key, n)
				}
			}
			h.PassEnv = names
		default:
			p := h.Point(k)
			if p == nil {
				return h, usageErr("%s: unknown key %q; known keys here: %s", key, k, strings.Join(known, ", "))
			}
			hk, err := parseHook(v)
			if err != nil {
				return h, usageErr("%s.%s: %s", key, k, err)
			}
			*p = hk
		}
	}
	return h, nil
}

// parseHook takes a command line (text) or an argument list.
func parseHook(v any) (Hook, error) {
	switch x := v.(type) {
	case nil:
		return Hook{}, nil
	case string:
		return Hook{Shell: strings.TrimSpace(x)}, nil
	case []any:
		argv, err := stringList(x)
		if err != nil {
			return Hook{}, err
		}
		if len(argv) == 0 || argv[0] == "" {
			return Hook{}, fmt.Errorf("an argument list needs the program first, e.g. [./drain.sh, web1]")
		}
		return Hook{Argv: argv}, nil
	}
	return Hook{}, fmt.Errorf("must be a command line (text, run by the shell) or a list of arguments (run without a shell), not %s", describe(v))
}

// stringList takes a YAML list of scalars as text.
func stringList(v any) ([]string, error) {
	list, ok := v.([]any)
	if !ok {
		return nil, fmt.Errorf("must be a list, not %s", describe(v))
	}
	out := make([]string, 0, len(list))
	for i, item := range list {
		s, err := scalarText(item)
		if err != nil {
			return nil, fmt.Errorf("item %d: %w", i, err)
		}
		out = append(out, s)
	}
	return out, nil
}

// scalarText is a YAML scalar as text: numbers and true/false are
// accepted as written, mappings and lists are not.
func scalarText(v any) (string, error) {
	switch x := v.(type) {
	case string:
		return x, nil
	case bool, int, int64, uint64, float64:
		return fmt.Sprint(x), nil
	}
	return "", fmt.Errorf("must be text, not %s", describe(v))
}

// serverVars checks a server's vars: names become WCDEPLOY_VAR_<NAME>.
func serverVars(raw map[string]any) (map[string]string, error) {
	if len(raw) == 0 {
		return nil, nil
	}
	out := make(map[string]string, len(raw))
	for _, k := range sortedKeys(raw) {
		if !envNameRE.MatchString(k) {
			return nil, fmt.Errorf("vars: %q is not usable as a variable name (letters, digits, _): hooks see it as %sVAR_<NAME>", k, EnvPrefix)
		}
		s, err := scalarText(raw[k])
		if err != nil {
			return nil, fmt.Errorf("vars.%s: %w", k, err)
		}
		out[k] = s
	}
	return out, nil
}
