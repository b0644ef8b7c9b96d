package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// histogram counts latencies: at 10 µs resolution up to 100 ms, at 1 ms
// resolution up to 60 s. It is safe for concurrent use.
type histogram struct {
	buckets [fineBuckets + coarseBuckets + 1]atomic.Uint64
	max     atomic.Int64
}

const (
	fineWidth     = 10 * time.Microsecond
	fineBuckets   = 10_000 // up to 100 ms
	coarseWidth   = time.Millisecond
	coarseBuckets = 59_900 // up to 60 s
)

func bucketOf(d time.Duration) int {
	if d < fineWidth*fineBuckets {
		return max(int(d/fineWidth), 0)
	}
	return min(fineBuckets+int((d-fineWidth*fineBuckets)/coarseWidth), fineBuckets+coarseBuckets)
}

// upperEdge is the largest latency bucket i holds.
func upperEdge(i int) time.Duration {
	if i < fineBuckets {
		return time.Duration(i+1) * fineWidth
	}
	return fineWidth*fineBuckets + time.Duration(i-fineBuckets+1)*coarseWidth
}

func (h *histogram) add(d time.Duration) {
	h.buckets[bucketOf(d)].Add(1)
	for {
		m := h.max.Load()
		if int64(d) <= m || h.max.CompareAndSwap(m, int64(d)) {
			return
		}
	}
}

// quantile returns the upper edge of the bucket holding quantile q (the
// maximum for the last bucket).
func (h *histogram) quantile(q float64) time.Duration {
	var total uint64
	for i := range h.buckets {
		total += h.buckets[i].Load()
	}
	if total == 0 {
		return 0
	}
	want := max(uint64(q*float64(total)+0.5), 1)
	var sum uint64
	for i := range h.buckets {
		sum += h.buckets[i].Load()
		if sum >= want {
			if i == len(h.buckets)-1 {
				break
			}
			return min(upperEdge(i), time.Duration(h.max.Load()))
		}
	}
	return time.Duration(h.max.Load())
}

// scaleOpts are the scale run's flags (registered here, parsed by main).
var scaleOpts = struct {
	ns           string
	duration     time.Duration
	rate         float64
	batch        int
	idle         time.Duration
	open         int
	toolEvery    int
	proto        string
	servers      string
	knee         string
	kneeMax      int
	kneeDuration time.Duration
	cpuProfile   string
	heapProfile  string
	exactHeap    bool
	kind         string
}{}

func init() {
	o := &scaleOpts
	flag.StringVar(&o.ns, "scale-n", "500,1000,2000", "concurrent streams of the scale runs, comma-separated (each app server runs each)")
	flag.DurationVar(&o.duration, "scale-duration", 10*time.Second, "how long each scale stream streams")
	flag.Float64Var(&o.rate, "scale-rate", 50, "events per second of each scale stream")
	flag.IntVar(&o.batch, "scale-batch", 1, "events per platform write in the scale run")
	flag.DurationVar(&o.idle, "scale-idle", 2*time.Second, "how long the scale streams stay idle (open, quiet) before streaming")
	flag.IntVar(&o.open, "scale-open", 500, "scale streams being opened at once")
	flag.IntVar(&o.toolEvery, "scale-tool-every", 200, "a server tool round after every this many deltas of a scale stream (0: none)")
	flag.StringVar(&o.proto, "platform-proto", "h2c", "how the octavus-go app server talks to the platform: h2c (HTTP/2, as over TLS to the real platform) or h1 (the Node SDK's fetch speaks HTTP/1.1)")
	flag.StringVar(&o.servers, "scale-servers", "go,hijack,raw,node", "app servers of the scale run: go (octavus-go's Handler), hijack (the Handler with HandlerOptions.Hijack), raw (a proxy on net/http that copies the platform's bytes with no SDK: the floor of any net/http app server), node (official server SDK 6.4.0 under node:http)")
	flag.StringVar(&o.knee, "knee", "50,100,200,300,2000,3000,4000,6000,8000,12000,16000", "the knee search's ladder of streams: up from the smallest -scale-n to the first N whose p99 is 50 ms or more (or, when that one misses, down to the first that holds)")
	flag.IntVar(&o.kneeMax, "knee-max", 8000, "the knee search goes no higher than this many streams (0: no knee search)")
	flag.DurationVar(&o.kneeDuration, "knee-duration", 5*time.Second, "how long each stream of a knee run streams")
	flag.StringVar(&o.cpuProfile, "server-cpuprofile", "", "write a CPU profile of the octavus-go app server to this file (streaming phase of an extra run at the largest -scale-n, after the table)")
	flag.StringVar(&o.heapProfile, "server-heapprofile", "", "write a heap profile of the octavus-go app server to this file (streams open and idle, every allocation recorded; an extra run of its own)")
	flag.StringVar(&o.kind, "server-kind", "go", "internal: the Go app server's kind (go, hijack, raw)")
	flag.BoolVar(&o.exactHeap, "server-exact-heap", false, "internal: the app server records every allocation (MemProfileRate 1) for -server-heapprofile")
}

