package lock

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wcdeploy/wcdeploy/internal/exitcode"
)

// The test binary doubles as the process that holds the lock:
// LOCK_TEST_HELPER selects what it does with the lock at LOCK_TEST_PATH.
//
//	hold       take it, print "locked", hold it until stdin closes, release
//	crash      take it, print "locked", exit without releasing
//	critical   take it (waiting), prove nobody else is inside, release
func TestMain(m *testing.M) {
	if mode := os.Getenv("LOCK_TEST_HELPER"); mode != "" {
		os.Exit(helper(mode, os.Getenv("LOCK_TEST_PATH")))
	}
	os.Exit(m.Run())
}

func helper(mode, path string) int {
	me := Info{PID: os.Getpid(), Host: ThisHost(), RunID: "child-" + strconv.Itoa(os.Getpid()), Command: "deploy", Scope: `profile "prod" of /p/wcdeploy.yaml`, Since: time.Now()}
	opts := Options{Poll: 5 * time.Millisecond}
	if mode == "critical" {
		// Start together: the parent writes a line to every child at once.
		_, _ = bufio.NewReader(os.Stdin).ReadString('\n')
		opts.Wait = time.Minute
		opts.Waiting = func(*Info) { fmt.Println("waited") }
	}
	l, err := Acquire(context.Background(), path, me, opts)
	if err != nil {
		fmt.Println("error:", err)
		return 1
	}
	switch mode {
	case "hold":
		fmt.Println("locked")
		_, _ = io.Copy(io.Discard, os.Stdin)
	case "crash":
		fmt.Println("locked")
		os.Exit(3) // no Release: the OS drops the lock, the file keeps the details
	case "critical":
		// A second holder would find the marker: O_EXCL fails if it exists.
		mark := path + ".inside"
		f, err := os.OpenFile(mark, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
		if err != nil {
			fmt.Println("overlap:", err)
			return 2
		}
		f.Close()
		time.Sleep(20 * time.Millisecond)
		os.Remove(mark)
	}
	if err := l.Release(); err != nil {
		fmt.Println("error:", err)
		return 1
	}
	return 0
}

type child struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	out   *bufio.Reader
}

// start runs the test binary as a helper and, for hold and crash, waits
// until it holds the lock.
func start(t *testing.T, mode, path string) *child {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "LOCK_TEST_HELPER="+mode, "LOCK_TEST_PATH="+path)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c := &child{cmd: cmd, stdin: stdin, out: bufio.NewReader(stdout)}
	t.Cleanup(func() {
		stdin.Close()
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})
	if mode == "hold" || mode == "crash" {
		line, err := c.out.ReadString('\n')
		if strings.TrimSpace(line) != "locked" {
			t.Fatalf("helper %s: %q %v", mode, line, err)
		}
	}
	return c
}

func me(run string) Info {
	return Info{PID: os.Getpid(), Host: ThisHost(), RunID: run, Command: "rollback", Scope: `profile "prod" of /p/wcdeploy.yaml`, Since: time.Now()}
}

func TestHeldByAnotherProcess(t *testing.T) {
	path := Path(t.TempDir(), "/p/wcdeploy.yaml\x00prod")
	c := start(t, "hold", path)

	_, err := Acquire(context.Background(), path, me("second"), Options{})
	var held *HeldError
	if !errors.As(err, &held) {
		t.Fatalf("second Acquire: %v", err)
	}
	if exitcode.Of(err) != exitcode.Locked {
		t.Errorf("exit code %d, want %d", exitcode.Of(err), exitcode.Locked)
	}
	pid := c.cmd.Process.Pid
	if held.Holder == nil || held.Holder.PID != pid || held.Holder.RunID != "child-"+strconv.Itoa(pid) {
		t.Fatalf("holder %+v, want pid %d", held.Holder, pid)
	}
	msg := err.Error()
	for _, want := range []string{"child-" + strconv.Itoa(pid), "pid " + strconv.Itoa(pid), "on host " + ThisHost(), "since ", `profile "prod"`, "--wait-lock", "nothing was contacted"} {
		if !strings.Contains(msg, want) {
			t.Errorf("message lacks %q: %s", want, msg)
		}
	}

	// A short wait ends with the same error, saying how long it waited.
	_, err = Acquire(context.Background(), path, me("third"), Options{Wait: 30 * time.Millisecond, Poll: 5 * time.Millisecond})
	if !errors.As(err, &held) || !strings.Contains(err.Error(), "after waiting 30ms") {
		t.Errorf("waited Acquire: %v", err)
	}

	// A cancelled wait is an interrupt.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = Acquire(ctx, path, me("fourth"), Options{Wait: time.Hour})
	if exitcode.Of(err) != exitcode.Interrupted {
		t.Errorf("cancelled wait: %v (code %d)", err, exitcode.Of(err))
	}
}

