// Package wcpage reads the HTML pages that Web Connection's admin links
// answer with (wc-protocol.md §3.1): a title, a banner header and a message,
// in the module's built-in template or a project's _AdminTemplate.html, and
// sometimes several such pages appended in one body (the upload quirk of
// §3.2). It uses an HTML parser, so markup changes between versions and
// templates do not turn into wrong answers.
package wcpage

import (
	"bytes"
	"fmt"
	"strings"
	"unicode/utf8"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
	"golang.org/x/text/encoding/charmap"
)

// MaxBytes is how much of a body Parse reads; admin pages are a few KB and a
// status page about 13 KB, so anything beyond this is not a page we know.
const MaxBytes = 512 << 10

// Page is one admin page.
type Page struct {
	Title  string // the <title>
	Header string // the banner text (.page-header-text, or ISAPI's .header)
	// Message is the text of the message <div>, whitespace collapsed.
	Message string
	// Lines is the message split where the markup breaks lines (<br>, <p>,
	// <hr>, block elements), each trimmed; empty lines are dropped.
	Lines []string
	// Rows are the table rows inside the page, each a list of cell texts.
	// Cell text keeps non-breaking spaces (the status page separates the
	// version from the date with them) and collapses other white space.
	Rows [][]string
}

// Doc is a parsed reply body.
type Doc struct {
	// Pages in body order. Usually one; more when the server appended a
	// second page (§3.2); none for a body that is not an admin page.
	Pages []Page
	// Text is all visible text of the body, whitespace collapsed, for error
	// messages about replies that are not admin pages.
	Text string
	// Truncated says the body was longer than MaxBytes and was cut.
	Truncated bool

	// Which page skeleton the banners came in (Identify): the module's and
	// Web Server's page-header-text, or wc.dll's header.
	pageHeaderText, isapiHeader bool
}

// Parse parses body. Bytes that are not UTF-8 are read as Windows-1252, the
// usual code page of the Windows servers that send them. It fails only on
// markup the parser refuses (e.g. absurd nesting); garbage yields a Doc
// without pages.
func Parse(body []byte) (*Doc, error) {
	d := &Doc{}
	if len(body) > MaxBytes {
		body, d.Truncated = body[:MaxBytes], true
	}
	if !utf8.Valid(body) && !(d.Truncated && validButLastRune(body)) {
		if dec, err := charmap.Windows1252.NewDecoder().Bytes(body); err == nil {
			body = dec
		}
	}
	root, err := html.Parse(bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("the reply is not readable HTML: %w", err)
	}
	var order []*html.Node
	var collect func(*html.Node)
	collect = func(n *html.Node) {
		order = append(order, n)
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			collect(c)
		}
	}
	collect(root)

	var cur *Page
	start := func() {
		d.Pages = append(d.Pages, Page{})
		cur = &d.Pages[len(d.Pages)-1]
	}
	for i, n := range order {
		if n.Type != html.ElementNode {
			continue
		}
		switch {
		case n.DataAtom == atom.Title:
			// A title after a header begins the next appended page.
			if cur == nil || cur.Title != "" || cur.Header != "" {
				start()
			}
			cur.Title = collapse(textOf(n))
		case isHeader(n):
			if headerClass(n) == classPageHeader {
				d.pageHeaderText = true
			} else {
				d.isapiHeader = true
			}
			if cur == nil || cur.Header != "" {
				start()
			}
			cur.Header = collapse(textOf(n))
			if m := messageDiv(order, i); m != nil {
				cur.Lines = lines(m)
				cur.Message = strings.Join(cur.Lines, " ")
			}
		case n.DataAtom == atom.Tr:
			if cur == nil {
				start()
			}
			cur.Rows = append(cur.Rows, cells(n))
		}
	}
	d.Text = strings.Join(lines(root), " ")
	return d, nil
}

// validButLastRune reports whether b is valid UTF-8 except for a rune cut
// off by truncation.
func validButLastRune(b []byte) bool {
	for i := 1; i <= utf8.UTFMax && i <= len(b); i++ {
		if utf8.Valid(b[:len(b)-i]) {
			return true
		}
	}
	return false
}

// Header returns the page with the given banner header (case-insensitive),
// if any.
func (d *Doc) Header(header string) (Page, bool) {
	for _, p := range d.Pages {
		if strings.EqualFold(p.Header, header) || (p.Header == "" && strings.EqualFold(p.Title, header)) {
			return p, true
		}
	}
	return Page{}, false
}

// Headers lists the banner headers (or titles, for pages without a banner)
// of all pages.
func (d *Doc) Headers() []string {
	var hs []string
	for _, p := range d.Pages {
		if p.Header != "" {
			hs = append(hs, p.Header)
		} else if p.Title != "" {
			hs = append(hs, p.Title)
		}
	}
	return hs
}