// kneeP99 is the p99 added latency the knee search holds to.
const kneeP99 = 50 * time.Millisecond

type scaleConfig struct {
	server    string // go or node
	streams   int
	duration  time.Duration
	rate      float64
	batch     int
	idle      time.Duration
	open      int    // streams opening at once
	toolEvery int    // deltas between two server tool rounds
	proto     string // h1 or h2c (octavus-go only)
	profile   string // CPU profile of the app server's streaming phase
	// heapProfile is a heap profile of the app server with the streams
	// open and idle.
	heapProfile string
}

type scaleResult struct {
	cfg              scaleConfig
	eventsPerStream  int
	opened           int64
	want, got        int64
	written          int64
	toolRounds       int64
	failed           atomic.Int64
	firstErr         atomic.Value
	hist             histogram
	base, idle, end  procStats   // the app server, from /proc
	release          procStats   // at the release (CPU baseline)
	goIdle, goBase   serverStats // octavus-go's own view (go only)
	openTime         time.Duration
	runTime          time.Duration
	parentCPUSeconds float64
	err              error // the run could not be made
}

// ok reports whether every stream opened and got all its events.
func (r *scaleResult) ok() bool {
	return r.err == nil && r.got == r.want && r.failed.Load() == 0 && r.opened == int64(r.cfg.streams)
}

func (r *scaleResult) p99() time.Duration { return r.hist.quantile(0.99) }

// cpuPerEvent is the app server's CPU time per delivered event while
// streaming.
func (r *scaleResult) cpuPerEvent() time.Duration {
	return time.Duration((r.end.CPUSeconds - r.release.CPUSeconds) / float64(max(r.got, 1)) * 1e9)
}

// idlePerStream is the app server's RSS per open idle stream, in KiB.
func (r *scaleResult) idlePerStream() float64 {
	return float64(r.idle.RSSKiB-r.base.RSSKiB) / float64(r.cfg.streams)
}

// procStats is what /proc says about a process.
type procStats struct {
	RSSKiB, HWMKiB int64
	CPUSeconds     float64 // utime + stime
}

// readProc reads /proc/<pid>/status (VmRSS, VmHWM) and /proc/<pid>/stat
// (utime, stime).
func readProc(pid int) (procStats, error) {
	var st procStats
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return st, fmt.Errorf("app server stats: %w", err)
	}
	for _, line := range strings.Split(string(status), "\n") {
		k, v, _ := strings.Cut(line, ":")
		n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		switch k {
		case "VmRSS":
			st.RSSKiB = n
		case "VmHWM":
			st.HWMKiB = n
		}
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return st, fmt.Errorf("app server stats: %w", err)
	}
	// The fields after the command's closing parenthesis: state is the
	// first (field 3), utime and stime are fields 14 and 15.
	rest := string(stat[bytes.LastIndexByte(stat, ')')+1:])
	f := strings.Fields(rest)
	if len(f) < 13 {
		return st, fmt.Errorf("app server stats: short /proc/%d/stat", pid)
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	stt, _ := strconv.ParseInt(f[12], 10, 64)
	st.CPUSeconds = float64(ut+stt) / clockTicks
	return st, nil
}

// clockTicks is USER_HZ, the unit of /proc/<pid>/stat's times (100 on
// Linux everywhere).
const clockTicks = 100

// appServer is a scale run's app server process.
type appServer struct {
	kind  string
	cmd   *exec.Cmd
	stdin io.Closer
	url   string
}

// scaleEnv is how the app servers are started.
type scaleEnv struct {
	self, root, nodeBin, oracleDir string
}

