//go:build linux || darwin

// Command bench measures wcdeploy on loopback against the emulator and prints
// ratios measured in the same run (go run ./bench; -h for sizes and runs):
// upload throughput of the upload request of `wcdeploy deploy --stage-only`
// (timed by its -v line) against `curl -F` (its %{time_total}) on the same
// emulator and file (median ratio of alternating runs, target >= 0.90; the
// whole command's wall time beside it, as information);
// peak RSS of a small and a large upload, Basic and NTLM (the large within
// 5 MiB of the small); body bytes the emulator received for one NTLM upload
// over the request size (target 1.0); and a 50-server rollout with a 3 s swap
// delay and parallel 10, wall time over the ideal (target <= 1.3); and three
// servers behind a real HAProxy under 50 user requests a second, failed
// requests without and with drain hooks (target 0 with) and wall time with
// over without (target <= 1.2).
package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/wcdeploy/wcdeploy/pkg/emulator"
	"github.com/wcdeploy/wcdeploy/pkg/sampleexe"
	"github.com/wcdeploy/wcdeploy/pkg/uploader"
)

const (
	user     = "bench"
	password = "bench-password"
)

type result struct {
	name, value, target string
	ok                  bool
}

func main() {
	runs := flag.Int("runs", 9, "alternating runs per client for the throughput benchmark")
	tputMiB := flag.Int64("throughput-mib", 256, "file size for the throughput benchmark (MiB)")
	smallMiB := flag.Int64("small-mib", 10, "small file for the memory benchmark (MiB)")
	largeMiB := flag.Int64("large-mib", 1024, "large file for the memory benchmark (MiB)")
	servers := flag.Int("servers", 50, "servers in the rollout benchmark")
	parallel := flag.Int("parallel", 10, "parallel in the rollout benchmark")
	swapDelay := flag.Duration("swap-delay", 3*time.Second, "emulated swap delay in the rollout benchmark")
	lbRate := flag.Int("lb-rate", 50, "user requests a second through HAProxy in the zero-downtime benchmark")
	only := flag.String("only", "", "run only these benchmarks (comma list: throughput,memory,ntlm,rollout,zerodowntime)")
	outFile := flag.String("out", "", "also write the results table to this file (docs/bench-results.txt is the one the docs show)")
	flag.Parse()

	work, err := os.MkdirTemp("", "wcdeploy-bench-")
	check(err)
	defer os.RemoveAll(work)
	bin := filepath.Join(work, "wcdeploy")
	fmt.Fprintf(os.Stderr, "building wcdeploy...\n")
	build := exec.Command("go", "build", "-o", bin, "./cmd/wcdeploy")
	build.Stderr = os.Stderr
	check(build.Run())

	want := func(n string) bool { return *only == "" || strings.Contains(","+*only+",", ","+n+",") }
	var results []result
	if want("throughput") {
		results = append(results, benchThroughput(work, bin, *tputMiB<<20, *runs)...)
	}
	if want("memory") {
		results = append(results, benchMemory(work, bin, *smallMiB<<20, *largeMiB<<20)...)
	}
	if want("ntlm") {
		results = append(results, benchNTLMBytes(work, bin)...)
	}
	if want("rollout") {
		results = append(results, benchRollout(work, bin, *servers, *parallel, *swapDelay)...)
	}
	if want("zerodowntime") {
		results = append(results, benchZeroDowntime(work, *swapDelay, *lbRate)...)
	}

	var table strings.Builder
	fmt.Fprintf(&table, "machine: %s/%s, %d CPUs, %s; %s\n", runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), cpuModel(), runtime.Version())
	fmt.Fprintf(&table, "%-56s %-40s %-10s %s\n", "benchmark", "measured", "target", "met")
	failed := false
	for _, r := range results {
		met := "yes"
		if !r.ok {
			met = "NO"
			failed = true
		}
		fmt.Fprintf(&table, "%-56s %-40s %-10s %s\n", r.name, r.value, r.target, met)
	}
	fmt.Printf("\n%s", table.String())
	if *outFile != "" {
		head := fmt.Sprintf("# go run ./bench %s, %s\n", strings.Join(os.Args[1:], " "), time.Now().UTC().Format("2006-01-02 15:04 MST"))
		check(os.WriteFile(*outFile, []byte(head+table.String()), 0o644))
	}
	if failed {
		os.Exit(1)
	}
}

