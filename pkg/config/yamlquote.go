package config

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"unicode"

	yaml "go.yaml.in/yaml/v3"
)

// yamlQuote writes s as a YAML scalar that reads back as s. Single quotes
// are used whenever they can hold the text, since inside them a backslash
// is just a backslash ('CORP\deploy', 'build\App.exe'), as Windows users
// write it; only text with control characters, which single quotes cannot
// carry, is written double-quoted with escapes.
func yamlQuote(s string) string {
	for _, r := range s {
		if r != '\t' && !unicode.IsPrint(r) && r != ' ' {
			return yamlDoubleQuote(s)
		}
	}
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}

// yamlDoubleQuote writes s as a JSON string, which YAML reads as the same text.
func yamlDoubleQuote(s string) string {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(s); err != nil {
		return `""`
	}
	return strings.TrimSuffix(buf.String(), "\n")
}

// yamlEscapes are the characters that may follow a backslash inside a
// double-quoted YAML scalar (YAML 1.2, 5.7).
const yamlEscapes = "0abt\tnvfre \"/\\N_LPxuU"

// badEscape is a backslash inside double quotes that YAML refuses.
type badEscape struct {
	line  int    // 1-based
	key   string // the key the value belongs to, "" when not found
	value string // the quoted text as written, quotes included
	seq   string // the backslash and the character after it
}

// keyBefore matches the key just before a value: "exe: ", "{name: x, username: ".
var keyBefore = regexp.MustCompile(`([A-Za-z_][A-Za-z0-9_.-]*)\s*:\s*$`)

// findBadEscape finds the first backslash in a double-quoted scalar that is
// not a YAML escape, so that the "found unknown escape character" of the
// YAML reader can name the line and key (it does not always give a line).
// A string spanning lines is not followed; such values are not in wcdeploy.yaml.
func findBadEscape(data []byte) (badEscape, bool) {
	for i, line := range strings.Split(string(data), "\n") {
		if b, ok := badEscapeInLine(strings.TrimRight(line, "\r")); ok {
			b.line = i + 1
			return b, true
		}
	}
	return badEscape{}, false
}

func badEscapeInLine(line string) (badEscape, bool) {
	var quote byte
	start := 0
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case quote == '\'':
			if c == '\'' {
				quote = 0 // '' inside is read as a closing and an opening quote: the same
			}
		case quote == '"':
			switch c {
			case '"':
				quote = 0
			case '\\':
				if i+1 >= len(line) {
					return badEscape{}, false // continued on the next line
				}
				if n := line[i+1]; !strings.ContainsRune(yamlEscapes, rune(n)) || !hexFollows(line[i+1:]) {
					b := badEscape{value: quotedAt(line, start), seq: line[i : i+2]}
					if m := keyBefore.FindStringSubmatch(line[:start]); m != nil {
						b.key = m[1]
					}
					return b, true
				}
				i++
			}
		case c == '#' && (i == 0 || line[i-1] == ' ' || line[i-1] == '\t'):
			return badEscape{}, false
		case c == '"' || c == '\'':
			quote, start = c, i
		}
	}
	return badEscape{}, false
}

// hexFollows checks the digits of \x, \u and \U; other escapes pass.
func hexFollows(s string) bool {
	n := map[byte]int{'x': 2, 'u': 4, 'U': 8}[s[0]]
	if len(s) < 1+n {
		return false
	}
	for _, c := range s[1 : 1+n] {
		if !strings.ContainsRune("0123456789abcdefABCDEF", c) {
			return false
		}
	}
	return true
}

// quotedAt is the double-quoted text starting at start, quotes included.
func quotedAt(line string, start int) string {
	for i := start + 1; i < len(line); i++ {
		switch line[i] {
		case '\\':
			i++
		case '"':
			return line[start : i+1]
		}
	}
	return line[start:]
}

// escapeAdvice turns YAML's escape errors into what to write instead.
func escapeAdvice(path string, data []byte, yamlErr error) error {
	msg := yamlErr.Error()
	if !strings.Contains(msg, "escape") && !strings.Contains(msg, "hexdecimal") {
		return nil
	}
	b, ok := findBadEscape(data)
	if !ok {
		return nil
	}
	return usageErr("%s:%d: %s", path, b.line, b.advice())
}

func (b badEscape) advice() string {
	return backslashAdvice(b.key, b.value, "where YAML reads it as an escape ("+b.seq+" is not a YAML escape)")
}

// backslashAdvice says how to write value (double-quoted, as written) of key
// so that its backslashes stay backslashes.
func backslashAdvice(key, value, why string) string {
	what := value
	if key != "" {
		what = key + ": " + value
	}
	inner := strings.TrimSuffix(strings.TrimPrefix(value, `"`), `"`)
	return fmt.Sprintf("%s has a backslash inside double quotes, %s; write the value in single quotes, %s, or double each backslash, %s",
		what, why, yamlQuote(inner), yamlDoubleQuote(inner))
}

// controlChars are what an escape such as \n or \t turns into; no value in
// wcdeploy.yaml holds them, so a double-quoted value with one is a Windows
// path or DOMAIN\name whose backslash YAML took for an escape.
func hasControlChars(s string) bool {
	return strings.IndexFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f || r == 0x85 || r == 0x2028 || r == 0x2029 }) >= 0
}

// checkEscapedValues refuses a double-quoted value that YAML read with a
// control character in it: "CORP\nancy" is a line break, "build\tools" a
// tab. It names the line and key and says how to write the value.
func checkEscapedValues(path string, data []byte, n *yaml.Node) error {
	var walk func(n *yaml.Node, key string) error
	walk = func(n *yaml.Node, key string) error {
		switch n.Kind {
		case yaml.ScalarNode:
			// A health check's contains: may mean its escapes ("a\nb").
			if n.Style&yaml.DoubleQuotedStyle != 0 && hasControlChars(n.Value) && key != "contains" {
				lines := strings.Split(string(data), "\n")
				value := ""
				if n.Line >= 1 && n.Line <= len(lines) && n.Column >= 1 && n.Column <= len(lines[n.Line-1]) {
					value = quotedAt(strings.TrimRight(lines[n.Line-1], "\r"), n.Column-1)
				}
				return usageErr("%s:%d: %s", path, n.Line, backslashAdvice(key, value, "which YAML read as an escape (a line break or tab)"))
			}
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				if err := walk(n.Content[i+1], n.Content[i].Value); err != nil {
					return err
				}
			}
		default:
			for _, c := range n.Content {
				if err := walk(c, key); err != nil {
					return err
				}
			}
		}
		return nil
	}
	return walk(n, "")
}
