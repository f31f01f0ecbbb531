package deploy

import (
	"fmt"
	"time"

	"github.com/wcdeploy/wcdeploy/internal/exitcode"
	"github.com/wcdeploy/wcdeploy/internal/journal"
	"github.com/wcdeploy/wcdeploy/internal/output"
)

// HistoryTable lists the runs; with all, the project of each.
func HistoryTable(runs []journal.Entry, all bool) *output.Table {
	head := []string{"RUN", "TIME", "PROFILE", "KIND", "VERSION", "SERVERS", "RESULT"}
	if all {
		head = append([]string{"RUN", "TIME", "PROJECT"}, head[2:]...)
	}
	t := &output.Table{Header: head}
	for _, e := range runs {
		result := exitcode.Code(e.ExitCode).String()
		if e.DryRun {
			result = "dry run"
		}
		row := []string{e.ID, e.Time.Local().Format(time.DateTime)}
		if all {
			row = append(row, e.ProjectLabel())
		}
		row = append(row, e.Profile, e.KindLabel(), e.Exe.Version,
			fmt.Sprintf("%d/%d current", e.Current(), len(e.Servers)), fmt.Sprintf("%s (%d)", result, e.ExitCode))
		t.Add(row...)
	}
	return t
}
