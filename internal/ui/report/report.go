// Package report shows a rollout's outcome: the table (coloured on a
// terminal) or the JSON document on stdout, and under GitHub Actions one
// annotation per failed server and a job summary.
package report

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"
	"text/tabwriter"
	"unicode/utf8"

	"github.com/wcdeploy/wcdeploy/internal/exitcode"
	"github.com/wcdeploy/wcdeploy/internal/output"
	"github.com/wcdeploy/wcdeploy/internal/rollout"
	"github.com/wcdeploy/wcdeploy/internal/ui"
)

// Options say how the final report is shown.
type Options struct {
	JSON  bool // the Report as an indented JSON document on stdout
	Quiet bool // no table (the error, if any, is still printed by the caller)
	// Getenv reads the environment (GITHUB_ACTIONS, GITHUB_STEP_SUMMARY).
	Getenv func(string) string
}

// Render writes the report where it belongs: the table or the JSON document
// on stdout and, under GitHub Actions, one ::error line per failed server and
// a job summary. Workflow commands go to stderr when stdout carries JSON, so
// the document stays parseable (the runner reads both streams).
func Render(s *ui.Streams, rep *rollout.Report, o Options) error {
	switch {
	case o.JSON:
		if err := WriteJSON(s.Out, rep); err != nil {
			return err
		}
	case !o.Quiet:
		width := 0 // a file or a pipe keeps whole lines
		if s.OutTTY {
			width = s.OutWidth()
		}
		if err := WriteTableWidth(s.Out, rep, s.OutTTY && !s.NoColor, width); err != nil {
			return err
		}
	}
	getenv := o.Getenv
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	if getenv("GITHUB_ACTIONS") != "true" {
		return nil
	}
	annot := s.Out
	if o.JSON {
		annot = s.Err
	}
	if err := WriteGitHubErrors(annot, rep); err != nil {
		return err
	}
	if path := getenv("GITHUB_STEP_SUMMARY"); path != "" {
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
		if err != nil {
			return fmt.Errorf("writing the GitHub job summary %s: %w (the deploy itself is reported above)", path, err)
		}
		werr := WriteMarkdown(f, rep)
		if cerr := f.Close(); werr == nil {
			werr = cerr
		}
		if werr != nil {
			return fmt.Errorf("writing the GitHub job summary %s: %w (the deploy itself is reported above)", path, werr)
		}
	}
	return nil
}