func startEmulator(dir string, auth string, delay time.Duration) *emulator.Server {
	srv, err := emulator.New(emulator.Config{
		Flavor:          emulator.Module715,
		Users:           map[string]string{user: password},
		Auth:            auth,
		Dir:             dir,
		InitialVersion:  "1.0.0.0",
		SwapDelay:       delay,
		MaxRequestBytes: 1 << 40,
	})
	check(err)
	check(srv.Start("127.0.0.1:0"))
	return srv
}

func writeExe(path string, size int64, version string) {
	check(sampleexe.WriteFile(path, sampleexe.Options{FileVersion: version, Size: size}))
}

// stageCmd uploads without swapping, so only the transfer is timed; -v
// prints each request with its duration, which benchThroughput reads.
func stageCmd(bin, exe, url, auth string) *exec.Cmd {
	cmd := exec.Command(bin, "deploy", "--stage-only", "--force", "-v",
		"--exe", exe, "--url", url, "--flavor", "module", "--user", user, "--auth", auth)
	cmd.Env = append(os.Environ(), "WCDEPLOY_PASSWORD="+password, "WCDEPLOY_STATE_DIR="+filepath.Join(filepath.Dir(exe), "state"))
	return cmd
}

func timed(cmd *exec.Cmd) (time.Duration, *syscall.Rusage) {
	d, ru, _ := timedOutput(cmd)
	return d, ru
}

// timedOutput runs cmd and returns its wall time, its resource use and what
// it printed (stdout and stderr).
func timedOutput(cmd *exec.Cmd) (time.Duration, *syscall.Rusage, string) {
	var out bytes.Buffer
	cmd.Stderr = &out
	cmd.Stdout = &out
	start := time.Now()
	if err := cmd.Run(); err != nil {
		fmt.Fprintf(os.Stderr, "%s failed: %v\n%s\n", strings.Join(cmd.Args, " "), err, out.String())
		os.Exit(1)
	}
	return time.Since(start), cmd.ProcessState.SysUsage().(*syscall.Rusage), out.String()
}

// uploadLine is wcdeploy -v's line for the upload request that staged the
// EXE: its bytes and its duration, from the request to the reply's end.
var uploadLine = regexp.MustCompile(`POST \S*UploadExe\.wc -> 200, (\d+) B sent, \d+ B received, ([0-9.]+(?:µs|ms|s)),`)

// uploadTime is the duration of the upload request in wcdeploy -v's output.
func uploadTime(out string) time.Duration {
	m := uploadLine.FindStringSubmatch(out)
	if m == nil {
		fmt.Fprintf(os.Stderr, "no upload request in wcdeploy -v's output:\n%s\n", out)
		os.Exit(1)
	}
	d, err := time.ParseDuration(m[2])
	check(err)
	return d
}

