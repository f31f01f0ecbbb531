package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wcdeploy/wcdeploy/pkg/emulator"
	"github.com/wcdeploy/wcdeploy/pkg/sampleexe"
)

// The transcript harness (walk_test.go) beyond one 'wcdeploy emulate':
//
//   - A document's docTest may start a farm of emulators in-process, each
//     under a name (web1) and the loopback address the document writes for
//     it (127.0.0.1:8081), and write the local EXE its config names.
//   - <!-- transcript: exit 7 --> marks a transcript whose commands exit 7
//     (any other exit code fails the test); options are separated by
//     commas: "terminal", "exit N", "parallel".
//   - "parallel" marks the output of servers worked on at once: each
//     server's "[i/n] name: ..." lines must come in the order shown, and
//     the other lines in theirs, but the servers' lines may interleave in
//     any order; the block keeps the order it was recorded in.
//   - <!-- fault: web3 swap-copy once --> (no block after it) injects an
//     emulator fault (pkg/emulator's FaultKind names) into that server of
//     the farm, for its next matching request ("once") or for good.

// docTest is one document whose blocks TestDocTranscripts runs.
type docTest struct {
	path    string
	project string // the project folder's name: /home/you/<project>
	setup   func(t *testing.T, w *walk)
}

func docTests() []docTest {
	return []docTest{
		{path: "README.md", project: "Orders"},
		{path: "docs/getting-started.md", project: "Orders"},
		{path: "docs/emulator.md", project: "Orders"},
		{path: "docs/rollouts.md", project: "Shop", setup: shopFarm},
		{path: "docs/troubleshooting.md", project: "App", setup: windowsLogin},
		{path: "docs/authentication.md", project: "App", setup: kerberosLab},
	}
}

// docPassword is the password of the farms' user "deploy", given to the
// commands in WCDEPLOY_PASSWORD (a document about rollouts shows no login).
const docPassword = "Docs-Secret-1"

// docSwapDelay is the farms' swap delay: short, so the documents run
// quickly; the timings they show are normalised anyway.
const docSwapDelay = 30 * time.Millisecond

// farmServer is one emulator of a farm.
type farmServer struct {
	name, addr string // as the document writes them
	cfg        emulator.Config
}

// startFarm starts the servers on free loopback ports, maps the
// document's addresses to theirs and gives the commands the password.
func (w *walk) startFarm(t *testing.T, servers ...farmServer) {
	for _, fs := range servers {
		cfg := fs.cfg
		cfg.Users = map[string]string{"deploy": docPassword}
		cfg.SwapDelay = docSwapDelay
		// Dir unset: a new wcemulator-* folder, shown as 'wcdeploy
		// emulate' shows its own, and removed by Close.
		s, err := emulator.New(cfg)
		if err == nil {
			err = s.Start("127.0.0.1:0")
		}
		if err != nil {
			t.Fatalf("emulator %s: %v", fs.name, err)
		}
		t.Cleanup(func() { _ = s.Close() })
		w.mu.Lock()
		w.addrs[fs.addr] = strings.TrimSuffix(strings.TrimPrefix(s.URL(), "http://"), "/")
		w.mu.Unlock()
		w.farm[fs.name] = s
	}
	w.env["WCDEPLOY_PASSWORD"] = docPassword
}

// writeExe writes a real PE with a version resource into the project.
func (w *walk) writeExe(t *testing.T, name, version string, size int64) {
	p := filepath.Join(w.dir, filepath.FromSlash(name))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := sampleexe.WriteFile(p, sampleexe.Options{FileVersion: version, Size: size}); err != nil {
		t.Fatal(err)
	}
}

// shopFarm is docs/rollouts.md's farm of three: web1..web3 run Shop.exe
// 1.4.0.7, and build/Shop.exe is 1.4.0.8.
func shopFarm(t *testing.T, w *walk) {
	cfg := emulator.Config{Auth: emulator.AuthBasic, ExeName: "Shop.exe", InitialVersion: "1.4.0.7"}
	w.startFarm(t,
		farmServer{"web1", "127.0.0.1:8081", cfg},
		farmServer{"web2", "127.0.0.1:8082", cfg},
		farmServer{"web3", "127.0.0.1:8083", cfg})
	w.writeExe(t, "build/Shop.exe", "1.4.0.8", 2_300_000)
}

// windowsLogin is docs/troubleshooting.md's server: IIS with Windows
// authentication (Negotiate and NTLM), App.exe 1.4.0.7; App.exe is 1.4.0.8.
func windowsLogin(t *testing.T, w *walk) {
	w.startFarm(t, farmServer{"web1", "127.0.0.1:8080", emulator.Config{Auth: emulator.AuthNTLM, ExeName: "App.exe", InitialVersion: "1.4.0.7"}})
	w.writeExe(t, "App.exe", "1.4.0.8", 2<<20)
}

// transcriptOpts are a transcript marker's options.
type transcriptOpts struct {
	terminal bool // stdin and stderr are a terminal (a prompt reads the password)
	exit     int  // every command's expected exit code
	parallel bool // the servers' lines may interleave
}