// oracleDirOf resolves the official SDK 6.4.0 build as the tests do:
// OCTAVUS_ORACLE_DIR, else ../shared/oracle beside the repository.
func oracleDirOf(root string) string {
	if d := os.Getenv("OCTAVUS_ORACLE_DIR"); d != "" {
		abs, _ := filepath.Abs(d)
		return abs
	}
	return filepath.Join(filepath.Dir(root), "shared", "oracle")
}

func startAppServer(env scaleEnv, cfg scaleConfig, platformURL string, h2c bool) (*appServer, error) {
	var cmd *exec.Cmd
	switch cfg.server {
	case "go", "hijack", "raw":
		cmd = exec.Command(env.self, "-role", "server", "-platform", platformURL, "-h2c="+strconv.FormatBool(h2c),
			"-server-cpuprofile", cfg.profile, "-server-exact-heap="+strconv.FormatBool(cfg.heapProfile != ""),
			"-server-kind", cfg.server)
	case "node":
		cmd = exec.Command(env.nodeBin, "--expose-gc", filepath.Join(env.root, "bench", "node", "app-server-6.4.mjs"), env.oracleDir, platformURL, apiKey)
	default:
		return nil, fmt.Errorf("unknown app server %q", cfg.server)
	}
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("app server: %w", err)
	}
	s := &appServer{kind: cfg.server, cmd: cmd, stdin: stdin}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		s.close()
		return nil, fmt.Errorf("app server %s: %w", cfg.server, err)
	}
	s.url = strings.TrimSpace(strings.TrimPrefix(line, "listening "))
	return s, nil
}

func (s *appServer) close() {
	_ = s.stdin.Close()
	_ = s.cmd.Wait()
}