// benchThroughput compares the upload itself: curl's transfer time
// (%{time_total}: connect, request, reply) against the duration of the
// request wcdeploy staged the EXE with. The whole stage-only command
// (process start, preflight, the size probe, the journal and the archive
// copy after the upload) is shown beside it, as information.
func benchThroughput(work, bin string, size int64, runs int) []result {
	dir := filepath.Join(work, "tput")
	check(os.MkdirAll(dir, 0o755))
	srv := startEmulator(filepath.Join(dir, "server"), "basic", 0)
	defer srv.Close()
	exe := filepath.Join(dir, "WcBench.exe")
	writeExe(exe, size, "2.0.0.1")
	var ratios, cmdRatios []float64
	var wcTimes, curlTimes, cmdTimes []time.Duration
	for i := 0; i < runs; i++ {
		curl := exec.Command("curl", "-sS", "-f", "-o", "/dev/null", "-w", "%{time_total}", "-u", user+":"+password,
			"-F", "File=@"+exe, srv.URL()+"UploadExe.wc")
		cwall, cru, cout := timedOutput(curl)
		secs, err := strconv.ParseFloat(strings.TrimSpace(cout), 64)
		check(err)
		ct := time.Duration(secs * float64(time.Second))
		wall, wru, out := timedOutput(stageCmd(bin, exe, srv.URL(), "basic"))
		wt := uploadTime(out)
		curlTimes, wcTimes, cmdTimes = append(curlTimes, ct), append(wcTimes, wt), append(cmdTimes, wall)
		ratios = append(ratios, ct.Seconds()/wt.Seconds())
		cmdRatios = append(cmdRatios, cwall.Seconds()/wall.Seconds())
		fmt.Fprintf(os.Stderr, "throughput run %d: curl %v (%.0f MiB/s; command %v, CPU %v), wcdeploy upload %v (%.0f MiB/s; command %v, CPU %v)\n", i+1,
			ct.Round(time.Millisecond), mibps(size, ct), cwall.Round(time.Millisecond), cpu(cru),
			wt.Round(time.Millisecond), mibps(size, wt), wall.Round(time.Millisecond), cpu(wru))
	}
	r, cr := median(ratios), median(cmdRatios)
	return []result{
		{fmt.Sprintf("upload throughput %d MiB, wcdeploy/curl", size>>20),
			fmt.Sprintf("%.2f (median of %d; %.0f vs %.0f MiB/s)", r, runs, mibps(size, medianDur(wcTimes)), mibps(size, medianDur(curlTimes))),
			">= 0.90", r >= 0.90},
		{"  whole stage-only command, curl/wcdeploy wall time",
			fmt.Sprintf("%.2f (median of %d; wcdeploy %v)", cr, runs, medianDur(cmdTimes).Round(time.Millisecond)),
			"(info)", true},
	}
}

func benchMemory(work, bin string, small, large int64) []result {
	var out []result
	for _, auth := range []string{"basic", "ntlm"} {
		dir := filepath.Join(work, "mem-"+auth)
		check(os.MkdirAll(dir, 0o755))
		srv := startEmulator(filepath.Join(dir, "server"), auth, 0)
		rss := map[int64]int64{}
		for _, size := range []int64{small, large} {
			exe := filepath.Join(dir, fmt.Sprintf("WcMem%d.exe", size>>20))
			writeExe(exe, size, "3.0.0.1")
			_, ru := timed(stageCmd(bin, exe, srv.URL(), auth))
			rss[size] = ru.Maxrss * 1024 // KiB on Linux
			check(os.Remove(exe))
			fmt.Fprintf(os.Stderr, "memory %s %d MiB: max RSS %.1f MiB\n", auth, size>>20, float64(rss[size])/(1<<20))
		}
		srv.Close()
		diff := rss[large] - rss[small]
		out = append(out, result{
			fmt.Sprintf("peak RSS %d MiB - %d MiB upload (%s)", large>>20, small>>20, auth),
			fmt.Sprintf("%+.1f MiB (%.1f vs %.1f)", float64(diff)/(1<<20), float64(rss[large])/(1<<20), float64(rss[small])/(1<<20)),
			"<= +5 MiB", diff <= 5<<20,
		})
	}
	return out
}

