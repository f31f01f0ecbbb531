package credentials

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/spf13/pflag"

	"github.com/wcdeploy/wcdeploy/internal/exitcode"
	"github.com/wcdeploy/wcdeploy/internal/ui"
)

// KeychainService is the service name of every keychain entry wcdeploy writes.
const KeychainService = "wcdeploy"

// Keychain timeouts. go-keyring has none, and a locked keyring may wait
// forever for an unlock dialog nobody sees; a person at a terminal gets long
// enough to type an unlock password.
const (
	DefaultTimeout     = 5 * time.Second
	InteractiveTimeout = 60 * time.Second
)

// MaxKeychainPassword is the longest password the keychain accepts: Windows
// Credential Manager refuses blobs over 2560 bytes, so every OS gets the same
// limit and a stored password works everywhere.
const MaxKeychainPassword = 2560

// maxSecretInput bounds what is read from stdin or a password file, so a
// wrong file (an EXE, a log) is refused instead of read into memory.
const maxSecretInput = 64 << 10

var (
	// ErrNoCredential means no source had a password and nobody can be asked.
	ErrNoCredential = errors.New("no password available")
	// ErrNotStored means the keychain has no entry for the user and host.
	ErrNotStored = errors.New("no password stored in the OS keychain")
	// ErrKeychainTimeout means the keychain did not answer in time.
	ErrKeychainTimeout = errors.New("the OS keychain did not answer in time (it may be locked and waiting for an unlock prompt)")
)

// Request says whose password is wanted and which flags the user gave.
type Request struct {
	User string
	// Host is the server's host with its port, as HostOf returns it; a full
	// URL is accepted too.
	Host          string
	PasswordStdin bool
	PasswordFile  string
}

// Keyring is the OS keychain; SystemKeyring is the real one.
type Keyring interface {
	Get(service, account string) (string, error)
	Set(service, account, secret string) error
	Delete(service, account string) error
}

// Resolver finds passwords. One Resolver serves a whole run: the password
// read from stdin is read once and reused for every server, and a password
// typed at the prompt is reused for every server with the same user.
type Resolver struct {
	Streams *ui.Streams
	Getenv  func(string) string
	// Keyring is the OS keychain; nil skips the keychain entirely.
	Keyring Keyring
	// Timeout bounds each keychain call; 0 means DefaultTimeout, or
	// InteractiveTimeout when a person can answer an unlock prompt.
	Timeout time.Duration

	mu        sync.Mutex
	stdinDone bool
	stdinPass string
	stdinErr  error
	prompted  map[string]string // user -> password typed this run
	broken    error             // why the keychain failed; it is not asked again this run
	handed    []string          // every password Resolve gave out, for Secrets
}

// Secrets lists the passwords this resolver has given out, so that what
// runs beside a deploy (hooks) can be kept from ever seeing them.
func (r *Resolver) Secrets() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.handed...)
}

// AddFlags registers --password-stdin and --password-file on fs.
func AddFlags(fs *pflag.FlagSet, req *Request) {
	fs.BoolVar(&req.PasswordStdin, "password-stdin", false, "read the password from the first line of stdin")
	fs.StringVar(&req.PasswordFile, "password-file", "", "read the password from the first line of `PATH`")
}

// HostOf returns the keychain host of a server URL: host and port,
// lower-cased, without the scheme's default port, so that
// https://Web1:443/app and https://web1/app share one entry.
func HostOf(serverURL string) (string, error) {
	u, err := url.Parse(strings.TrimSpace(serverURL))
	if err != nil || u.Hostname() == "" {
		return "", exitcode.Errorf(exitcode.Usage, "server URL %q has no host: write it as https://host[:port]/app", serverURL)
	}
	host := strings.ToLower(u.Host)
	switch {
	case u.Scheme == "https" && strings.HasSuffix(host, ":443"):
		host = strings.TrimSuffix(host, ":443")
	case u.Scheme == "http" && strings.HasSuffix(host, ":80"):
		host = strings.TrimSuffix(host, ":80")
	}
	return host, nil
}

