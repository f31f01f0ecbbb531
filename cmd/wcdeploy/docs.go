package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"
	"github.com/spf13/cobra/doc"

	"github.com/wcdeploy/wcdeploy/internal/exitcode"
)

// newGenDocsCmd writes the Markdown command reference (docs/reference/). It is
// hidden: users read the result, maintainers run it after changing a command.
func newGenDocsCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:    "gen-docs DIR",
		Short:  "Write the Markdown command reference into DIR",
		Hidden: true,
		Args:   cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := genDocs(cmd.Root(), args[0]); err != nil {
				return err
			}
			a.logf("wrote the command reference to %s", args[0])
			return nil
		},
	}
}

// genDocs writes one Markdown file per command into dir.
func genDocs(root *cobra.Command, dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return exitcode.Errorf(exitcode.Usage, "cannot create %s for the reference: %w", dir, err)
	}
	// Without this every file carries the generation date and changes on
	// every run, which would defeat the freshness test.
	root.DisableAutoGenTag = true
	if err := doc.GenMarkdownTree(root, dir); err != nil {
		return fmt.Errorf("writing the command reference into %s: %w", dir, err)
	}
	return nil
}
