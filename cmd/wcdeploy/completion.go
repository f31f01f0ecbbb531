package main

import (
	"strings"

	"github.com/spf13/cobra"

	"github.com/wcdeploy/wcdeploy/pkg/config"
	"github.com/wcdeploy/wcdeploy/pkg/rollout"
)

// registerCompletions adds dynamic completion of profile, server and group
// names. The completions only read the config file: a shell calls them on
// every Tab, so they must never reach the network, the keychain or a secret.
func registerCompletions(a *app, root *cobra.Command) {
	_ = root.RegisterFlagCompletionFunc("profile", func(_ *cobra.Command, _ []string, prefix string) ([]cobra.Completion, cobra.ShellCompDirective) {
		return withPrefix(profileNames(a), prefix), cobra.ShellCompDirectiveNoFileComp
	})
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		if c.LocalNonPersistentFlags().Lookup("server") != nil {
			_ = c.RegisterFlagCompletionFunc("server", func(_ *cobra.Command, _ []string, prefix string) ([]cobra.Completion, cobra.ShellCompDirective) {
				return withPrefix(serverNames(a, false), prefix), cobra.ShellCompDirectiveNoFileComp
			})
		}
		if c.LocalNonPersistentFlags().Lookup("group") != nil {
			_ = c.RegisterFlagCompletionFunc("group", func(_ *cobra.Command, _ []string, prefix string) ([]cobra.Completion, cobra.ShellCompDirective) {
				return withPrefix(serverNames(a, true), prefix), cobra.ShellCompDirectiveNoFileComp
			})
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
}

// profileNames lists the profiles of the config file, the default one
// described as such.
func profileNames(a *app) []cobra.Completion {
	wd, err := a.getwd()
	if err != nil {
		return nil
	}
	names, def := config.ProfileNames(a.configPath, a.getenv, wd)
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

// serverNames lists the server (or group) names of the selected profile,
// with the URL (without any user info) as the description.
func serverNames(a *app, groups bool) []cobra.Completion {
	ld, err := config.Load(config.Options{ConfigPath: a.configPath, Profile: a.profile, Getenv: a.getenv})
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