// Account is the keychain account for user on host: "<user>@<host>".
func Account(user, host string) string {
	if strings.Contains(host, "://") {
		if h, err := HostOf(host); err == nil {
			host = h
		}
	}
	return user + "@" + strings.ToLower(host)
}

func (req Request) account() string { return Account(req.User, req.Host) }

func (req Request) check() error {
	if req.PasswordStdin && req.PasswordFile != "" {
		return exitcode.Errorf(exitcode.Usage, "--password-stdin and --password-file cannot be used together: choose one")
	}
	return nil
}

func (r *Resolver) getenv(k string) string {
	if r.Getenv == nil {
		return ""
	}
	return r.Getenv(k)
}

func (r *Resolver) interactive() bool {
	return r.Streams != nil && r.Streams.Interactive() && r.Streams.ReadSecret != nil
}

func (r *Resolver) timeout() time.Duration {
	switch {
	case r.Timeout > 0:
		return r.Timeout
	case r.interactive():
		return InteractiveTimeout
	default:
		return DefaultTimeout
	}
}

// Resolve returns the credential for req from the first source that has one:
// stdin, file, environment, keychain, prompt. Without a terminal and without
// a password it fails at once with exit code 3 and says how to provide one.
func (r *Resolver) Resolve(ctx context.Context, req Request) (Credential, error) {
	cred, err := r.resolve(ctx, req)
	if err == nil && cred.Password != "" {
		r.mu.Lock()
		r.handed = append(r.handed, cred.Password)
		r.mu.Unlock()
	}
	return cred, err
}

func (r *Resolver) resolve(ctx context.Context, req Request) (Credential, error) {
	if err := req.check(); err != nil {
		return Credential{}, err
	}
	if req.User == "" {
		return Credential{}, exitcode.Errorf(exitcode.Usage, "no user name for %s: set username in the profile, --user or WCDEPLOY_USER (DOMAIN\\user or user@domain for Windows accounts)", req.Host)
	}
	cred := Credential{User: req.User}
	switch {
	case req.PasswordStdin:
		p, err := r.readStdin(ctx)
		cred.Password, cred.Source = p, SourceStdin
		return cred, err
	case req.PasswordFile != "":
		p, err := r.readFile(req.PasswordFile)
		cred.Password, cred.Source = p, SourceFile
		return cred, err
	}
	if p := r.getenv(EnvPassword); p != "" {
		cred.Password, cred.Source = p, SourceEnv
		return cred, nil
	}
	keyErr := error(nil)
	if r.Keyring != nil && req.Host != "" {
		p, err := r.get(ctx, req)
		switch {
		case err == nil:
			cred.Password, cred.Source = p, SourceKeychain
			return cred, nil
		case ctx.Err() != nil:
			return Credential{}, ctx.Err()
		case !errors.Is(err, ErrNotStored):
			keyErr = err
		}
	}
	if r.interactive() {
		if keyErr != nil {
			// Say why the keychain was passed over; the prompt is not a
			// silent fallback.
			fmt.Fprintf(r.Streams.Err, "wcdeploy: %v\n", keyErr)
		}
		p, err := r.prompt(ctx, req)
		cred.Password, cred.Source = p, SourcePrompt
		return cred, err
	}
	return Credential{}, r.noCredential(req, keyErr)
}

func (r *Resolver) noCredential(req Request, keyErr error) error {
	msg := fmt.Sprintf("no password for %s at %s and no terminal to ask on: set %s, pipe it with --password-stdin, pass --password-file, or store it once with 'wcdeploy login'",
		req.User, req.Host, EnvPassword)
	if keyErr != nil {
		cause := keyErr
		var ke *KeychainError
		if errors.As(keyErr, &ke) {
			cause = ke.Err
		}
		msg += fmt.Sprintf(" (the OS keychain could not be read: %s)", keychainCause(cause))
	}
	return exitcode.New(exitcode.Auth, &noCredentialError{msg: msg, keyErr: keyErr})
}

