// Command wcdeploy deploys a West Wind Web Connection server EXE to one or
// many servers through their hot-swap links and proves the new build runs.
package main

import (
	"os"

	"github.com/wcdeploy/wcdeploy/pkg/ui"
)

func main() {
	os.Exit(run(os.Args[1:], ui.System(), os.Getenv))
}
