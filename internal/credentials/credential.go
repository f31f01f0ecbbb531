// Package credentials decides where the password for a server comes from:
// --password-stdin, --password-file, WCDEPLOY_PASSWORD, the OS keychain, or
// an interactive prompt, in that order. Keychain calls run under a timeout,
// because a locked keyring can block forever, and nothing here ever prints a
// password.
package credentials

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"strconv"
)

// Source names where a password came from.
type Source string

// The sources, in the order Resolve tries them.
const (
	SourceStdin    Source = "stdin"
	SourceFile     Source = "file"
	SourceEnv      Source = "env"
	SourceKeychain Source = "keychain"
	SourcePrompt   Source = "prompt"
)

// EnvPassword is the environment variable that holds the password in CI.
const EnvPassword = "WCDEPLOY_PASSWORD"

const redacted = "<redacted>"

// Credential is a user and password for one server. Every way of printing
// or encoding it (fmt verbs, JSON, text, slog) hides the password, so a
// credential that slips into a log line or an error leaks nothing. (fmt
// cannot call these methods on an unexported struct field: keep a
// Credential in exported fields or pass it on its own.)
type Credential struct {
	User     string
	Password string
	Source   Source
}

// String shows the user and where the password came from, never the password.
func (c Credential) String() string {
	if c.Source == "" {
		return fmt.Sprintf("%s (password %s)", c.User, redacted)
	}
	return fmt.Sprintf("%s (password %s, from %s)", c.User, redacted, c.Source)
}

// GoString is what %#v prints.
func (c Credential) GoString() string {
	return fmt.Sprintf("credentials.Credential{User:%q, Password:%q, Source:%q}", c.User, redacted, string(c.Source))
}

// Format handles every verb, so that %x, %q or %+v cannot reach the fields.
func (c Credential) Format(f fmt.State, verb rune) {
	switch {
	case verb == 'v' && f.Flag('#'):
		_, _ = fmt.Fprint(f, c.GoString())
	case verb == 'v' && f.Flag('+'):
		_, _ = fmt.Fprintf(f, "{User:%s Password:%s Source:%s}", c.User, redacted, c.Source)
	case verb == 'q':
		_, _ = fmt.Fprint(f, strconv.Quote(c.String()))
	default:
		_, _ = fmt.Fprint(f, c.String())
	}
}

// MarshalJSON writes the user and source; the password is replaced.
func (c Credential) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		User     string `json:"user"`
		Password string `json:"password"`
		Source   Source `json:"source,omitempty"`
	}{c.User, redacted, c.Source})
}

// MarshalText covers encoders that use encoding.TextMarshaler (XML, YAML).
func (c Credential) MarshalText() ([]byte, error) { return []byte(c.String()), nil }

// LogValue keeps the password out of structured logs.
func (c Credential) LogValue() slog.Value {
	return slog.GroupValue(slog.String("user", c.User), slog.String("password", redacted),
		slog.String("source", string(c.Source)))
}
