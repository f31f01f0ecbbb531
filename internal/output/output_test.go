package output

import (
	"strings"
	"testing"
)

func TestJSONKeepsHTMLCharacters(t *testing.T) {
	var b strings.Builder
	if err := JSON(&b, map[string]string{"error": "a <b> & c"}); err != nil {
		t.Fatal(err)
	}
	if got, want := b.String(), "{\n  \"error\": \"a <b> & c\"\n}\n"; got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
}

func TestTableAlignsAndKeepsRowsOnOneLine(t *testing.T) {
	tb := Table{Header: []string{"SERVER", "STATE"}}
	tb.Add("web1", "current")
	tb.Add("web-long", "two\nlines")
	var b strings.Builder
	if err := tb.Write(&b); err != nil {
		t.Fatal(err)
	}
	want := "SERVER    STATE\nweb1      current\nweb-long  two lines\n"
	if b.String() != want {
		t.Fatalf("got\n%s\nwant\n%s", b.String(), want)
	}
}

// TestTableFitsWidth: on a terminal the last column wraps under its own
// start, or on indented lines of its own when the others leave it too
// little room; no line is wider than the terminal (but for the columns
// before the last, which are never cut); every word is kept.
func TestTableFitsWidth(t *testing.T) {
	long := "the server answered but not with the status page: Orders - Web Connection; this is the ISAPI wc.dll, not the Web Connection .NET module: use --flavor isapi"
	for _, tc := range []struct {
		name  string
		width int
		first string // the first column's cell
	}{
		{"beside", 80, "web01"},
		{"own lines", 40, "a-very-long-server-name.corp.example.com"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tab := Table{Header: []string{"SERVER", "STATE", "ERROR"}, Width: tc.width}
			tab.Add(tc.first, "unreachable", long)
			tab.Add("web02", "current", "")
			var b strings.Builder
			if err := tab.Write(&b); err != nil {
				t.Fatal(err)
			}
			out := b.String()
			t.Logf("\n%s", out)
			for _, line := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
				// The columns before the last are never cut: only the
				// wrapped error's lines must fit.
				if n := len([]rune(line)); n > tc.width && strings.HasPrefix(line, " ") {
					t.Errorf("line of %d runes > %d: %q", n, tc.width, line)
				}
				if strings.HasSuffix(line, " ") {
					t.Errorf("trailing blank: %q", line)
				}
			}
			if got := strings.Join(strings.Fields(out), " "); !strings.Contains(got, long) {
				t.Errorf("words lost:\n%s", out)
			}
			if !strings.Contains(out, "\nweb02  ") {
				t.Errorf("rows out of order:\n%s", out)
			}
		})
	}
	// A pipe or file (Width 0) gets whole lines.
	tab := Table{Header: []string{"SERVER", "ERROR"}}
	tab.Add("web01", long)
	var b strings.Builder
	_ = tab.Write(&b)
	if !strings.Contains(b.String(), "web01   "+long+"\n") && !strings.Contains(b.String(), "web01  "+long+"\n") {
		t.Errorf("width 0 changed the line:\n%s", b.String())
	}
}
