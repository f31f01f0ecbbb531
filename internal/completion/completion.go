// Package completion completes profile, server and group names in the
// shell. The completions only read the config file: a shell calls them on
// every Tab, so they must never reach the network, the keychain or a secret.
package completion

import (
	"strings"

	"github.com/spf13/cobra"

	"github.com/wcdeploy/wcdeploy/internal/rollout"
	"github.com/wcdeploy/wcdeploy/pkg/config"
)

// Source is where the names come from. ConfigPath and Profile are read at
// completion time, once the command line typed so far is parsed.
type Source struct {
	ConfigPath func() string // --config
	Profile    func() string // --profile
	Getenv     func(string) string
	Getwd      func() (string, error)
}

// Register adds name completion to --profile and to every command's
// --server and --group flags; root must hold every command already.
func Register(root *cobra.Command, src Source) {
	_ = root.RegisterFlagCompletionFunc("profile", func(_ *cobra.Command, _ []string, prefix string) ([]cobra.Completion, cobra.ShellCompDirective) {
		return withPrefix(src.profiles(), prefix), cobra.ShellCompDirectiveNoFileComp
	})
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		for _, f := range []struct {
			flag   string
			groups bool
		}{{"server", false}, {"group", true}} {
			if c.LocalNonPersistentFlags().Lookup(f.flag) == nil {
				continue
			}
			_ = c.RegisterFlagCompletionFunc(f.flag, func(_ *cobra.Command, _ []string, prefix string) ([]cobra.Completion, cobra.ShellCompDirective) {
				return withPrefix(src.servers(f.groups), prefix), cobra.ShellCompDirectiveNoFileComp
			})
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
}

// profiles lists the profiles of the config file, the default one
// described as such.
func (src Source) profiles() []cobra.Completion {
	wd, err := src.Getwd()
	if err != nil {
		return nil
	}
	names, def := config.ProfileNames(src.ConfigPath(), src.Getenv, wd)
	out := make([]cobra.Completion, 0, len(names))
	for _, n := range names {
		if strings.EqualFold(n, def) {
			out = append(out, cobra.CompletionWithDesc(n, "default profile"))
		} else {
			out = append(out, n)
		}
	}
	return out
}

// servers lists the server (or group) names of the selected profile, with
// the URL (without any user info) as the description.
func (src Source) servers(groups bool) []cobra.Completion {
	ld, err := config.Load(config.Options{ConfigPath: src.ConfigPath(), Profile: src.Profile(), Getenv: src.Getenv})
	if err != nil {
		return nil
	}
	var out []cobra.Completion
	seen := map[string]bool{}
	for _, s := range ld.Profile.Servers {
		switch {
		case groups && s.Group != "" && !seen[s.Group]:
			seen[s.Group] = true
			out = append(out, s.Group)
		case !groups:
			out = append(out, cobra.CompletionWithDesc(s.Name, rollout.RedactURL(s.URL)))
		}
	}
	return out
}

// withPrefix keeps the candidates that start with what was typed (case
// folded, as names are); not every shell filters on its own.
func withPrefix(list []cobra.Completion, prefix string) []cobra.Completion {
	var out []cobra.Completion
	for _, c := range list {
		name, _, _ := strings.Cut(c, "\t")
		if strings.HasPrefix(strings.ToLower(name), strings.ToLower(prefix)) {
			out = append(out, c)
		}
	}
	return out
}
