package config

import (
	"bytes"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding/charmap"
)

// BuildScript is what a generated FoxPro build script (bld_<App>.prg)
// says about deploying: the EXE and the two hot-swap links. Only literal
// values are imported; a computed value is reported in Computed.
type BuildScript struct {
	ExeFile   string // EXE_FILE as written: no extension, relative to the project folder
	UploadURL string // the active HTTP_UPLOADURL
	UpdateURL string // the active HTTP_UPDATEURL
	// ISAPIUploadURL is a commented-out HTTP_UPLOADURL for wc.dll
	// ("* for ISAPI use this url"), kept to tell the user how to switch.
	ISAPIUploadURL string
	Username       string // WEB_USERNAME when it is a literal
	// Computed names the wanted constants that are set by an expression
	// wcdeploy cannot evaluate (a function call, a variable from elsewhere).
	Computed []string
}

// maxScriptSize bounds what is read: build scripts are a few kilobytes.
const maxScriptSize = 4 << 20

// The constants the importer looks for (upper case; FoxPro is case-insensitive).
const (
	prgExe      = "EXE_FILE"
	prgUpload   = "HTTP_UPLOADURL"
	prgUpdate   = "HTTP_UPDATEURL"
	prgUsername = "WEB_USERNAME"
)

// ReadBuildScript parses the build script at path. A path typed the Windows
// way (deploy\bld_App.prg) is read on every OS, as exe: and --exe are.
func ReadBuildScript(path string) (*BuildScript, error) {
	f, err := os.Open(LocalPath("", path))
	if err != nil {
		return nil, fmt.Errorf("cannot read the build script: %w", err)
	}
	defer f.Close()
	bs, err := ParseBuildScript(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return bs, nil
}

// ParseBuildScript reads #DEFINE lines and assignments (NAME = expr,
// STORE expr TO NAME) of a FoxPro program. Expressions may join string
// literals ("…", '…', […]) and names defined before with '+'. Comments
// (* and NOTE lines, && tails) are skipped, except that a commented-out
// HTTP_UPLOADURL assignment is remembered as the ISAPI variant. Line
// continuations (';' at the end) are joined. The last assignment wins, as
// when FoxPro runs the script top to bottom.
func ParseBuildScript(r io.Reader) (*BuildScript, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxScriptSize+1))
	if err != nil {
		return nil, fmt.Errorf("cannot read the build script: %w", err)
	}
	if len(data) > maxScriptSize {
		return nil, fmt.Errorf("the build script is larger than %d bytes; is it the right file?", maxScriptSize)
	}
	text := decodeFoxText(data)

	vals := map[string]string{}   // names with a known literal value
	computed := map[string]bool{} // names last set by something unknown
	bs := &BuildScript{}
	for _, line := range logicalLines(text) {
		trimmed := strings.TrimSpace(line)
		if trimmed == "" {
			continue
		}
		if body, ok := commentBody(trimmed); ok {
			// A commented-out assignment is an alternative the user may
			// switch to: only the ISAPI upload link is worth keeping.
			// Both forms: "* HTTP_UPLOADURL = ..." and "* #DEFINE HTTP_UPLOADURL ...".
			alt := strings.TrimSpace(stripInlineComment(body))
			name, expr, ok := parseAssignment(alt)
			if !ok {
				name, expr, ok = parseDefine(alt)
			}
			if ok && name == prgUpload {
				if v, ok := evalExpr(expr, vals); ok && isISAPIUpload(v) {
					bs.ISAPIUploadURL = v
				}
			}
			continue
		}
		code := strings.TrimSpace(stripInlineComment(trimmed))
		if name, expr, ok := parseDefine(code); ok {
			setValue(vals, computed, name, expr)
			continue
		}
		if name, expr, ok := parseAssignment(code); ok {
			setValue(vals, computed, name, expr)
			continue
		}
		if names, expr, ok := parseStore(code); ok {
			for _, n := range names {
				setValue(vals, computed, n, expr)
			}
		}
	}
	bs.ExeFile = vals[prgExe]
	bs.UploadURL = strings.TrimSpace(vals[prgUpload])
	bs.UpdateURL = strings.TrimSpace(vals[prgUpdate])
	bs.Username = strings.TrimSpace(vals[prgUsername])
	for _, n := range []string{prgExe, prgUpload, prgUpdate} {
		if computed[n] {
			bs.Computed = append(bs.Computed, n)
		}
	}
	return bs, nil
}

func setValue(vals map[string]string, computed map[string]bool, name, expr string) {
	if v, ok := evalExpr(expr, vals); ok {
		vals[name] = v
		delete(computed, name)
		return
	}
	delete(vals, name)
	computed[name] = true
}