// settle collects the app server's garbage, then reads /proc.
func (s *appServer) settle() (procStats, serverStats, error) {
	var gs serverStats
	switch s.kind {
	case "go", "hijack", "raw":
		var err error
		if gs, err = fetchStats(s.url); err != nil {
			return procStats{}, gs, err
		}
	case "node":
		resp, err := http.Get(s.url + "/debug/gc")
		if err != nil {
			return procStats{}, gs, err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
	}
	ps, err := readProc(s.cmd.Process.Pid)
	return ps, gs, err
}

// runScale runs cfg.streams concurrent executions through the app server
// cfg.server (a child process, so its memory and CPU are its own), with
// the platform and the browsers in this process.
func runScale(env scaleEnv, cfg scaleConfig) *scaleResult {
	res := &scaleResult{cfg: cfg}
	if err := res.run(env); err != nil {
		res.err = err
	}
	return res
}

func (res *scaleResult) run(env scaleEnv) error {
	cfg := res.cfg
	every := time.Duration(float64(time.Second) * float64(cfg.batch) / cfg.rate)
	res.eventsPerStream = int(cfg.rate*cfg.duration.Seconds() + 0.5)
	h2c := cfg.proto == "h2c" && cfg.server != "node"
	p, err := startPlatform(true) // h1 and h2c both
	if err != nil {
		return err
	}
	defer p.close()
	p.scale = scaleScript{events: res.eventsPerStream, every: every, batch: cfg.batch, toolEvery: cfg.toolEvery}

	srv, err := startAppServer(env, cfg, p.url, h2c)
	if err != nil {
		return err
	}
	defer srv.close()
	appURL := srv.url
	if res.base, res.goBase, err = srv.settle(); err != nil {
		return err
	}
	client := &http.Client{Transport: &http.Transport{
		MaxIdleConnsPerHost: -1, DisableCompression: true, DisableKeepAlives: true,
	}}
	var opening sync.WaitGroup
	var done sync.WaitGroup
	opening.Add(cfg.streams)
	done.Add(cfg.streams)
	sem := make(chan struct{}, cfg.open)
	t0 := time.Now()
	for i := range cfg.streams {
		go func() {
			defer done.Done()
			res.browser(client, appURL, i, p, sem, &opening)
		}()
	}
	defer func() {
		// However the run ended, no browser outlives it.
		p.releaseStreams()
		p.close()
		waitTimeout(&done, time.Minute)
	}()
	if !waitTimeout(&opening, 2*time.Minute) {
		res.opened = p.opened.Load()
		return fmt.Errorf("only %d of %d streams opened in 2 minutes", p.opened.Load(), cfg.streams)
	}
	res.openTime = time.Since(t0)
	res.opened = p.opened.Load()
	time.Sleep(cfg.idle)
	if res.idle, res.goIdle, err = srv.settle(); err != nil {
		return err
	}
	if cfg.heapProfile != "" {
		if resp, err := http.Get(appURL + "/debug/heap"); err == nil {
			if f, err := os.Create(cfg.heapProfile); err == nil {
				_, _ = io.Copy(f, resp.Body)
				_ = f.Close()
			}
			_ = resp.Body.Close()
		}
	}
	if cfg.profile != "" {
		_, _ = http.Post(appURL+"/debug/profile", "text/plain", nil)
	}
	if res.release, err = readProc(srv.cmd.Process.Pid); err != nil {
		return err
	}
	cpu0 := cpuSeconds()
	t1 := time.Now()
	p.releaseStreams()
	if !waitTimeout(&done, cfg.duration+2*time.Minute) {
		res.firstErr.CompareAndSwap(nil, "streams did not end in time")
	}
	res.runTime = time.Since(t1)
	res.parentCPUSeconds = cpuSeconds() - cpu0
	if res.end, err = readProc(srv.cmd.Process.Pid); err != nil {
		return err
	}
	if cfg.profile != "" {
		_, _ = http.Post(appURL+"/debug/profile", "text/plain", nil)
	}
	res.written = p.written.Load()
	res.toolRounds = p.toolRounds.Load()
	res.want = int64(cfg.streams) * int64(res.eventsPerStream)
	return nil
}

// browser opens one stream, reports when its start event arrived, and
// reads it to the end, timing every text-delta from its platform write.
func (res *scaleResult) browser(client *http.Client, appURL string, i int, p *platform, sem chan struct{}, opening *sync.WaitGroup) {
	sem <- struct{}{}
	openedOnce := false
	opened := func() {
		if !openedOnce {
			openedOnce = true
			<-sem
			opening.Done()
		}
	}
	defer opened()
	fail := func(err error) {
		res.failed.Add(1)
		res.firstErr.CompareAndSwap(nil, err.Error())
	}
	body := fmt.Sprintf(`{"sessionId":"scale-%d","type":"trigger","triggerName":"user-message"}`, i)
	req, _ := http.NewRequest(http.MethodPost, appURL+"/api/trigger", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		fail(err)
		return
	}
	defer resp.Body.Close()
	br := bufio.NewReaderSize(resp.Body, 4096)
	const deltaPrefix = `data: {"type":"text-delta","id":"t","delta":"`
	var got int64
	for {
		line, err := br.ReadSlice('\n')
		if err != nil {
			if !errors.Is(err, io.EOF) {
				fail(err)
			}
			break
		}
		if rest, ok := bytes.CutPrefix(line, []byte(deltaPrefix)); ok {
			end := bytes.IndexByte(rest, '"')
			ts, err := strconv.ParseInt(string(rest[:max(end, 0)]), 10, 64)
			if err != nil {
				fail(fmt.Errorf("bad delta %q", line))
				continue
			}
			res.hist.add(time.Since(p.clock) - time.Duration(ts))
			got++
			continue
		}
		if bytes.HasPrefix(line, []byte(`data: {"type":"start"`)) {
			opened()
		}
	}
	atomic.AddInt64(&res.got, got)
}

func fetchStats(appURL string) (serverStats, error) {
	var st serverStats
	resp, err := http.Get(appURL + "/debug/stats")
	if err != nil {
		return st, err
	}
	defer resp.Body.Close()
	return st, json.NewDecoder(resp.Body).Decode(&st)
}

func waitTimeout(wg *sync.WaitGroup, d time.Duration) bool {
	c := make(chan struct{})
	go func() { wg.Wait(); close(c) }()
	select {
	case <-c:
		return true
	case <-time.After(d):
		return false
	}
}

func cpuSeconds() float64 {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}

// scaleSuite is the scale runs of every app server: the -scale-n table and
// the knee search.
type scaleSuite struct {
	ns       []int
	servers  []string
	runs     map[string]map[int]*scaleResult
	knee     map[string]kneeResult
	skipped  map[string]string // app server -> why it did not run
	kneeOff  bool
	profiles []*scaleResult // the profile runs
}

type kneeResult struct {
	n       int // the largest N that held p99 < kneeP99 (0: none)
	failedN int // the first N that did not (0: the ladder's top held)
}

// parseNs reads a comma-separated list of stream counts.
func parseNs(s string) ([]int, error) {
	var ns []int
	for f := range strings.SplitSeq(s, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		n, err := strconv.Atoi(f)
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("bad stream count %q", f)
		}
		ns = append(ns, n)
	}
	slices.Sort(ns)
	return slices.Compact(ns), nil
}