// noCredentialError is ErrNoCredential plus, when there was one, the
// keychain failure that left no other source.
type noCredentialError struct {
	msg    string
	keyErr error
}

func (e *noCredentialError) Error() string { return e.msg }

func (e *noCredentialError) Unwrap() []error {
	if e.keyErr == nil {
		return []error{ErrNoCredential}
	}
	return []error{ErrNoCredential, e.keyErr}
}

// Which says which source Resolve would use, without reading stdin and
// without returning any secret (for `auth status`).
func (r *Resolver) Which(ctx context.Context, req Request) (Source, error) {
	if err := req.check(); err != nil {
		return "", err
	}
	switch {
	case req.PasswordStdin:
		return SourceStdin, nil
	case req.PasswordFile != "":
		if _, err := os.Stat(req.PasswordFile); err != nil {
			return "", exitcode.Errorf(exitcode.Usage, "cannot read the password file: %w", err)
		}
		return SourceFile, nil
	}
	if r.getenv(EnvPassword) != "" {
		return SourceEnv, nil
	}
	var keyErr error
	if r.Keyring != nil && req.Host != "" && req.User != "" {
		_, err := r.get(ctx, req)
		switch {
		case err == nil:
			return SourceKeychain, nil
		case ctx.Err() != nil:
			return "", ctx.Err()
		case !errors.Is(err, ErrNotStored):
			keyErr = err
		}
	}
	if r.interactive() {
		return SourcePrompt, nil
	}
	return "", r.noCredential(req, keyErr)
}

// Store saves password in the keychain for req's user and host.
func (r *Resolver) Store(ctx context.Context, req Request, password string) error {
	if err := r.needKeychain(req); err != nil {
		return err
	}
	switch {
	case password == "":
		return exitcode.Errorf(exitcode.Usage, "refusing to store an empty password")
	case len(password) > MaxKeychainPassword:
		return exitcode.Errorf(exitcode.Usage, "the password is %d bytes; the OS keychain holds at most %d (a Windows limit): use %s or --password-file instead",
			len(password), MaxKeychainPassword, EnvPassword)
	}
	_, err := r.call(ctx, "save", req, func() (string, error) {
		return "", r.Keyring.Set(KeychainService, req.account(), password)
	})
	return err
}

// Forget deletes the keychain entry for req's user and host. When there is
// none the error wraps ErrNotStored.
func (r *Resolver) Forget(ctx context.Context, req Request) error {
	if err := r.needKeychain(req); err != nil {
		return err
	}
	_, err := r.call(ctx, "delete", req, func() (string, error) {
		return "", r.Keyring.Delete(KeychainService, req.account())
	})
	return err
}

func (r *Resolver) needKeychain(req Request) error {
	switch {
	case r.Keyring == nil:
		return exitcode.Errorf(exitcode.Auth, "no OS keychain is available here: use %s, --password-file or --password-stdin", EnvPassword)
	case req.User == "" || req.Host == "":
		return exitcode.Errorf(exitcode.Usage, "a keychain entry needs a user and a host (got user %q, host %q): set username (--user) and the server URLs in the profile", req.User, req.Host)
	}
	return nil
}

func (r *Resolver) get(ctx context.Context, req Request) (string, error) {
	p, err := r.call(ctx, "read", req, func() (string, error) {
		return r.Keyring.Get(KeychainService, req.account())
	})
	if err == nil && p == "" {
		// An empty entry is as good as none; never send an empty password.
		return "", fmt.Errorf("%w for %s", ErrNotStored, req.account())
	}
	return p, err
}

// KeychainError is a keychain call that failed for a reason other than a
// missing entry: locked, unavailable, or too slow.
type KeychainError struct {
	Op      string // "read", "save", "delete"
	Account string
	Err     error
}

