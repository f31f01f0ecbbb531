// Package output writes a command's result: one JSON document or one
// aligned table, the same way for every command.
package output

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"unicode/utf8"
)

// JSON writes v as one indented JSON document. HTML characters stay as
// they are (a "<" in an error is not written as \u003c).
func JSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("writing the JSON result: %w", err)
	}
	return nil
}

// Table is rows under a header, aligned in columns of at least two spaces.
type Table struct {
	Header []string
	Rows   [][]string
	// Width, when above 0, is the terminal's width: the last column's
	// text wraps at spaces under its own start (or on indented lines of
	// its own when the other columns leave it too little room), so a
	// long error or detail never runs across the screen.
	Width int
}

// minLastColumn is the least room the last column keeps beside the others
// before it moves to lines of its own.
const minLastColumn = 24

// Add appends one row.
func (t *Table) Add(cells ...string) { t.Rows = append(t.Rows, cells) }

// Write renders the table. A cell's tabs and newlines become spaces so a
// row stays one line; no line ends in blanks.
func (t *Table) Write(w io.Writer) error {
	var buf bytes.Buffer
	tw := tabwriter.NewWriter(&buf, 0, 0, 2, ' ', 0)
	write := func(cells []string) {
		clean := make([]string, len(cells))
		for i, c := range cells {
			clean[i] = strings.NewReplacer("\t", " ", "\n", " ", "\r", " ").Replace(c)
		}
		fmt.Fprintln(tw, strings.Join(clean, "\t"))
	}
	if len(t.Header) > 0 {
		write(t.Header)
	}
	for _, r := range t.Rows {
		write(r)
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("writing the table: %w", err)
	}
	text := TrimLines(buf.String())
	if t.Width > 0 {
		text = t.fit(text)
	}
	if _, err := io.WriteString(w, text); err != nil {
		return fmt.Errorf("writing the table: %w", err)
	}
	return nil
}

// fit wraps the last column of the aligned text to t.Width.
func (t *Table) fit(text string) string {
	lines := strings.Split(strings.TrimSuffix(text, "\n"), "\n")
	start := lastColumnStart(lines, len(t.Header))
	if start <= 0 {
		return text
	}
	var b strings.Builder
	for _, line := range lines {
		if utf8.RuneCountInString(line) <= t.Width || utf8.RuneCountInString(line) <= start {
			b.WriteString(line + "\n")
			continue
		}
		r := []rune(line)
		head, last := strings.TrimRight(string(r[:start]), " "), string(r[start:])
		indent, room := start, t.Width-start
		if room < minLastColumn {
			indent, room = 4, max(t.Width-4, minLastColumn)
			b.WriteString(head + "\n")
			head = ""
		}
		for i, part := range wrap(last, room) {
			switch {
			case i == 0 && head != "":
				b.WriteString(string(r[:start]) + part + "\n")
			default:
				b.WriteString(strings.Repeat(" ", indent) + part + "\n")
			}
		}
	}
	return b.String()
}

// lastColumnStart is where the header's last column starts (in runes), 0
// when the table has fewer than two columns.
func lastColumnStart(lines []string, columns int) int {
	if columns < 2 || len(lines) == 0 {
		return 0
	}
	header := lines[0]
	k := strings.LastIndex(header, "  ")
	if k < 0 {
		return 0
	}
	for k < len(header) && header[k] == ' ' {
		k++
	}
	return utf8.RuneCountInString(header[:k])
}

// wrap breaks s into lines of at most width runes at spaces; a word longer
// than width is cut.
func wrap(s string, width int) []string {
	var out []string
	var line []rune
	for _, word := range strings.Fields(s) {
		w := []rune(word)
		for len(w) > width {
			if len(line) > 0 {
				out, line = append(out, string(line)), nil
			}
			out, w = append(out, string(w[:width])), w[width:]
		}
		switch {
		case len(line) == 0:
			line = w
		case len(line)+1+len(w) <= width:
			line = append(append(line, ' '), w...)
		default:
			out, line = append(out, string(line)), w
		}
	}
	if len(line) > 0 || len(out) == 0 {
		out = append(out, string(line))
	}
	return out
}

// TrimLines drops the blanks at the end of every line: tabwriter pads the
// last cell too, and trailing blanks only confuse diffs and terminals.
func TrimLines(s string) string {
	var b strings.Builder
	for _, line := range strings.SplitAfter(s, "\n") {
		b.WriteString(strings.TrimRight(strings.TrimSuffix(line, "\n"), " "))
		if strings.HasSuffix(line, "\n") {
			b.WriteByte('\n')
		}
	}
	return b.String()
}