// runScaleSuite runs the scale table (each -scale-n, octavus-go then Node,
// one after the other) and the knee search, and prints them.
func runScaleSuite(self, root, nodeBin string) *scaleSuite {
	o := scaleOpts
	env := scaleEnv{self: self, root: root, nodeBin: nodeBin, oracleDir: oracleDirOf(root)}
	su := &scaleSuite{runs: map[string]map[int]*scaleResult{}, knee: map[string]kneeResult{}, skipped: map[string]string{}}
	var err error
	if su.ns, err = parseNs(o.ns); err != nil {
		check(fmt.Errorf("-scale-n: %w", err))
	}
	ladder, err := parseNs(o.knee)
	if err != nil {
		check(fmt.Errorf("-knee: %w", err))
	}
	for s := range strings.SplitSeq(o.servers, ",") {
		switch s = strings.TrimSpace(s); s {
		case "go", "hijack", "raw", "node":
			su.servers = append(su.servers, s)
			su.runs[s] = map[int]*scaleResult{}
		case "":
		default:
			check(fmt.Errorf("-scale-servers: unknown app server %q", s))
		}
	}
	if slices.Contains(su.servers, "node") {
		if why := nodeScaleMissing(env); why != "" {
			su.skipped["node"] = why
		}
	}
	cfg := func(server string, n int, d time.Duration) scaleConfig {
		return scaleConfig{server: server, streams: n, duration: d, rate: o.rate, batch: o.batch, idle: o.idle,
			open: o.open, toolEvery: o.toolEvery, proto: o.proto}
	}
	top := su.ns[len(su.ns)-1]
	for _, n := range su.ns {
		for _, s := range su.servers {
			if su.skipped[s] != "" {
				continue
			}
			fmt.Fprintf(os.Stderr, "bench: scale %s N=%d\n", s, n)
			su.runs[s][n] = runScale(env, cfg(s, n, o.duration))
		}
	}
	// The knee: up the table's Ns, then the ladder, to the first N that
	// misses; the table's runs count as they are.
	su.kneeOff = o.kneeMax <= 0
	for _, s := range su.servers {
		if su.kneeOff || su.skipped[s] != "" {
			continue
		}
		var k kneeResult
		held := func(n int) bool {
			r := su.runs[s][n]
			if r == nil {
				fmt.Fprintf(os.Stderr, "bench: knee %s N=%d\n", s, n)
				r = runScale(env, cfg(s, n, o.kneeDuration))
				su.runs[s][n] = r
			}
			return r.ok() && r.p99() < kneeP99
		}
		// Up from the table's smallest N to the first N that misses...
		var up, down []int
		for _, n := range slices.Concat(su.ns, ladder) {
			if n >= su.ns[0] && n <= o.kneeMax {
				up = append(up, n)
			} else if n < su.ns[0] {
				down = append(down, n)
			}
		}
		slices.Sort(up)
		for _, n := range slices.Compact(up) {
			if !held(n) {
				k.failedN = n
				break
			}
			k.n = n
		}
		// ... or, when even that one missed, down the ladder to the first
		// N that holds.
		if k.n == 0 {
			slices.Sort(down)
			down = slices.Compact(down)
			for i := len(down) - 1; i >= 0; i-- {
				if held(down[i]) {
					k.n = down[i]
					break
				}
				k.failedN = down[i]
			}
		}
		su.knee[s] = k
	}
	// The profiles: runs of their own (profiling costs CPU, recording
	// every allocation far more), not in the table.
	if slices.Contains(su.servers, "go") && o.cpuProfile != "" {
		c := cfg("go", top, o.duration)
		c.profile = o.cpuProfile
		fmt.Fprintf(os.Stderr, "bench: CPU profile run go N=%d\n", top)
		su.profiles = append(su.profiles, runScale(env, c))
	}
	if o.heapProfile != "" {
		for _, s := range []string{"go", "hijack"} {
			if !slices.Contains(su.servers, s) {
				continue
			}
			c := cfg(s, top, o.kneeDuration)
			c.heapProfile = o.heapProfile
			if s == "hijack" {
				ext := filepath.Ext(o.heapProfile)
				c.heapProfile = strings.TrimSuffix(o.heapProfile, ext) + "-hijack" + ext
			}
			fmt.Fprintf(os.Stderr, "bench: heap profile run %s N=%d\n", s, top)
			su.profiles = append(su.profiles, runScale(env, c))
		}
	}
	su.print()
	return su
}