// decodeFoxText turns the file into a string: FoxPro writes ANSI
// (Windows-1252) unless the editor saved UTF-8.
func decodeFoxText(b []byte) string {
	b = bytes.TrimPrefix(b, []byte("\xef\xbb\xbf"))
	if utf8.Valid(b) {
		return string(b)
	}
	out, err := charmap.Windows1252.NewDecoder().Bytes(b)
	if err != nil {
		return strings.ToValidUTF8(string(b), "\uFFFD")
	}
	return string(out)
}

// logicalLines splits on any line ending and joins lines whose code ends
// with ';' (FoxPro's continuation).
func logicalLines(text string) []string {
	text = strings.ReplaceAll(text, "\r\n", "\n")
	text = strings.ReplaceAll(text, "\r", "\n")
	var out []string
	var cur strings.Builder
	for _, l := range strings.Split(text, "\n") {
		code := strings.TrimRight(stripInlineComment(l), " \t")
		if strings.HasSuffix(code, ";") {
			cur.WriteString(strings.TrimSuffix(code, ";"))
			cur.WriteByte(' ')
			continue
		}
		cur.WriteString(l)
		out = append(out, cur.String())
		cur.Reset()
	}
	if cur.Len() > 0 {
		out = append(out, cur.String())
	}
	return out
}

// commentBody reports a whole-line comment and returns its text.
func commentBody(line string) (string, bool) {
	switch {
	case strings.HasPrefix(line, "*"):
		return strings.TrimLeft(line, "* \t"), true
	case strings.HasPrefix(line, "&&"):
		return strings.TrimSpace(line[2:]), true
	case len(line) >= 4 && strings.EqualFold(line[:4], "NOTE") && (len(line) == 4 || line[4] == ' ' || line[4] == '\t'):
		return strings.TrimSpace(line[4:]), true
	}
	return "", false
}

// outsideStrings calls visit with each byte offset of s that is not inside a
// FoxPro string literal ("…", '…', or […] where a value may start), until
// visit returns false.
func outsideStrings(s string, visit func(i int) bool) {
	var quote byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '"' || c == '\'':
			quote = c
		case c == '[' && startsOperand(s[:i]):
			quote = ']'
		default:
			if !visit(i) {
				return
			}
		}
	}
}

// stripInlineComment cuts an "&&" comment that is not inside a string.
func stripInlineComment(line string) string {
	cut := len(line)
	outsideStrings(line, func(i int) bool {
		if strings.HasPrefix(line[i:], "&&") {
			cut = i
			return false
		}
		return true
	})
	return line[:cut]
}

// startsOperand says whether '[' after prefix opens a string rather than an
// array index: it does unless it follows a name or a closing bracket.
func startsOperand(prefix string) bool {
	p := strings.TrimRight(prefix, " \t")
	if p == "" {
		return true
	}
	c := p[len(p)-1]
	return !(isIdentByte(c) || c == ')' || c == ']')
}

func isIdentByte(c byte) bool {
	return c == '_' || c == '.' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
}

// readIdent returns a leading identifier (with an optional "m." prefix
// dropped) in upper case and the rest.
func readIdent(s string) (string, string) {
	i := 0
	for i < len(s) && isIdentByte(s[i]) {
		i++
	}
	id := strings.ToUpper(s[:i])
	id = strings.TrimPrefix(id, "M.")
	if id == "" || (id[0] >= '0' && id[0] <= '9') || strings.Contains(id, ".") {
		return "", s
	}
	return id, s[i:]
}

// parseDefine matches "#DEFINE NAME value" (any case).
func parseDefine(line string) (string, string, bool) {
	if len(line) < 8 || !strings.EqualFold(line[:7], "#DEFINE") || (line[7] != ' ' && line[7] != '\t') {
		return "", "", false
	}
	name, rest := readIdent(strings.TrimLeft(line[7:], " \t"))
	if name == "" {
		return "", "", false
	}
	return name, strings.TrimSpace(rest), true
}

// parseAssignment matches "NAME = expr" (also "m.NAME = expr").
func parseAssignment(line string) (string, string, bool) {
	name, rest := readIdent(strings.TrimSpace(line))
	if name == "" {
		return "", "", false
	}
	rest = strings.TrimLeft(rest, " \t")
	if !strings.HasPrefix(rest, "=") || strings.HasPrefix(rest, "==") {
		return "", "", false
	}
	return name, strings.TrimSpace(rest[1:]), true
}

// parseStore matches "STORE expr TO NAME[, NAME…]".
func parseStore(line string) ([]string, string, bool) {
	if len(line) < 6 || !strings.EqualFold(line[:5], "STORE") || (line[5] != ' ' && line[5] != '\t') {
		return nil, "", false
	}
	rest := line[6:]
	i := lastIndexFoldOutsideStrings(rest, " TO ")
	if i < 0 {
		return nil, "", false
	}
	var names []string
	for _, n := range strings.Split(rest[i+4:], ",") {
		id, tail := readIdent(strings.TrimSpace(n))
		if id == "" || strings.TrimSpace(tail) != "" {
			return nil, "", false
		}
		names = append(names, id)
	}
	return names, strings.TrimSpace(rest[:i]), true
}

