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