func (e *KeychainError) Error() string {
	return fmt.Sprintf("could not %s the password of %s in the OS keychain: %s; unlock the keychain (or start a Secret Service on Linux), or use %s, --password-file or --password-stdin",
		e.Op, e.Account, keychainCause(e.Err), EnvPassword)
}

// keychainCause says in the user's terms what the keychain library's error
// means: on a Linux shell without a desktop session there is no D-Bus
// session bus, and the library's own text names the program it tried to
// start (dbus-launch), not the missing Secret Service.
func keychainCause(err error) string {
	msg := err.Error()
	switch {
	case strings.Contains(msg, "dbus-launch"), strings.Contains(msg, "DBUS_SESSION_BUS_ADDRESS"),
		strings.Contains(msg, "org.freedesktop.secrets"):
		return "there is no Secret Service on this machine (no D-Bus session with gnome-keyring or KWallet)"
	}
	return msg
}

func (e *KeychainError) Unwrap() error { return e.Err }

// Cause is what went wrong, in the user's terms (keychainCause).
func (e *KeychainError) Cause() string { return keychainCause(e.Err) }

// call runs one keychain operation under the timeout. A call that never
// returns leaves its goroutine behind; the process still moves on, which is
// the point.
func (r *Resolver) call(ctx context.Context, op string, req Request, f func() (string, error)) (string, error) {
	// A locked or missing keychain stays so for the run: don't make every
	// server of a rollout wait for the same timeout.
	r.mu.Lock()
	broken := r.broken
	r.mu.Unlock()
	if broken != nil {
		return "", exitcode.New(exitcode.Auth, &KeychainError{Op: op, Account: req.account(), Err: broken})
	}
	s, err := r.callOnce(ctx, op, req, f)
	var ke *KeychainError
	if errors.As(err, &ke) {
		r.mu.Lock()
		if r.broken == nil {
			r.broken = ke.Err
		}
		r.mu.Unlock()
	}
	return s, err
}