func TestWaitsForTheHolder(t *testing.T) {
	path := Path(t.TempDir(), "k")
	c := start(t, "hold", path)

	var told atomic.Pointer[Info]
	got := make(chan error, 1)
	var l *Lock
	go func() {
		var err error
		l, err = Acquire(context.Background(), path, me("waiter"), Options{
			Wait: time.Minute, Poll: 5 * time.Millisecond,
			Waiting: func(h *Info) {
				told.Store(h)
				c.stdin.Close() // the holder finishes once we wait
			},
		})
		got <- err
	}()
	err := <-got
	c.stdin.Close() // a broken lock would not wait: end the holder anyway
	if err != nil {
		t.Fatal(err)
	}
	if err := c.cmd.Wait(); err != nil {
		t.Fatalf("holder: %v", err)
	}
	if h := told.Load(); h == nil || h.PID != c.cmd.Process.Pid {
		t.Errorf("Waiting told %+v", h)
	}
	if prev, ok := l.TookOver(); ok {
		t.Errorf("a released lock was taken over from %+v", prev)
	}
	in, ok := readInfo(l.f)
	if !ok || in.RunID != "waiter" || in.PID != os.Getpid() {
		t.Errorf("lock file holds %+v", in)
	}
	if err := l.Release(); err != nil {
		t.Fatal(err)
	}
	if err := l.Release(); err != nil {
		t.Errorf("second Release: %v", err)
	}
	if b, err := os.ReadFile(path); err != nil || len(b) != 0 {
		t.Errorf("released lock file holds %q, %v", b, err)
	}
}

func TestStaleLockIsTakenOver(t *testing.T) {
	for _, how := range []string{"crash", "kill"} {
		t.Run(how, func(t *testing.T) {
			path := Path(t.TempDir(), "k")
			mode := how
			if how == "kill" {
				mode = "hold"
			}
			c := start(t, mode, path)
			pid := c.cmd.Process.Pid
			if how == "kill" {
				if err := c.cmd.Process.Kill(); err != nil {
					t.Fatal(err)
				}
			}
			_ = c.cmd.Wait()
			if alive(pid) {
				t.Fatalf("pid %d still alive after it was reaped", pid)
			}
			l, err := Acquire(context.Background(), path, me("next"), Options{})
			if err != nil {
				t.Fatalf("stale lock not taken over: %v", err)
			}
			defer l.Release()
			prev, ok := l.TookOver()
			if !ok || prev.PID != pid || prev.RunID != "child-"+strconv.Itoa(pid) || prev.Host != ThisHost() {
				t.Errorf("TookOver = %+v, %v; want pid %d", prev, ok, pid)
			}
			if in, ok := readInfo(l.f); !ok || in.RunID != "next" {
				t.Errorf("lock file holds %+v", in)
			}
		})
	}
}

// Processes racing for the lock: every one gets it in turn, never two at
// once (each proves it with an O_EXCL marker file while inside).
func TestMutualExclusionAcrossProcesses(t *testing.T) {
	path := Path(t.TempDir(), "race")
	const n = 6
	var kids []*child
	for range n {
		kids = append(kids, start(t, "critical", path))
	}
	for _, c := range kids {
		if _, err := io.WriteString(c.stdin, "go\n"); err != nil {
			t.Fatal(err)
		}
	}
	waited := 0
	for i, c := range kids {
		out, _ := io.ReadAll(c.out)
		if err := c.cmd.Wait(); err != nil {
			t.Errorf("child %d: %v: %s", i, err, out)
		}
		waited += strings.Count(string(out), "waited")
	}
	t.Logf("%d of %d processes found the lock held and waited", waited, n)
	if _, err := os.Stat(path + ".inside"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("marker left: %v", err)
	}
}

// Goroutines of one process, each with its own handle, exclude each other
// too (flock and LockFileEx work per open file).
func TestMutualExclusionInProcess(t *testing.T) {
	path := Path(t.TempDir(), "inproc")
	var inside, overlaps atomic.Int32
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for i := range 8 {
		wg.Go(func() {
			l, err := Acquire(context.Background(), path, me(fmt.Sprint("g", i)), Options{Wait: time.Minute, Poll: time.Millisecond})
			if err != nil {
				errs <- err
				return
			}
			if inside.Add(1) > 1 {
				overlaps.Add(1)
			}
			time.Sleep(time.Millisecond)
			inside.Add(-1)
			errs <- l.Release()
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if overlaps.Load() != 0 {
		t.Errorf("%d overlaps", overlaps.Load())
	}
}

func TestUnreadableHolder(t *testing.T) {
	dir := t.TempDir()
	path := Path(dir, "k")
	l, err := Acquire(context.Background(), path, me("first"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Release()
	if err := l.f.Truncate(0); err != nil { // as if the holder had not written yet
		t.Fatal(err)
	}
	_, err = Acquire(context.Background(), path, me("second"), Options{})
	var held *HeldError
	if !errors.As(err, &held) || held.Holder != nil || !strings.Contains(err.Error(), "could not be read") || !strings.Contains(err.Error(), path) {
		t.Errorf("err = %v", err)
	}
}

func TestPathAndAlive(t *testing.T) {
	a, b := Path("/s", "x\x00prod"), Path("/s", "y\x00prod")
	if a == b || filepath.Dir(a) != filepath.Join("/s", Dir) || !strings.HasSuffix(a, ".lock") {
		t.Errorf("paths %s %s", a, b)
	}
	if Path("/s", "x\x00prod") != a {
		t.Error("Path is not stable")
	}
	if !alive(os.Getpid()) {
		t.Error("this process is not alive")
	}
	if alive(0) || alive(-1) {
		t.Error("pid 0 or -1 alive")
	}
	if _, err := Acquire(context.Background(), filepath.Join("/dev/null", "x", "k.lock"), me("x"), Options{}); err == nil || !strings.Contains(err.Error(), "WCDEPLOY_STATE_DIR") {
		t.Errorf("unwritable folder: %v", err)
	}
}
