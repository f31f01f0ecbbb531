package doctor

import (
	"fmt"
	"io"

	"github.com/wcdeploy/wcdeploy/internal/output"
)

// localName is the SERVER cell of the checks that run on this machine.
const localName = "(local)"

// Table is the report as one row per check.
func (r *Report) Table() *output.Table {
	t := &output.Table{Header: []string{"SERVER", "CHECK", "RESULT", "DETAIL"}}
	for _, c := range r.Local {
		t.Add(localName, c.Check, string(c.Status), c.Message)
	}
	for _, s := range r.Servers {
		for _, c := range s.Checks {
			t.Add(s.Name, c.Check, string(c.Status), c.Message)
		}
	}
	return t
}

// WriteText writes the table (fitted to width, when above 0: see
// output.Table), then each warning's and failure's next step, then the
// verdict.
func (r *Report) WriteText(w io.Writer, width int) error {
	t := r.Table()
	t.Width = width
	if err := t.Write(w); err != nil {
		return err
	}
	fix := func(name string, c Result) {
		if c.Next != "" && (c.Status == Warn || c.Status == Fail) {
			fmt.Fprintf(w, "\n%s, %s: %s\n%s\n", name, c.Check, c.Status, c.Next)
		}
	}
	for _, c := range r.Local {
		fix(localName, c)
	}
	for _, s := range r.Servers {
		for _, c := range s.Checks {
			fix(s.Name, c)
		}
	}
	_, err := fmt.Fprintf(w, "\n%s\n", r.Verdict())
	return err
}

// Verdict is the one-line summary.
func (r *Report) Verdict() string {
	n := len(r.Servers)
	bad := 0
	for _, s := range r.Servers {
		if !s.OK {
			bad++
		}
	}
	switch {
	case r.Interrupted:
		return fmt.Sprintf("interrupted: %d of %d servers ready to deploy, the others not fully checked", r.Ready, n)
	case localFailed(r.Local):
		return fmt.Sprintf("the local EXE would stop a deploy: %d of %d servers ready to deploy", r.Ready, n)
	case bad > 0:
		return fmt.Sprintf("%d of %d servers would fail a deploy", bad, n)
	}
	return fmt.Sprintf("%d of %d servers ready to deploy", n, n)
}

func localFailed(rs []Result) bool {
	for _, c := range rs {
		if c.Status == Fail {
			return true
		}
	}
	return false
}