// Row returns the cells after the first one of the first row whose first
// cell is name (case-insensitive), on any page. Rows of a single cell are
// section headings (the status page has a "Web Server" heading and a "Web
// Server" row) and are skipped.
func (d *Doc) Row(name string) ([]string, bool) {
	for _, p := range d.Pages {
		for _, r := range p.Rows {
			if len(r) > 1 && strings.EqualFold(strings.TrimSpace(strings.ReplaceAll(r[0], "\u00a0", " ")), name) {
				return r[1:], true
			}
		}
	}
	return nil, false
}

// Summary is a short description of the reply for error messages: the first
// page's header and message, or the start of the text.
func (d *Doc) Summary(max int) string {
	var s string
	switch {
	case len(d.Pages) > 0 && d.Pages[0].Header != "":
		p := d.Pages[0]
		s = p.Header
		if p.Message != "" {
			s += ": " + p.Message
		}
	case len(d.Pages) > 0 && d.Pages[0].Title != "":
		s = d.Pages[0].Title
	default:
		s = d.Text
	}
	return Clip(s, max)
}

// Clip shortens s to at most max runes, marking the cut with "…".
func Clip(s string, max int) string {
	if max <= 0 || utf8.RuneCountInString(s) <= max {
		return s
	}
	r := []rune(s)
	return strings.TrimSpace(string(r[:max-1])) + "…"
}

// The banner classes: the module's and Web Server's, and ISAPI wc.dll's
// <div class='header'>.
const (
	classPageHeader = "page-header-text"
	classISAPI      = "header"
)

func isHeader(n *html.Node) bool { return headerClass(n) != "" }

// headerClass is the banner class of a <div>, "" for other elements.
func headerClass(n *html.Node) string {
	if n.DataAtom != atom.Div {
		return ""
	}
	for _, a := range n.Attr {
		if a.Namespace == "" && a.Key == "class" {
			for _, c := range strings.Fields(a.Val) {
				if c == classPageHeader || c == classISAPI {
					return c
				}
			}
		}
	}
	return ""
}

// messageDiv finds the message <div> for the header at order[i]: its next
// element sibling if that is a div, else the first div after the header's
// subtree (templates may wrap the two differently).
func messageDiv(order []*html.Node, i int) *html.Node {
	h := order[i]
	for s := h.NextSibling; s != nil; s = s.NextSibling {
		if s.Type == html.ElementNode {
			if s.DataAtom == atom.Div && !isHeader(s) {
				return s
			}
			break
		}
	}
	for _, n := range order[i+1:] {
		if isDescendant(n, h) {
			continue
		}
		if n.Type == html.ElementNode && n.DataAtom == atom.Div {
			if isHeader(n) {
				return nil
			}
			return n
		}
	}
	return nil
}

func isDescendant(n, of *html.Node) bool {
	for p := n.Parent; p != nil; p = p.Parent {
		if p == of {
			return true
		}
	}
	return false
}

// textOf is the raw text under n, without scripts and styles.
func textOf(n *html.Node) string {
	var b strings.Builder
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		switch n.Type {
		case html.TextNode:
			b.WriteString(n.Data)
			return
		case html.ElementNode:
			if skipped(n) {
				return
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(n)
	return b.String()
}

func skipped(n *html.Node) bool {
	switch n.DataAtom {
	case atom.Script, atom.Style, atom.Noscript, atom.Template, atom.Head:
		return true
	}
	return false
}

// breaks are elements that end a line of text.
func breaks(a atom.Atom) bool {
	switch a {
	case atom.Br, atom.P, atom.Hr, atom.Div, atom.H1, atom.H2, atom.H3, atom.H4, atom.H5, atom.H6,
		atom.Tr, atom.Li, atom.Ul, atom.Ol, atom.Table, atom.Pre, atom.Blockquote, atom.Form, atom.Center, atom.Title:
		return true
	}
	return false
}

func lines(n *html.Node) []string {
	var out []string
	var cur strings.Builder
	flush := func() {
		if s := collapse(cur.String()); s != "" {
			out = append(out, s)
		}
		cur.Reset()
	}
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		switch n.Type {
		case html.TextNode:
			cur.WriteString(n.Data)
			return
		case html.ElementNode:
			if skipped(n) {
				return
			}
			if breaks(n.DataAtom) {
				flush()
				defer flush()
			} else if n.DataAtom == atom.Td || n.DataAtom == atom.Th {
				cur.WriteByte(' ')
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(n)
	flush()
	return out
}

func cells(tr *html.Node) []string {
	var out []string
	for c := tr.FirstChild; c != nil; c = c.NextSibling {
		if c.Type == html.ElementNode && (c.DataAtom == atom.Td || c.DataAtom == atom.Th) {
			out = append(out, collapseASCII(textOf(c)))
		}
	}
	return out
}

// collapse trims and collapses all white space, non-breaking spaces included.
func collapse(s string) string { return strings.Join(strings.Fields(s), " ") }

// collapseASCII collapses ASCII white space only, keeping U+00A0.
func collapseASCII(s string) string {
	f := strings.FieldsFunc(s, func(r rune) bool {
		return r == ' ' || r == '\t' || r == '\n' || r == '\r' || r == '\f' || r == '\v'
	})
	return strings.Join(f, " ")
}