// nodeScaleMissing says why the Node app server cannot run, or "".
func nodeScaleMissing(env scaleEnv) string {
	if _, err := exec.LookPath(env.nodeBin); err != nil {
		return fmt.Sprintf("node not found (%v; install Node.js 20+ or pass -node)", err)
	}
	if _, err := os.Stat(filepath.Join(env.oracleDir, "server-sdk-6.4.0.mjs")); err != nil {
		return fmt.Sprintf("the official server SDK 6.4.0 is not in %s (set OCTAVUS_ORACLE_DIR)", env.oracleDir)
	}
	return ""
}

var serverNames = map[string]string{
	"go":     "octavus-go Handler",
	"hijack": "octavus-go Handler, Hijack",
	"raw":    "raw proxy (net/http, no SDK: the floor)",
	"node":   "@octavus/server-sdk 6.4.0 (node:http)",
}

func (su *scaleSuite) print() {
	o := scaleOpts
	fmt.Printf("\nScale: N concurrent executions through the passthrough route of an app server (its own process; "+
		"octavus-go: AgentSessions.Handler, by default and with HandlerOptions.Hijack, platform over %s; "+
		"the raw proxy: a net/http handler that posts the trigger and copies the answer's bytes with a flush per read, no SDK, platform as octavus-go's; "+
		"Node: execute + toSSEStream under node:http, platform over its fetch, HTTP/1.1), "+
		"browsers over HTTP/1.1, the platform and the browsers in the bench's process, all on loopback; "+
		"%g events/s per stream (%d per platform write), a server tool round every %d deltas; "+
		"table runs stream %v, knee runs %v, after %v idle\n\n",
		o.proto, o.rate, o.batch, o.toolEvery, o.duration, o.kneeDuration, o.idle)
	fmt.Println("| app server | N | events delivered | tool rounds | app CPU | CPU per event | RSS per idle stream | added latency p50 / p99 / p99.9 / max | peak RSS | load generator CPU |")
	fmt.Println("|---|---|---|---|---|---|---|---|---|---|")
	for _, s := range su.servers {
		if why := su.skipped[s]; why != "" {
			fmt.Printf("| %s | skipped: %s |\n", serverNames[s], why)
			continue
		}
		ns := slices.Sorted(maps.Keys(su.runs[s]))
		for _, n := range ns {
			r := su.runs[s][n]
			if r.err != nil {
				fmt.Printf("| %s | %d | failed: %v |\n", serverNames[s], n, r.err)
				continue
			}
			fail := ""
			if r.failed.Load() > 0 {
				fail = fmt.Sprintf(", %d streams failed", r.failed.Load())
			}
			if e, _ := r.firstErr.Load().(string); e != "" {
				fail += " (" + e + ")"
			}
			rt := r.runTime.Seconds()
			fmt.Printf("| %s | %d | %d of %d%s | %d | %.2f cores | %.1f µs | %.1f KiB | %.2f / %.2f / %.2f / %.1f ms | %.1f MiB | %.2f cores |\n",
				serverNames[s], n, r.got, r.want, fail, r.toolRounds,
				(r.end.CPUSeconds-r.release.CPUSeconds)/rt, float64(r.cpuPerEvent())/1e3, r.idlePerStream(),
				ms(r.hist.quantile(0.5)), ms(r.p99()), ms(r.hist.quantile(0.999)), ms(time.Duration(r.hist.max.Load())),
				float64(r.end.HWMKiB)/1024, r.parentCPUSeconds/rt)
		}
	}
	fmt.Println("\nGo app servers, per open idle stream (the runtime's view):")
	fmt.Println()
	fmt.Println("| app server | N | goroutines | stacks | heap in use |")
	fmt.Println("|---|---|---|---|---|")
	for _, s := range su.servers {
		if s == "node" {
			continue
		}
		g := su.runs[s]
		for _, n := range slices.Sorted(maps.Keys(g)) {
			r := g[n]
			if r.err != nil {
				continue
			}
			f := float64(n)
			fmt.Printf("| %s | %d | %.2f | %.1f KiB | %.1f KiB |\n", serverNames[s], n,
				float64(r.goIdle.Goroutines-r.goBase.Goroutines)/f,
				float64(int64(r.goIdle.StackInuse)-int64(r.goBase.StackInuse))/1024/f,
				float64(int64(r.goIdle.HeapInuse)-int64(r.goBase.HeapInuse))/1024/f)
		}
	}
	for _, r := range su.profiles {
		fmt.Printf("\nProfile run (%s, N=%d, not in the table): ", serverNames[r.cfg.server], r.cfg.streams)
		switch {
		case r.err != nil:
			fmt.Printf("failed: %v\n", r.err)
		case r.cfg.profile != "":
			fmt.Printf("CPU profile of the streaming phase in %s (go tool pprof -top %s)\n", r.cfg.profile, r.cfg.profile)
		default:
			fmt.Printf("heap profile of the idle streams, every allocation, in %s (go tool pprof -top -sample_index=inuse_space %s)\n", r.cfg.heapProfile, r.cfg.heapProfile)
		}
	}
	if !su.kneeOff {
		fmt.Printf("\nKnee: the largest N whose p99 added latency stays under %v (ladder up to -knee-max %d)\n\n", kneeP99, o.kneeMax)
		fmt.Println("| app server | knee | first N over |")
		fmt.Println("|---|---|---|")
		for _, s := range su.servers {
			if su.skipped[s] != "" {
				continue
			}
			fmt.Printf("| %s | %s | %s |\n", serverNames[s], su.kneeText(s), su.overText(s))
		}
	}
}

