package main

import (
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"

	"github.com/wcdeploy/wcdeploy/internal/output"
)

// Set by the release build: -ldflags "-X main.version=… -X main.commit=… -X main.date=…".
var (
	version = "dev"
	commit  = ""
	date    = ""
)

// VersionInfo is what 'wcdeploy version --json' prints.
type VersionInfo struct {
	Version string `json:"version"`
	Commit  string `json:"commit"`
	Date    string `json:"date"`
	Go      string `json:"go"`
	OS      string `json:"os"`
	Arch    string `json:"arch"`
}

func currentVersion() VersionInfo {
	v := VersionInfo{Version: version, Commit: commit, Date: date, Go: runtime.Version(), OS: runtime.GOOS, Arch: runtime.GOARCH}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			switch {
			case s.Key == "vcs.revision" && v.Commit == "":
				v.Commit = s.Value
			case s.Key == "vcs.time" && v.Date == "":
				v.Date = s.Value
			}
		}
		if v.Version == "dev" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			v.Version = bi.Main.Version
		}
	}
	return v
}

func newVersionCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version, commit and build date",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			v := currentVersion()
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
