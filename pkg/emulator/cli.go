package emulator

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"time"
)

// Helpers for running the emulator from a command line
// ('wcdeploy emulate').

// LogTo is a Config.Log that writes one line per request with logf.
// Handlers log from their own goroutines; logf is called by one at a time.
func LogTo(logf func(string, ...any)) func(RequestLog) {
	var mu sync.Mutex
	return func(r RequestLog) {
		user := r.User
		if user == "" {
			user = "-"
		}
		target := r.Path
		if r.Query != "" {
			target += "?" + r.Query
		}
		mu.Lock()
		defer mu.Unlock()
		logf("%s %s %s user=%s status=%d bytes=%d %s", r.Time.Format("15:04:05"), r.Method, target, user, r.Status, r.BodyBytes, r.Duration.Round(time.Millisecond))
	}
}

// SwapDelayFlag is the Config.SwapDelay for a swap delay a user gave: an
// explicit 0 means no wait (in Config, 0 means the default).
func SwapDelayFlag(d time.Duration) time.Duration {
	if d == 0 {
		return -1
	}
	return d
}

// PrintLinks says where the emulator listens and what it serves.
func (s *Server) PrintLinks(w io.Writer) {
	base := s.URL()
	cf := s.Config()
	fmt.Fprintf(w, "Web Connection emulator (%s) listening on %s\n", cf.Flavor, base)
	upload, update, status := base+"UploadExe.wc", base+"UpdateExe.wc", base+"ModuleAdministration.wc"
	if cf.Flavor == ISAPI {
		upload, update, status = base+"wc.wc?wwMaint~FileUpload", base+"wc.wc?_maintain~UpdateExe", base+"wc.wc?_maintain~ShowStatus"
	}
	fmt.Fprintf(w, "  upload:  %s\n  update:  %s\n  status:  %s\n", upload, update, status)
	fmt.Fprintf(w, "  ExeFile: %s (FileVersion %s)\n  UpdateFile: %s\n", s.ExePath(), s.ExeVersion(), s.UpdatePath())
	names := make([]string, 0, len(cf.Users))
	for n := range cf.Users {
		names = append(names, n)
	}
	fmt.Fprintf(w, "  auth: %s, users: %s, AdminAccount: %q\n", cf.Auth, strings.Join(names, ", "), cf.AdminAccount)
}

// CheckListen keeps the emulator on loopback unless told otherwise: it
// accepts any password a test sets, over plain HTTP.
func CheckListen(addr string, allowRemote bool) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("--listen %q is not host:port: %w", addr, err)
	}
	if allowRemote {
		return nil
	}
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("--listen %s is not a loopback address: add --allow-remote to serve other machines", addr)
}

// ParseUsers merges --user flags and --users-file lines (NAME:PASSWORD).
func ParseUsers(flags []string, file string) (map[string]string, error) {
	users := map[string]string{}
	add := func(where, v string) error {
		name, pass, ok := strings.Cut(v, ":")
		if !ok || name == "" {
			// Never echo the value: it holds a password.
			return fmt.Errorf("%s: a user must be NAME:PASSWORD", where)
		}
		users[name] = pass
		return nil
	}
	for i, v := range flags {
		if err := add(fmt.Sprintf("--user #%d", i+1), v); err != nil {
			return nil, err
		}
	}
	if file == "" {
		return users, nil
	}
	f, err := os.Open(file)
	if err != nil {
		return nil, fmt.Errorf("cannot read --users-file: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if err := add(fmt.Sprintf("%s line %d", file, n), line); err != nil {
			return nil, err
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("cannot read --users-file: %w", err)
	}
	return users, nil
}
