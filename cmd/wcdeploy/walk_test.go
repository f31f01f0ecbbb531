package main

import (
	"bytes"
	"cmp"
	"context"
	"flag"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"testing"
	"text/tabwriter"
	"time"

	"github.com/wcdeploy/wcdeploy/internal/demo"
	"github.com/wcdeploy/wcdeploy/internal/ui"
	"github.com/wcdeploy/wcdeploy/pkg/emulator"
)

// The transcripts in the docs are run by these tests, so what a reader types
// is what the tool is tested with, and what the doc shows is what it printed.
//
// In a Markdown file, a fenced block after the line
//
//	<!-- transcript -->                (or <!-- transcript: terminal -->)
//
// holds "$ command" lines, each followed by what it printed (stdout and
// stderr, in order). The commands of a file run in order in one project
// folder, against one 'wcdeploy emulate' started by the file's own
// "$ wcdeploy emulate" line (it runs until the test ends), or against the
// farm of emulators its docTest starts (doc_farm_test.go, which also
// describes the markers for failing commands and faults). A block after
//
//	<!-- file: PATH -->
//
// is written to PATH in the project folder. The emulator's address is
// written 127.0.0.1:8080 in the docs; the test's folders, dates, run ids and
// timings are written as a reader would see them once.
//
// When the tool's output changes, rewrite the blocks with
//
//	UPDATE_DOCS=1 go test ./cmd/wcdeploy -run TestDocTranscripts
//
// (or -update) and read the diff.

func TestDocTranscripts(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("the transcripts show Unix paths")
	}
	for _, doc := range docTests() {
		t.Run(doc.path, func(t *testing.T) {
			path := filepath.Join("..", "..", filepath.FromSlash(doc.path))
			w := newWalkIn(t, doc.project)
			if doc.setup != nil {
				doc.setup(t, w)
			}
			w.run(t, path)
		})
	}
}

// docAddr is the emulator's address as the docs write it.
const docAddr = "127.0.0.1:8080"

// docHome is the folder the docs' project folders are in.
const docHome = "/home/you/"

// docStateDir is the state folder as the docs write it: Linux's default.
const docStateDir = docHome + ".local/state/wcdeploy"

// walk is the state one document's commands share.
type walk struct {
	dir      string
	env      env
	keyring  *memKeyring
	password string                      // of the emulated user, typed at a prompt
	project  string                      // the project folder as the docs write it
	farm     map[string]*emulator.Server // by the name the docs give them

	mu      sync.Mutex
	addrs   map[string]string // the emulators' real addresses by the docs' ones
	runIDs  map[string]string // the docs' run ids by the real ones
	aliases [][2]string       // other real paths: {as the docs write it, real}
}

func newWalk(t *testing.T) *walk { return newWalkIn(t, "Orders") }