func lastIndexFoldOutsideStrings(s, sep string) int {
	found := -1
	outsideStrings(s, func(i int) bool {
		if i+len(sep) <= len(s) && strings.EqualFold(s[i:i+len(sep)], sep) {
			found = i
		}
		return true
	})
	return found
}

// evalExpr evaluates literal strings and known names joined by '+', with
// optional parentheses around the whole. Anything else is not known.
func evalExpr(expr string, vals map[string]string) (string, bool) {
	s := strings.TrimSpace(expr)
	for len(s) >= 2 && s[0] == '(' && s[len(s)-1] == ')' {
		s = strings.TrimSpace(s[1 : len(s)-1])
	}
	if s == "" {
		return "", false
	}
	var out strings.Builder
	for {
		s = strings.TrimLeft(s, " \t")
		if s == "" {
			return "", false
		}
		switch c := s[0]; c {
		case '"', '\'', '[':
			end := byte(c)
			if c == '[' {
				end = ']'
			}
			j := strings.IndexByte(s[1:], end)
			if j < 0 {
				return "", false
			}
			out.WriteString(s[1 : 1+j])
			s = s[2+j:]
		default:
			id, rest := readIdent(s)
			if id == "" {
				return "", false
			}
			v, ok := vals[id]
			if !ok {
				return "", false
			}
			out.WriteString(v)
			s = rest
		}
		s = strings.TrimLeft(s, " \t")
		if s == "" {
			return out.String(), true
		}
		if s[0] != '+' {
			return "", false
		}
		s = s[1:]
	}
}

func isISAPIUpload(u string) bool {
	return strings.Contains(strings.ToLower(u), "wwmaint~fileupload")
}

// ExePath returns the EXE the script builds, for a script at scriptPath:
// EXE_FILE plus ".exe", relative to the project folder, which is the
// script's own folder (the .pjx lives beside it).
func (b *BuildScript) ExePath(scriptPath string) string {
	exe := strings.TrimSpace(b.ExeFile)
	if exe == "" {
		return ""
	}
	if !strings.HasSuffix(strings.ToLower(exe), ".exe") {
		exe += ".exe"
	}
	if isWindowsAbs(exe) {
		return exe
	}
	exe = filepath.FromSlash(strings.ReplaceAll(exe, `\`, "/"))
	if filepath.IsAbs(exe) {
		return exe
	}
	return filepath.Join(filepath.Dir(LocalPath("", scriptPath)), exe)
}

// Server turns the script's links into a base URL and flavor, plus explicit
// links only where the derived ones would differ from what the script uses.
func (b *BuildScript) Server() (base, flavor, uploadURL, updateURL string, err error) {
	if b.UploadURL == "" {
		return "", "", "", "", fmt.Errorf("no literal HTTP_UPLOADURL found")
	}
	flavor = FlavorModule
	if isISAPIUpload(b.UploadURL) {
		flavor = FlavorISAPI
	}
	u, err := url.Parse(b.UploadURL)
	if err != nil || u.Host == "" {
		return "", "", "", "", fmt.Errorf("HTTP_UPLOADURL %q is not a URL", redactURL(b.UploadURL))
	}
	if u.User != nil {
		return "", "", "", "", fmt.Errorf("HTTP_UPLOADURL contains a user name or password; remove it from the script")
	}
	// The application's folder is the link's folder.
	dir := u.Path
	if i := strings.LastIndexByte(dir, '/'); i >= 0 {
		dir = dir[:i+1]
	} else {
		dir = "/"
	}
	base = (&url.URL{Scheme: u.Scheme, Host: u.Host, Path: dir}).String()
	base, err = NormalizeBaseURL(base)
	if err != nil {
		return "", "", "", "", fmt.Errorf("HTTP_UPLOADURL: %w", err)
	}
	dUp, dUpd, _, err := DeriveURLs(flavor, base)
	if err != nil {
		return "", "", "", "", err
	}
	if !sameLink(dUp, b.UploadURL) {
		uploadURL = b.UploadURL
	}
	if b.UpdateURL != "" && !sameLink(dUpd, b.UpdateURL) {
		updateURL = b.UpdateURL
	}
	return base, flavor, uploadURL, updateURL, nil
}

// sameLink compares links as Web Connection routes them: action names are
// case-insensitive, and so are host names.
func sameLink(a, b string) bool {
	return strings.EqualFold(strings.TrimSpace(a), strings.TrimSpace(b))
}
