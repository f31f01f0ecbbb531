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
}

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
	if _, err := io.WriteString(w, TrimLines(buf.String())); err != nil {
		return fmt.Errorf("writing the table: %w", err)
	}
	return nil
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
