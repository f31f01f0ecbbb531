package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/wcdeploy/wcdeploy/internal/buildinfo"
	"github.com/wcdeploy/wcdeploy/internal/output"
)

// Set by the release build: -ldflags "-X main.version=… -X main.commit=… -X main.date=…".
var (
	version = "dev"
	commit  = ""
	date    = ""
)

func newVersionCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version, commit and build date",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			v := buildinfo.Read(version, commit, date)
			if a.jsonOut {
				return output.JSON(a.out(), v)
			}
			fmt.Fprintf(a.out(), "wcdeploy %s\n", v.Version)
			if v.Commit != "" {
				fmt.Fprintf(a.out(), "commit:  %s\n", v.Commit)
			}
			if v.Date != "" {
				fmt.Fprintf(a.out(), "built:   %s\n", v.Date)
			}
			fmt.Fprintf(a.out(), "go:      %s %s/%s\n", v.Go, v.OS, v.Arch)
			return nil
		},
	}
}