// parseMarker reads one line of a document: a transcript, file or fault
// marker (ok), or anything else.
func parseMarker(t *testing.T, line int, marker string) (block, bool) {
	inner, ok := strings.CutPrefix(marker, "<!-- ")
	if inner, ok = strings.CutSuffix(inner, " -->"); !ok {
		return block{}, false
	}
	kind, arg, _ := strings.Cut(inner, ": ")
	switch {
	case inner == "transcript":
		return block{kind: "transcript"}, true
	case kind == "file":
		return block{kind: "file", file: arg}, true
	case kind == "fault":
		return block{kind: "fault", fault: arg}, true
	case kind != "transcript":
		return block{}, false
	}
	b := block{kind: "transcript"}
	for _, o := range strings.Split(arg, ",") {
		o = strings.TrimSpace(o)
		switch n, isExit := strings.CutPrefix(o, "exit "); {
		case o == "terminal":
			b.opts.terminal = true
		case o == "parallel":
			b.opts.parallel = true
		case isExit:
			code, err := strconv.Atoi(n)
			if err != nil {
				t.Fatalf("line %d: %q: exit takes a number", line, marker)
			}
			b.opts.exit = code
		default:
			t.Fatalf("line %d: %q: unknown transcript option %q (terminal, exit N, parallel)", line, marker, o)
		}
	}
	return b, true
}

// inject reads a fault marker, "SERVER KIND [once]", and injects it.
func (w *walk) inject(t *testing.T, spec string) {
	words := strings.Fields(spec)
	if len(words) < 2 || len(words) > 3 || (len(words) == 3 && words[2] != "once") {
		t.Fatalf("fault %q: write SERVER KIND [once]", spec)
	}
	s, ok := w.farm[words[0]]
	if !ok {
		t.Fatalf("fault %q: the document's farm has no server %s", spec, words[0])
	}
	f := emulator.Fault{Kind: emulator.FaultKind(words[1])}
	switch f.Kind {
	case emulator.FaultSwapCopy, emulator.FaultVersionMismatch, emulator.FaultHealthFail, emulator.FaultUploadDeleteFails:
	default:
		t.Fatalf("fault %q: this harness injects swap-copy, version-mismatch, health-fail or upload-delete-fails", spec)
	}
	if len(words) == 3 {
		f.Times = 1
	}
	s.Inject(f)
}

var (
	reLoopback    = regexp.MustCompile(`\b(?:127\.0\.0\.1|localhost):\d+\b`)
	reRequestTime = regexp.MustCompile(`(?m)^(request .* B received, )[0-9.]+(?:µs|ms|s),`)
	reReceived    = regexp.MustCompile(`\b\d+ B received\b`)
	reServerLine  = regexp.MustCompile(`^\[\d+/\d+\] `)
)

// docRunIDs are the run ids the docs show, in the order runs first appear.
var docRunIDs = []string{"20261126T015904Z-f3ab6e", "20261126T015904Z-364c33", "20261126T015904Z-7d01a9", "20261126T015904Z-c2e85b"}

// docNames writes the emulators' addresses and the run ids as the docs
// show them: each real run id gets the next of docRunIDs, so a later
// command can name it.
func (w *walk) docNames(s string) string {
	w.mu.Lock()
	defer w.mu.Unlock()
	doc := map[string]string{}
	for d, r := range w.addrs {
		doc[r] = d
	}
	for _, a := range w.aliases {
		s = strings.ReplaceAll(s, a[1], a[0])
	}
	s = reLoopback.ReplaceAllStringFunc(s, func(a string) string {
		if d, ok := doc[a]; ok {
			return d
		}
		return a
	})
	return reRunID.ReplaceAllStringFunc(s, func(id string) string {
		if d, ok := w.runIDs[id]; ok {
			return d
		}
		if len(w.runIDs) == len(docRunIDs) {
			return id // more runs than docRunIDs: the doc shows a real id and the test fails
		}
		d := docRunIDs[len(w.runIDs)]
		w.runIDs[id] = d
		return d
	})
}

// matchBlock compares what the commands printed with the block in the
// doc, and returns the block to write back. Ignored: how wide the columns
// of a table came out (a timing one digit longer widens one), the sizes of
// replies in -v request lines (pages that show dates), and with parallel
// how the servers' lines interleave. What matched in the doc stays as it
// is, but for column widths.
func matchBlock(got, body []string, parallel bool) ([]string, bool) {
	if parallel {
		g, b := byServer(got), byServer(body)
		if len(g) != len(b) {
			return got, false
		}
		for k, lines := range g {
			if _, ok := matchBlock(lines, b[k], false); !ok {
				return got, false
			}
		}
		return body, true
	}
	if len(got) != len(body) {
		return got, false
	}
	out := make([]string, len(got))
	for i := range got {
		switch {
		case words(got[i]) == words(body[i]):
			out[i] = got[i]
		case reReceived.ReplaceAllString(words(got[i]), "N B received") == reReceived.ReplaceAllString(words(body[i]), "N B received"):
			out[i] = body[i]
		default:
			return got, false
		}
	}
	return out, true
}

func words(s string) string { return strings.Join(strings.Fields(s), " ") }

// byServer splits a log into each server's lines ("[2/3] web2: ...") and
// the other lines (key "").
func byServer(lines []string) map[string][]string {
	m := map[string][]string{}
	for _, line := range lines {
		k := reServerLine.FindString(line)
		m[k] = append(m[k], line)
	}
	return m
}