func (r *Resolver) callOnce(ctx context.Context, op string, req Request, f func() (string, error)) (string, error) {
	type result struct {
		s   string
		err error
	}
	ch := make(chan result, 1)
	go func() {
		s, err := f()
		ch <- result{s, err}
	}()
	d := r.timeout()
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case res := <-ch:
		switch {
		case res.err == nil:
			return res.s, nil
		case isNotFound(res.err):
			return "", fmt.Errorf("%w for %s", ErrNotStored, req.account())
		case isTooBig(res.err):
			return "", exitcode.Errorf(exitcode.Usage, "the OS keychain refused the password as too large: use %s or --password-file instead", EnvPassword)
		}
		return "", exitcode.New(exitcode.Auth, &KeychainError{Op: op, Account: req.account(), Err: res.err})
	case <-t.C:
		return "", exitcode.New(exitcode.Auth, &KeychainError{Op: op, Account: req.account(),
			Err: fmt.Errorf("%w: no answer within %s", ErrKeychainTimeout, d)})
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

func (r *Resolver) readStdin(ctx context.Context) (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.stdinDone {
		return r.stdinPass, r.stdinErr
	}
	if r.Streams == nil || r.Streams.In == nil {
		return "", exitcode.Errorf(exitcode.Usage, "--password-stdin: there is no stdin to read")
	}
	type result struct {
		s   string
		err error
	}
	ch := make(chan result, 1)
	go func() {
		s, err := readLine(r.Streams.In)
		ch <- result{s, err}
	}()
	var res result
	select {
	case res = <-ch:
	case <-ctx.Done():
		// Not cached: the read may still finish, but this run is over.
		return "", ctx.Err()
	}
	switch {
	case res.err != nil:
		res.err = exitcode.Errorf(exitcode.Usage, "--password-stdin: could not read the password: %w", res.err)
	case res.s == "":
		res.err = exitcode.Errorf(exitcode.Usage, "--password-stdin: stdin held no password (pipe it in, e.g. printf '%%s' \"$%s\" | wcdeploy ... --password-stdin)", EnvPassword)
	}
	r.stdinDone, r.stdinPass, r.stdinErr = true, res.s, res.err
	return res.s, res.err
}

// readLine reads one line a byte at a time, so nothing after it is consumed.
func readLine(in io.Reader) (string, error) {
	var b strings.Builder
	buf := make([]byte, 1)
	for b.Len() <= maxSecretInput {
		n, err := in.Read(buf)
		if n == 1 {
			if buf[0] == '\n' {
				return strings.TrimSuffix(b.String(), "\r"), nil
			}
			b.WriteByte(buf[0])
		}
		if errors.Is(err, io.EOF) {
			return strings.TrimSuffix(b.String(), "\r"), nil
		}
		if err != nil {
			return "", err
		}
	}
	return "", fmt.Errorf("the first line is longer than %d bytes", maxSecretInput)
}

func (r *Resolver) readFile(path string) (string, error) {
	f, err := os.Open(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return "", exitcode.Errorf(exitcode.Usage, "the password file %s does not exist: give --password-file the path of a file whose first line is the password", path)
	case errors.Is(err, fs.ErrPermission):
		return "", exitcode.Errorf(exitcode.Usage, "the password file %s may not be read by this user: fix its permissions, or pipe the password with --password-stdin", path)
	case err != nil:
		return "", exitcode.Errorf(exitcode.Usage, "cannot read the password file %s: %w", path, err)
	}
	defer f.Close()
	if fi, err := f.Stat(); err == nil {
		if fi.IsDir() {
			return "", exitcode.Errorf(exitcode.Usage, "password file %s is a folder: give the path of a file holding the password", path)
		}
		if runtime.GOOS != "windows" && fi.Mode().Perm()&0o077 != 0 && r.Streams != nil && r.Streams.Err != nil {
			fmt.Fprintf(r.Streams.Err, "wcdeploy: warning: password file %s can be read by other users (mode %04o); run chmod 600 %s\n", path, fi.Mode().Perm(), path)
		}
	}
	data, err := io.ReadAll(io.LimitReader(f, maxSecretInput+1))
	if err != nil {
		return "", exitcode.Errorf(exitcode.Usage, "cannot read the password file %s: %w", path, err)
	}
	if len(data) > maxSecretInput {
		return "", exitcode.Errorf(exitcode.Usage, "password file %s is larger than %d bytes: is it the right file?", path, maxSecretInput)
	}
	p, _, _ := strings.Cut(string(data), "\n")
	p = strings.TrimSuffix(p, "\r")
	if p == "" {
		return "", exitcode.Errorf(exitcode.Usage, "password file %s is empty (the password must be on its first line)", path)
	}
	return p, nil
}

func (r *Resolver) prompt(ctx context.Context, req Request) (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if p, ok := r.prompted[req.User]; ok {
		return p, nil
	}
	fmt.Fprintf(r.Streams.Err, "Password for %s at %s: ", req.User, req.Host)
	type result struct {
		s   string
		err error
	}
	ch := make(chan result, 1)
	go func() {
		s, err := r.Streams.ReadSecret()
		ch <- result{s, err}
	}()
	var res result
	select {
	case res = <-ch:
	case <-ctx.Done():
		fmt.Fprintln(r.Streams.Err)
		return "", ctx.Err()
	}
	// No echo means no newline either; end the prompt line.
	fmt.Fprintln(r.Streams.Err)
	if res.err != nil {
		return "", exitcode.Errorf(exitcode.Auth, "could not read the password from the terminal: %w", res.err)
	}
	if res.s == "" {
		return "", exitcode.Errorf(exitcode.Auth, "no password typed for %s at %s", req.User, req.Host)
	}
	if r.prompted == nil {
		r.prompted = map[string]string{}
	}
	r.prompted[req.User] = res.s
	return res.s, nil
}