// newWalkIn is a walk in the project folder the docs call /home/you/name.
func newWalkIn(t *testing.T, name string) *walk {
	dir := filepath.Join(t.TempDir(), name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return &walk{
		dir:     dir,
		env:     env{"WCDEPLOY_STATE_DIR": filepath.Join(t.TempDir(), "state"), "HOME": t.TempDir()},
		keyring: &memKeyring{entries: map[string]string{}},
		project: docHome + name,
		farm:    map[string]*emulator.Server{},
		addrs:   map[string]string{},
		runIDs:  map[string]string{},
	}
}

// block is one marked fenced block: its kind and where its body lies.
type block struct {
	kind       string // "transcript", "file" or "fault" (no body)
	file       string
	opts       transcriptOpts // of a transcript
	fault      string         // of a fault: "SERVER KIND [once]"
	start, end int            // body lines [start, end)
}

func parseBlocks(t *testing.T, lines []string) []block {
	var blocks []block
	for i := 0; i < len(lines); i++ {
		marker := strings.TrimSpace(lines[i])
		b, ok := parseMarker(t, i+1, marker)
		if !ok {
			continue
		}
		if b.kind == "fault" {
			b.start, b.end = i+1, i+1
			blocks = append(blocks, b)
			continue
		}
		if i+1 >= len(lines) || !strings.HasPrefix(strings.TrimSpace(lines[i+1]), "```") {
			t.Fatalf("line %d: %s is not followed by a fenced block", i+1, marker)
		}
		b.start = i + 2
		for b.end = b.start; b.end < len(lines) && strings.TrimSpace(lines[b.end]) != "```"; b.end++ {
		}
		if b.end == len(lines) {
			t.Fatalf("line %d: the block is not closed", i+2)
		}
		blocks = append(blocks, b)
		i = b.end
	}
	if len(blocks) == 0 {
		t.Fatal("no marked blocks")
	}
	return blocks
}

func (w *walk) run(t *testing.T, path string) {
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(raw), "\n")
	blocks := parseBlocks(t, lines)
	var out []string // the file, rewritten
	last := 0
	changed := false
	for _, b := range blocks {
		out = append(out, lines[last:b.start]...)
		body := lines[b.start:b.end]
		got := body
		switch b.kind {
		case "file":
			w.writeFile(t, b.file, body)
		case "fault":
			w.inject(t, b.fault)
		default:
			var same bool
			got, same = matchBlock(w.transcript(t, body, b.opts), body, b.opts.parallel)
			changed = changed || strings.Join(got, "\n") != strings.Join(body, "\n")
			if !same {
				if !updateDocs() {
					t.Errorf("%s line %d: the transcript differs from what wcdeploy printed; rewrite with UPDATE_DOCS=1 go test ./cmd/wcdeploy -run TestDocTranscripts\n--- printed\n%s\n--- in the doc\n%s",
						path, b.start+1, strings.Join(got, "\n"), strings.Join(body, "\n"))
				}
			}
		}
		out = append(out, got...)
		last = b.end
	}
	out = append(out, lines[last:]...)
	if changed && updateDocs() {
		if err := os.WriteFile(path, []byte(strings.Join(out, "\n")), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("rewrote %s", path)
	}
}

func updateDocs() bool {
	if os.Getenv("UPDATE_DOCS") != "" {
		return true
	}
	f := flag.Lookup("update") // internal/golden's
	return f != nil && f.Value.String() == "true"
}

func (w *walk) writeFile(t *testing.T, name string, body []string) {
	p := filepath.Join(w.dir, filepath.FromSlash(name))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	text := w.toReal(strings.Join(body, "\n") + "\n")
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

// toReal puts the emulators' real addresses where a doc writes theirs
// (127.0.0.1:8080 for 'wcdeploy emulate'), and the real run ids where it
// writes the ones it showed.
func (w *walk) toReal(s string) string {
	w.mu.Lock()
	defer w.mu.Unlock()
	s = reLoopback.ReplaceAllStringFunc(s, func(a string) string { return cmp.Or(w.addrs[a], a) })
	for real, doc := range w.runIDs {
		s = strings.ReplaceAll(s, doc, real)
	}
	for _, a := range w.aliases {
		s = strings.ReplaceAll(s, a[0], a[1])
	}
	return s
}

// transcript runs the "$ " lines of body and returns the block as the tool
// prints it.
func (w *walk) transcript(t *testing.T, body []string, o transcriptOpts) []string {
	var got []string
	for _, line := range body {
		cmdline, ok := strings.CutPrefix(line, "$ ")
		if !ok {
			continue // output of the previous command
		}
		got = append(got, line)
		if printed := w.command(t, cmdline, o); printed != "" {
			got = append(got, strings.Split(strings.TrimRight(printed, "\n"), "\n")...)
		}
	}
	return got
}

// command runs one command line: "export K=V", or "[K=V ...] wcdeploy ..."
// with an optional "printf 'text' |" before it.
func (w *walk) command(t *testing.T, cmdline string, o transcriptOpts) string {
	words := shellWords(t, w.toReal(cmdline))
	if len(words) == 2 && words[0] == "export" {
		k, v, _ := strings.Cut(words[1], "=")
		w.env[k] = v
		return ""
	}
	stdin := ""
	if len(words) > 2 && words[0] == "printf" && words[2] == "|" {
		stdin = strings.ReplaceAll(words[1], `\n`, "\n")
		words = words[3:]
	}
	e := env{}
	for k, v := range w.env {
		e[k] = v
	}
	for len(words) > 0 && strings.Contains(words[0], "=") {
		k, v, _ := strings.Cut(words[0], "=")
		e[k] = v
		words = words[1:]
	}
	if len(words) == 0 || words[0] != "wcdeploy" {
		t.Fatalf("%q: the transcripts run only wcdeploy, export and printf ... |", cmdline)
	}
	if len(words) > 1 && words[1] == "emulate" {
		return w.emulate(t, words[1:], e)
	}
	var printed syncBuffer
	s := &ui.Streams{In: strings.NewReader(stdin), Out: &printed, Err: &printed, NoColor: true}
	if o.terminal {
		s.InTTY, s.ErrTTY, s.Dumb = true, true, true
		s.ReadSecret = func() (string, error) { return w.password, nil }
	}
	code := execute(t.Context(), words[1:], w.deps(s, e))
	if code != o.exit {
		// A doc shows commands that work, or says with its marker how
		// one fails.
		t.Errorf("%s: exit %d, the doc's marker says %d\n%s", cmdline, code, o.exit, printed.String())
	}
	return w.normalise(printed.String())
}

func (w *walk) deps(s *ui.Streams, e env) deps {
	d := systemDeps(s, e.get)
	d.keyring = w.keyring
	d.getwd = func() (string, error) { return w.dir, nil }
	return d
}

// emulate starts 'wcdeploy emulate' for the rest of the test, on a free
// loopback port, and returns what it printed on starting.
func (w *walk) emulate(t *testing.T, args []string, e env) string {
	for i, a := range args {
		if a == "--user" && i+1 < len(args) {
			_, w.password, _ = strings.Cut(args[i+1], ":")
		}
	}
	var out syncBuffer
	s := &ui.Streams{In: strings.NewReader(""), Out: &out, Err: &syncBuffer{}, NoColor: true}
	d := w.deps(s, e)
	d.listen = func(network, _ string) (net.Listener, error) {
		l, err := net.Listen(network, "127.0.0.1:0")
		if err == nil {
			w.mu.Lock()
			w.addrs[docAddr] = l.Addr().String()
			w.mu.Unlock()
		}
		return l, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() { done <- execute(ctx, args, d) }()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	// The banner ends with the auth line.
	for deadline := time.Now().Add(30 * time.Second); !strings.Contains(out.String(), "  auth:"); {
		select {
		case code := <-done:
			t.Fatalf("emulate exited %d: %s", code, out.String())
		case <-time.After(5 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("emulate printed no banner: %q", out.String())
		}
	}
	time.Sleep(5 * time.Millisecond) // the banner is written in one go; let it end
	return w.normalise(out.String())
}

var (
	reRunID    = regexp.MustCompile(`\b\d{8}T\d{6}Z-[0-9a-f]{6}\b`)
	reDate     = regexp.MustCompile(`\b\d{1,2}/\d{1,2}/\d{4} \d{1,2}:\d{2}:\d{2} [AP]M\b`)
	reDateTime = regexp.MustCompile(`\b\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\b`)
	reSeconds  = regexp.MustCompile(`\b\d+\.\ds\b`)
	reCellGap  = regexp.MustCompile(`\s{2,}`)
	reHeader   = regexp.MustCompile(`^[A-Z][A-Z]+(  +[A-Z][A-Z ]*)+$`)
	reEmulator = regexp.MustCompile(`wcemulator-\d+`)
	reUpload   = regexp.MustCompile(`^(\[\d+/\d+\] ).*: upload \d+% \(`)
)

// normalise writes what varies from run to run the way the docs show it
// once: the address, the folders, run ids, dates, timings, and the upload
// progress lines (which come at a rate, not a count).
func (w *walk) normalise(s string) string {
	s = w.docNames(s)
	s = strings.ReplaceAll(s, w.dir, w.project)
	s = strings.ReplaceAll(s, w.env["WCDEPLOY_STATE_DIR"], docStateDir)
	s = strings.ReplaceAll(s, w.env["HOME"], strings.TrimSuffix(docHome, "/"))
	s = strings.ReplaceAll(s, os.TempDir()+string(filepath.Separator), "/tmp/")
	s = reEmulator.ReplaceAllString(s, "wcemulator-2718281828")
	s = reDate.ReplaceAllString(s, "11/26/2026 1:59:04 AM")
	s = reDateTime.ReplaceAllString(s, "2026-11-26 01:59:04")
	s = reRequestTime.ReplaceAllString(s, "${1}1ms,")
	s = reSeconds.ReplaceAllString(s, "1.1s")
	// Each server's upload lines: "..." where they start, then its last.
	lines := strings.Split(s, "\n")
	last := map[string]int{}
	for i, line := range lines {
		if m := reUpload.FindStringSubmatch(line); m != nil {
			last[m[1]] = i
		}
	}
	var out []string
	started := map[string]bool{}
	for i, line := range lines {
		m := reUpload.FindStringSubmatch(line)
		if m == nil {
			out = append(out, line)
			continue
		}
		if !started[m[1]] {
			started[m[1]] = true
			out = append(out, "...")
		}
		if last[m[1]] == i {
			out = append(out, line)
		}
	}
	return realign(strings.Join(out, "\n"))
}

// realign lines up the columns of each table again, since the address and
// folders the docs show are not as wide as the test's.
func realign(s string) string {
	lines := strings.Split(s, "\n")
	var b strings.Builder
	for i := 0; i < len(lines); i++ {
		if !reHeader.MatchString(lines[i]) {
			b.WriteString(lines[i])
			if i < len(lines)-1 {
				b.WriteByte('\n')
			}
			continue
		}
		j := i + 1
		for j < len(lines) && strings.Contains(strings.TrimSpace(lines[j]), "  ") {
			j++
		}
		var table bytes.Buffer
		tw := tabwriter.NewWriter(&table, 0, 0, 2, ' ', 0)
		cols := len(reCellGap.Split(lines[i], -1))
		for _, row := range lines[i:j] {
			cells := reCellGap.Split(strings.TrimRight(row, " "), -1)
			for len(cells) < cols {
				cells = append(cells, "") // an empty last cell still has a width
			}
			fmt.Fprintln(tw, strings.Join(cells, "\t")+"\t")
		}
		_ = tw.Flush()
		for _, row := range strings.Split(strings.TrimSuffix(table.String(), "\n"), "\n") {
			b.WriteString(strings.TrimRight(row, " ") + "\n")
		}
		if j == len(lines) {
			return strings.TrimSuffix(b.String(), "\n")
		}
		i = j - 1
	}
	return b.String()
}

// shellWords splits a command line as a POSIX shell would for the simple
// lines of the docs: blanks separate words, single and double quotes group,
// a word starting with # ends the line.
func shellWords(t *testing.T, line string) []string {
	var words []string
	var cur strings.Builder
	inWord := false
	var quote rune
	for _, r := range line {
		switch {
		case quote != 0 && r == quote:
			quote = 0
		case quote != 0:
			cur.WriteRune(r)
		case r == '\'' || r == '"':
			quote, inWord = r, true
		case r == ' ' || r == '\t':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		case r == '#' && !inWord:
			return words
		default:
			cur.WriteRune(r)
			inWord = true
		}
	}
	if quote != 0 {
		t.Fatalf("unclosed quote in %q", line)
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words
}

// syncBuffer is a bytes.Buffer for several goroutines (the emulator logs
// from its handlers).
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestDemoTipsWork runs the commands the demo's closing words suggest, as
// written, so the demo never sends a reader to a command that fails.
func TestDemoTipsWork(t *testing.T) {
	var body []string
	for _, line := range strings.Split(demo.Closing(false, ""), "\n") {
		if cmd, ok := strings.CutPrefix(line, "  "); ok { // an indented command
			cmd, _, _ = strings.Cut(cmd, "   (") // the words after it
			body = append(body, "$ "+cmd)
		}
	}
	if len(body) < 3 || !strings.HasPrefix(body[0], "$ wcdeploy emulate") {
		t.Fatalf("the tips start no emulator: %q", body)
	}
	w := newWalk(t)
	got := w.transcript(t, body, transcriptOpts{})
	if text := strings.Join(got, "\n"); !strings.Contains(text, "1 of 1 servers updated; exit 0") || !strings.Contains(text, "1.2.0.0") {
		t.Errorf("the tips did not deploy:\n%s", text)
	}
}
