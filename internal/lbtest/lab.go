// Package lbtest is the load balancer lab: a real HAProxy (started by
// scripts/lblab.sh, loopback only, its own config, stopped by its PID) in
// front of emulated Web Connection servers, steady user traffic through it,
// and a rollout over the farm whose hooks drain each server in HAProxy
// (scripts/haproxy-hook.sh) around its swap. The tests and bench/ use it.
package lbtest

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Available says why the lab cannot run here, or nil.
func Available() error {
	for _, tool := range []string{"haproxy", "socat"} {
		if _, err := exec.LookPath(tool); err != nil {
			return fmt.Errorf("%s is not installed (Debian: apt-get install haproxy socat; .ci/run installs them)", tool)
		}
	}
	return nil
}

// RepoRoot is the folder of go.mod above the current folder.
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the current folder")
		}
		dir = parent
	}
}

// Backend is one node behind the balancer.
type Backend struct {
	Name string // HAProxy's name for it, in backends be and be_sticky
	Addr string // 127.0.0.1:PORT
}

// Lab is one running HAProxy.
type Lab struct {
	Dir       string // its config, PID file and runtime API socket
	Socket    string // the runtime API (unix socket)
	URL       string // round robin with health checks (backend be)
	StickyURL string // cookie persistence (backend be_sticky)
	script    string
	env       []string
}

// Start writes the config into dir and starts HAProxy; env adds LBLAB_*
// settings (health checks).
func Start(dir string, backends []Backend, env ...string) (*Lab, error) {
	root, err := RepoRoot()
	if err != nil {
		return nil, err
	}
	ports, err := freePorts(2)
	if err != nil {
		return nil, err
	}
	l := &Lab{
		Dir: dir, Socket: filepath.Join(dir, "admin.sock"),
		URL:       fmt.Sprintf("http://127.0.0.1:%d/", ports[0]),
		StickyURL: fmt.Sprintf("http://127.0.0.1:%d/", ports[1]),
		script:    filepath.Join(root, "scripts", "lblab.sh"),
		env:       append(os.Environ(), env...),
	}
	args := []string{l.script, "start", dir, strconv.Itoa(ports[0]), strconv.Itoa(ports[1])}
	for _, b := range backends {
		args = append(args, b.Name+"="+b.Addr)
	}
	if out, err := l.bash(args...); err != nil {
		return nil, fmt.Errorf("starting HAProxy: %w: %s", err, out)
	}
	return l, nil
}

func (l *Lab) bash(args ...string) ([]byte, error) {
	cmd := exec.Command("bash", args...)
	cmd.Env = l.env
	return cmd.CombinedOutput()
}

// Close stops this lab's HAProxy, and only it.
func (l *Lab) Close() error {
	if out, err := l.bash(l.script, "stop", l.Dir); err != nil {
		return fmt.Errorf("stopping HAProxy: %w: %s", err, out)
	}
	return nil
}

// API sends one runtime API command and returns the reply.
func (l *Lab) API(command string) (string, error) {
	c, err := net.DialTimeout("unix", l.Socket, 5*time.Second)
	if err != nil {
		return "", err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(c, command+"\n"); err != nil {
		return "", err
	}
	b, err := io.ReadAll(c)
	return string(b), err
}

// ServerStat is one row of "show stat".
type ServerStat struct {
	Backend, Server, Status string
	Sessions                int // current sessions (scur)
	Total                   int // sessions since start (stot)
}

// Stats reads the server rows of "show stat".
func (l *Lab) Stats() ([]ServerStat, error) {
	out, err := l.API("show stat")
	if err != nil {
		return nil, err
	}
	r := csv.NewReader(strings.NewReader(strings.TrimPrefix(out, "# ")))
	r.FieldsPerRecord = -1
	rows, err := r.ReadAll()
	if err != nil || len(rows) == 0 {
		return nil, fmt.Errorf("show stat: %v: %q", err, out)
	}
	col := map[string]int{}
	for i, name := range rows[0] {
		col[name] = i
	}
	var stats []ServerStat
	for _, row := range rows[1:] {
		if len(row) <= col["status"] || row[col["svname"]] == "FRONTEND" || row[col["svname"]] == "BACKEND" {
			continue
		}
		scur, _ := strconv.Atoi(row[col["scur"]])
		stot, _ := strconv.Atoi(row[col["stot"]])
		stats = append(stats, ServerStat{Backend: row[col["pxname"]], Server: row[col["svname"]],
			Status: row[col["status"]], Sessions: scur, Total: stot})
	}
	return stats, nil
}

// WaitUp waits until HAProxy's health checks see every server of backend
// be up.
func (l *Lab) WaitUp(ctx context.Context) error {
	for {
		stats, err := l.Stats()
		up, all := 0, 0
		for _, s := range stats {
			if s.Backend == "be" {
				all++
				if s.Status == "UP" {
					up++
				}
			}
		}
		if err == nil && all > 0 && up == all {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("HAProxy's health checks: %d of %d servers up (%v): %w", up, all, err, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func freePorts(n int) ([]int, error) {
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	var ports []int
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// Traffic is steady user traffic: one GET every 1/rate s, each on its own,
// as users' browsers send them.
type Traffic struct {
	stop chan struct{}
	done sync.WaitGroup
	mu   sync.Mutex
	res  TrafficResult
}

// TrafficResult counts the user requests and the failed ones (an error or
// any status but 200), by the node that answered (X-Lab-Server).
type TrafficResult struct {
	Total, Failed int
	FailedBy      map[string]int
	FirstFailure  string
}

// StartTraffic sends rate requests a second to url until Stop.
func StartTraffic(url string, rate int) *Traffic {
	t := &Traffic{stop: make(chan struct{}), res: TrafficResult{FailedBy: map[string]int{}}}
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	t.done.Add(1)
	go func() {
		defer t.done.Done()
		tick := time.NewTicker(time.Second / time.Duration(rate))
		defer tick.Stop()
		for {
			select {
			case <-t.stop:
				return
			case <-tick.C:
				t.done.Add(1)
				go func() {
					defer t.done.Done()
					t.record(get(client, url))
				}()
			}
		}
	}()
	return t
}

// get returns "" for a good reply, else what went wrong, and the node.
func get(c *http.Client, url string) (fail, node string) {
	resp, err := c.Get(url)
	if err != nil {
		return err.Error(), "?"
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	node = resp.Header.Get("X-Lab-Server")
	if resp.StatusCode != http.StatusOK {
		what := ""
		if strings.Contains(string(body), "Please wait") {
			what = ": Please wait... (the server holds its requests)"
		}
		return fmt.Sprintf("%s from %s%s", resp.Status, node, what), node
	}
	return "", node
}

func (t *Traffic) record(fail, node string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.res.Total++
	if fail != "" {
		t.res.Failed++
		t.res.FailedBy[node]++
		if t.res.FirstFailure == "" {
			t.res.FirstFailure = fail
		}
	}
}

// Stop ends the traffic, waits for the requests in flight and counts.
func (t *Traffic) Stop() TrafficResult {
	close(t.stop)
	t.done.Wait()
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.res
}