// WriteJSON writes the report as an indented JSON document.
func WriteJSON(w io.Writer, rep *rollout.Report) error {
	return output.JSON(w, rep)
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func seconds(ms int64) string {
	return fmt.Sprintf("%.1fs", float64(ms)/1000)
}

// note is what the last column says: the error (its cause only when short,
// as the table lists the whole messages below it), or why nothing was
// done, then what else people should know (another build of the same
// version, a swap settled from the status page, the page to open when
// unknown).
func note(s *rollout.ServerReport, short bool) string {
	var out string
	msg := s.Error
	if short {
		msg = rollout.Cause(s.Name, msg)
	}
	switch {
	case s.Error != "" && s.Skipped != "":
		out = s.Skipped + ": " + msg
	case s.Error != "":
		out = msg
	case s.Skipped != "":
		out = s.Skipped
	}
	if s.Note != "" && !strings.Contains(out, s.Note) {
		out = joinNote(out, s.Note)
	}
	if s.State == rollout.ServerUnknown && s.StatusURL != "" && !strings.Contains(out, s.StatusURL) {
		out = joinNote(out, "unknown: open "+s.StatusURL)
	}
	return ui.OneLine(out)
}

func joinNote(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}

// after is the version the server runs now as far as we know.
func after(s *rollout.ServerReport) string {
	switch {
	case s.State == rollout.ServerUnknown:
		return "unknown"
	case s.VersionAfter == "" && s.Error != "":
		return "?"
	}
	return orDash(s.VersionAfter)
}

// WriteTable writes the human report: one row per server, the servers'
// errors in full, then the plan (dry run) or why swapping stopped, then a
// summary line.
func WriteTable(w io.Writer, rep *rollout.Report, color bool) error {
	return WriteTableWidth(w, rep, color, 0)
}

// WriteTableWidth is WriteTable for a terminal width columns wide: the last
// column is cut so no row wraps, and the errors below the table are
// wrapped between words. 0 keeps whole lines.
func WriteTableWidth(w io.Writer, rep *rollout.Report, color bool, width int) error {
	table, err := fitted(rep, color, width)
	if err != nil {
		return err
	}
	var b strings.Builder
	b.WriteString(table)
	writeErrors(&b, rep, width)
	if rep.DryRun && len(rep.Batches) > 0 {
		b.WriteString("\nplan (swap order):\n")
		for gi, g := range rep.Batches {
			fmt.Fprintf(&b, "  %d. %s\n", gi+1, strings.Join(g, ", "))
		}
		if len(rep.Hooks) > 0 {
			fmt.Fprintf(&b, "hooks that would run: %s\n", strings.Join(rep.Hooks, ", "))
		}
	}
	b.WriteByte('\n')
	if rep.HaltReason != "" {
		b.WriteString(wrap("stopped: "+rep.HaltReason, width, "  "))
	}
	for _, a := range rep.Advice() {
		b.WriteString(wrap("note: "+a, width, "  "))
	}
	b.WriteString(wrap(rep.Summary(), width, "  "))
	if _, err := io.WriteString(w, b.String()); err != nil {
		return fmt.Errorf("writing the report: %w", err)
	}
	return nil
}

// minNote is the narrowest the last column is cut to; narrower, each
// row's note goes on a line of its own below the row.
const minNote = 16

// fitted is the table for a terminal width columns wide (0: whole lines).
func fitted(rep *rollout.Report, color bool, width int) (string, error) {
	whole := func(s *rollout.ServerReport) string { return note(s, true) }
	if width <= 0 {
		return rows(rep, color, whole)
	}
	bare, err := rows(rep, color, func(*rollout.ServerReport) string { return "" })
	if err != nil {
		return "", err
	}
	plain, _ := rows(rep, false, func(*rollout.ServerReport) string { return "" })
	_, body, _ := strings.Cut(plain, "\n") // the header's ERROR is no cell
	// One column spare: a line as wide as the screen wraps on some terminals.
	if room := width - 1 - maxWidth(body) - 2; room >= minNote {
		return rows(rep, color, func(s *rollout.ServerReport) string { return ui.Truncate(whole(s), room) })
	}
	var b strings.Builder
	for k, line := range strings.SplitAfter(bare, "\n") {
		b.WriteString(line)
		if k == 0 || k > len(rep.Servers) {
			continue
		}
		s := &rep.Servers[k-1]
		if n := whole(s); n != "" {
			code := ui.Dim
			if s.Error != "" {
				code = ui.Red
			}
			b.WriteString("    " + ui.Paint(color, code, ui.Truncate(n, width-5)) + "\n")
		}
	}
	return b.String(), nil
}

// writeErrors lists each server's error in full below the table, but for
// the one the command's last line says (Report.ErrServer): each once.
func writeErrors(b *strings.Builder, rep *rollout.Report, width int) {
	first := true
	last := rep.ErrServer()
	for i := range rep.Servers {
		s := &rep.Servers[i]
		if s.Error == "" || s.Name == last {
			continue
		}
		if first {
			b.WriteString("\n")
			first = false
		}
		msg := ui.OneLine(s.Error)
		if !strings.HasPrefix(msg, s.Name+":") {
			msg = s.Name + ": " + msg
		}
		b.WriteString(wrap(msg, width, "  "))
	}
}

// wrap breaks s between words to lines of at most width runes, the lines
// after the first indented; 0 keeps s on one line. It ends with a newline.
func wrap(s string, width int, indent string) string {
	if width <= 0 {
		return s + "\n"
	}
	// "exit 4 (upload)" stays on one line.
	s = exitLabel.ReplaceAllStringFunc(s, func(m string) string { return strings.ReplaceAll(m, " ", keep) })
	var b strings.Builder
	n := 0
	for k, word := range strings.Fields(s) {
		word = strings.ReplaceAll(word, keep, " ")
		wl := utf8.RuneCountInString(word)
		switch {
		case k == 0:
		case n+1+wl > width:
			b.WriteString("\n" + indent)
			n = utf8.RuneCountInString(indent)
		default:
			b.WriteByte(' ')
			n++
		}
		b.WriteString(word)
		n += wl
	}
	b.WriteByte('\n')
	return b.String()
}

// exitLabel is the summary's exit code and its name, which wrap keeps
// together; keep stands for a space that must not break.
var exitLabel = regexp.MustCompile(`exit \d+ \([^)]*\)`)

const keep = "\x00"

// maxWidth is the widest line of s in runes.
func maxWidth(s string) int {
	w := 0
	for _, line := range strings.Split(s, "\n") {
		w = max(w, utf8.RuneCountInString(line))
	}
	return w
}

// rows writes the table itself, the last column from last.
func rows(rep *rollout.Report, color bool, last func(*rollout.ServerReport) string) (string, error) {
	// Coloured cells carry escape codes of equal length in every row of a
	// column, so tabwriter's widths stay right.
	paint := func(code, s string) string { return ui.Paint(color, code, s) }
	flag := func(ok bool, relevant bool) string {
		switch {
		case ok:
			return paint(ui.Green, "yes")
		case relevant:
			return paint(ui.Red, "no ")
		}
		return paint(ui.Dim, "no ")
	}
	var table bytes.Buffer
	tw := tabwriter.NewWriter(&table, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "SERVER\tBEFORE\tAFTER\t%s\t%s\t%s\t%s\tTIME\tERROR\n",
		paint(ui.Plain, "STAGED"), paint(ui.Plain, "SWAPPED"), paint(ui.Plain, "VERIFIED"), paint(ui.Plain, "HEALTH"))
	for i := range rep.Servers {
		s := &rep.Servers[i]
		tried := s.Error != "" && s.Skipped == ""
		health := orDash(s.Health)
		hcode := ui.Dim
		switch s.Health {
		case rollout.HealthOK:
			hcode = ui.Green
		case rollout.HealthFailed:
			hcode = ui.Red
		}
		note := last(s)
		if s.Error != "" && note != "" {
			note = paint(ui.Red, note)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n",
			s.Name, orDash(s.VersionBefore), after(s),
			flag(s.Staged, tried), flag(s.Swapped, tried && s.Staged), flag(s.Verified, tried && s.Swapped),
			paint(hcode, fmt.Sprintf("%-6s", health)), seconds(s.DurationMS), note)
	}
	if err := tw.Flush(); err != nil {
		return "", fmt.Errorf("writing the report: %w", err)
	}
	return output.TrimLines(table.String()), nil
}

// mdCell keeps a value inside one Markdown table cell.
func mdCell(s string) string {
	s = ui.OneLine(s)
	s = strings.ReplaceAll(s, `\`, `\\`)
	s = strings.ReplaceAll(s, "|", `\|`)
	s = strings.ReplaceAll(s, "<", "&lt;")
	return s
}

// WriteMarkdown writes the report as a GitHub job summary section.
func WriteMarkdown(w io.Writer, rep *rollout.Report) error {
	var b strings.Builder
	status := "✅ deployed"
	if !rep.OK {
		status = "❌ " + exitcode.Code(rep.ExitCode).String()
	}
	if rep.DryRun {
		status = "dry run"
	}
	fmt.Fprintf(&b, "### wcdeploy: %s %s — %s\n\n", mdCell(rep.Build.FileName()), mdCell(rep.Build.Version), status)
	b.WriteString("| Server | Before | After | Staged | Swapped | Verified | Health | Time | Error |\n")
	b.WriteString("|---|---|---|---|---|---|---|---|---|\n")
	for i := range rep.Servers {
		s := &rep.Servers[i]
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n",
			mdCell(s.Name), mdCell(orDash(s.VersionBefore)), mdCell(after(s)),
			yesNo(s.Staged), yesNo(s.Swapped), yesNo(s.Verified), orDash(s.Health),
			seconds(s.DurationMS), mdCell(note(s, false)))
	}
	b.WriteByte('\n')
	if rep.HaltReason != "" {
		fmt.Fprintf(&b, "Stopped: %s\n\n", mdCell(rep.HaltReason))
	}
	fmt.Fprintf(&b, "%s\n\n", mdCell(rep.Summary()))
	_, err := io.WriteString(w, b.String())
	return err
}

// ghEscape escapes a workflow command's message (GitHub's own rules).
func ghEscape(s string) string {
	r := strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A")
	return r.Replace(s)
}

// WriteGitHubErrors writes one ::error workflow command per failed server,
// which GitHub shows as an annotation on the run.
func WriteGitHubErrors(w io.Writer, rep *rollout.Report) error {
	var b strings.Builder
	for i := range rep.Servers {
		s := &rep.Servers[i]
		if s.Error == "" {
			continue
		}
		msg := s.Error
		if !strings.HasPrefix(msg, s.Name+":") {
			msg = s.Name + ": " + msg
		}
		fmt.Fprintf(&b, "::error title=wcdeploy::%s\n", ghEscape(msg))
	}
	_, err := io.WriteString(w, b.String())
	return err
}