func benchNTLMBytes(work, bin string) []result {
	dir := filepath.Join(work, "ntlm")
	check(os.MkdirAll(dir, 0o755))
	srv := startEmulator(filepath.Join(dir, "server"), "ntlm", 0)
	defer srv.Close()
	exe := filepath.Join(dir, "WcNtlm.exe")
	writeExe(exe, 64<<20, "4.0.0.1")
	body, err := uploader.NewBody(exe, "")
	check(err)
	reqSize := body.Len()
	body.Close()
	before := srv.BodyBytes()
	timed(stageCmd(bin, exe, srv.URL(), "ntlm"))
	got := srv.BodyBytes() - before
	ratio := float64(got) / float64(reqSize)
	return []result{{"NTLM upload: body bytes received / request size",
		fmt.Sprintf("%.3f (%d / %d)", ratio, got, reqSize), "1.0", got == reqSize}}
}

func benchRollout(work, bin string, n, parallel int, delay time.Duration) []result {
	dir := filepath.Join(work, "rollout")
	check(os.MkdirAll(dir, 0o755))
	var lines []string
	for i := 0; i < n; i++ {
		srv := startEmulator(filepath.Join(dir, fmt.Sprintf("s%02d", i)), "basic", delay)
		defer srv.Close()
		lines = append(lines, fmt.Sprintf("      - {name: web%02d, url: %q}", i+1, srv.URL()))
	}
	exe := filepath.Join(dir, "WcFarm.exe")
	writeExe(exe, 4<<20, "5.0.0.1")
	cfg := fmt.Sprintf("profiles:\n  farm:\n    exe: WcFarm.exe\n    username: %s\n    flavor: module\n    auth: basic\n    rollout: {parallel: %d, canary: 1}\n    servers:\n%s\n",
		user, parallel, strings.Join(lines, "\n"))
	cfgPath := filepath.Join(dir, "wcdeploy.yaml")
	check(os.WriteFile(cfgPath, []byte(cfg), 0o644))
	farm := func(extra ...string) *exec.Cmd {
		cmd := exec.Command(bin, append([]string{"deploy", "--quiet", "--config", cfgPath}, extra...)...)
		cmd.Env = append(os.Environ(), "WCDEPLOY_PASSWORD="+password, "WCDEPLOY_STATE_DIR="+filepath.Join(dir, "state"))
		return cmd
	}

	// The ideal is what the plan cannot avoid: its preflight and uploads to
	// every server (measured: the same farm staged without a swap), then one
	// swap delay per batch, since batches run one after another.
	stageDur, _ := timed(farm("--stage-only", "--force"))
	wall, _ := timed(farm())
	canary := 1
	batches := canary + (n-canary+parallel-1)/parallel
	ideal := stageDur + time.Duration(batches)*delay
	ratio := wall.Seconds() / ideal.Seconds()
	fmt.Fprintf(os.Stderr, "rollout: stage-only %v, full deploy %v, %d batches x %v\n",
		stageDur.Round(time.Millisecond), wall.Round(time.Millisecond), batches, delay)
	return []result{{fmt.Sprintf("rollout %d servers, parallel %d, swap %v: wall/ideal", n, parallel, delay),
		fmt.Sprintf("%.2f (%v / %v)", ratio, wall.Round(10*time.Millisecond), ideal.Round(10*time.Millisecond)), "<= 1.30", ratio <= 1.3}}
}

// cpu is the user plus system CPU time a child process used.
func cpu(ru *syscall.Rusage) time.Duration {
	return (time.Duration(ru.Utime.Nano()) + time.Duration(ru.Stime.Nano())).Round(time.Millisecond)
}

func mibps(size int64, d time.Duration) float64 { return float64(size) / (1 << 20) / d.Seconds() }

func median(xs []float64) float64 {
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	return s[len(s)/2]
}

func medianDur(xs []time.Duration) time.Duration {
	s := append([]time.Duration(nil), xs...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}

func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return "unknown CPU"
	}
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "model name") {
			if i := strings.Index(l, ":"); i >= 0 {
				return strings.TrimSpace(l[i+1:])
			}
		}
	}
	return "unknown CPU"
}

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}