func (su *scaleSuite) kneeText(s string) string {
	k := su.knee[s]
	if k.n == 0 {
		return fmt.Sprintf("below %d", k.failedN)
	}
	return strconv.Itoa(k.n)
}

func (su *scaleSuite) overText(s string) string {
	k := su.knee[s]
	if k.failedN == 0 {
		return fmt.Sprintf("none up to %d", scaleOpts.kneeMax)
	}
	r := su.runs[s][k.failedN]
	if !r.ok() {
		return fmt.Sprintf("%d (not all streams delivered)", k.failedN)
	}
	return fmt.Sprintf("%d (p99 %.1f ms)", k.failedN, ms(r.p99()))
}

// ran returns the run of app server s at n when it was made, else nil.
func (su *scaleSuite) ran(s string, n int) *scaleResult {
	if r := su.runs[s][n]; r != nil && r.err == nil {
		return r
	}
	return nil
}

// targets prints the scale targets. The targets are judged on the
// default Handler, except the idle memory one, which the Handler meets with
// HandlerOptions.Hijack (both are printed); the raw proxy's numbers are the
// floor any app server on net/http pays, printed beside them.
func (su *scaleSuite) targets(t targets) {
	top := su.ns[len(su.ns)-1]
	// CPU per event: at every N both ran.
	var parts, floorParts []string
	cpuOK, compared := true, 0
	floorOK, floorCompared := true, 0
	for _, n := range su.ns {
		gr, nr, rr, hr := su.ran("go", n), su.ran("node", n), su.ran("raw", n), su.ran("hijack", n)
		if gr == nil {
			continue
		}
		gc := gr.cpuPerEvent()
		if nr != nil {
			compared++
			nc := nr.cpuPerEvent()
			part := fmt.Sprintf("N=%d %.1f vs %.1f µs (%.2fx", n, us(gc), us(nc), float64(gc)/float64(nc))
			if hr != nil {
				part += fmt.Sprintf("; Hijack %.2fx", float64(hr.cpuPerEvent())/float64(nc))
			}
			if rr != nil {
				part += fmt.Sprintf("; the raw proxy %.2fx", float64(rr.cpuPerEvent())/float64(nc))
			}
			parts = append(parts, part+")")
			cpuOK = cpuOK && gc*4 <= nc
		}
		if rr != nil {
			floorCompared++
			rc := rr.cpuPerEvent()
			floorParts = append(floorParts, fmt.Sprintf("N=%d %.1f vs %.1f µs (%.2fx)", n, us(gc), us(rc), float64(gc)/float64(rc)))
			floorOK = floorOK && float64(gc) <= 1.25*float64(rc)
		}
	}
	if compared > 0 {
		t.line("cpu-per-event-vs-node", "octavus-go vs Node app server CPU per event: "+strings.Join(parts, ", "), "go <= node/4 at every N", cpuOK)
	} else {
		t.skip("cpu-per-event-vs-node", "no N with both app servers run"+su.whyNode())
	}
	if floorCompared > 0 {
		t.line("cpu-per-event-vs-floor", "octavus-go vs the raw net/http proxy (no SDK) CPU per event: "+strings.Join(floorParts, ", "), "go <= 1.25x raw at every N", floorOK)
	} else {
		t.skip("cpu-per-event-vs-floor", "the raw proxy did not run (-scale-servers)")
	}
	if r := su.ran("go", 2000); r != nil {
		what := fmt.Sprintf("%.2f ms p99 added latency at 2000 streams x %g events/s", ms(r.p99()), r.cfg.rate)
		if h := su.ran("hijack", 2000); h != nil {
			what += fmt.Sprintf("; Hijack %.2f ms", ms(h.p99()))
		}
		if f := su.ran("raw", 2000); f != nil {
			what += fmt.Sprintf("; the raw proxy %.2f ms", ms(f.p99()))
		}
		t.line("scale-p99-2000", what, "< 5 ms", r.ok() && r.p99() < 5*time.Millisecond)
	} else {
		t.skip("scale-p99-2000", "no octavus-go run at N=2000 (-scale-n)")
	}
	g, h := su.ran("go", top), su.ran("hijack", top)
	if g != nil || h != nil {
		var what []string
		ok := false
		if h != nil {
			what = append(what, fmt.Sprintf("%.1f KiB with HandlerOptions.Hijack", h.idlePerStream()))
			ok = h.idlePerStream() < 32
		}
		if g != nil {
			what = append(what, fmt.Sprintf("%.1f KiB by default", g.idlePerStream()))
			ok = ok || g.idlePerStream() < 32
		}
		if r := su.ran("raw", top); r != nil {
			what = append(what, fmt.Sprintf("the raw proxy %.1f KiB", r.idlePerStream()))
		}
		if nr := su.ran("node", top); nr != nil {
			what = append(what, fmt.Sprintf("Node %.1f KiB", nr.idlePerStream()))
		}
		t.line("idle-stream-memory", fmt.Sprintf("app server RSS per open idle stream at N=%d: %s", top, strings.Join(what, "; ")), "< 32 KiB", ok)
	} else {
		t.skip("idle-stream-memory", "no octavus-go scale run")
	}
	delivered, all := true, 0
	var short []string
	for _, s := range su.servers {
		for n, r := range su.runs[s] {
			all++
			if !r.ok() {
				delivered = false
				short = append(short, fmt.Sprintf("%s N=%d", s, n))
			}
		}
	}
	if all > 0 {
		what := fmt.Sprintf("every event of every stream, %d runs", all)
		if !delivered {
			slices.Sort(short)
			what = "short in " + strings.Join(short, ", ")
		}
		t.line("scale-delivered", what, "all", delivered)
	}
	switch {
	case su.kneeOff:
		t.skip("knee", "-knee-max 0")
	case su.knee["go"].n > 0 || su.knee["go"].failedN > 0:
		nodeText, ok := "Node: not run"+su.whyNode(), false
		if _, ran := su.knee["node"]; ran {
			nodeText = "Node " + su.kneeText("node")
			ok = su.knee["go"].n >= su.knee["node"].n
		}
		for _, s := range []string{"hijack", "raw"} {
			if _, ran := su.knee[s]; ran {
				nodeText += fmt.Sprintf(", %s %s", serverNames[s], su.kneeText(s))
			}
		}
		t.line("knee", fmt.Sprintf("largest N with p99 < %v: octavus-go %s, %s", kneeP99, su.kneeText("go"), nodeText), "octavus-go >= Node", ok)
	default:
		t.skip("knee", "octavus-go did not run")
	}
}

func us(d time.Duration) float64 { return float64(d) / 1e3 }

func (su *scaleSuite) whyNode() string {
	if why := su.skipped["node"]; why != "" {
		return " (" + why + ")"
	}
	return ""
}
