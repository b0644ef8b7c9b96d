// Command bench measures octavus-go against the official Node SDK
// (@octavus/server-sdk 6.4.0, the oracle bundle, and 2.0.0 as an extra
// column) and against a raw copy of the same bytes, on one scripted
// platform on loopback, and checks the performance targets.
//
//	go run ./bench                      # everything
//	go run ./bench -skip-scale          # throughput and tool rounds only
//	go run ./bench -skip-node -skip-scale
//
// Throughput: one stream of -events text-delta events (64 bytes of SSE
// each) read by up to four clients, each in its own process, run after run
// in turn (-runs, 5 by default; the median run of each counts) so machine
// noise hits all alike: a raw copy (POST, io.Copy into a sink), octavus-go
// (Execute + ToSSEStream into a sink) and the official SDK in Node
// (execute + toSSEStream, drained, from bench/node/run.mjs): 6.4.0 from
// server-sdk-6.4.0.mjs in OCTAVUS_ORACLE_DIR (else ../shared/oracle beside
// the repository), and 2.0.0 from conformance/node_modules when installed
// (-skip-node20 leaves it out). All must produce the same bytes (CRC-32).
// Tool rounds: -rounds rounds of a server tool, octavus-go and Node 6.4.0.
// Scale: see scale.go. Latency probe: a platform that writes an event only
// once the previous one reached the sink.
//
// It prints a table and one line per target:
// "target <name>: <measured> (goal <goal>) ok|short".
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	octavus "github.com/octavus-go/octavus"
)

func main() {
	var (
		events      = flag.Int("events", 1_000_000, "text-delta events in the throughput stream")
		runs        = flag.Int("runs", 5, "throughput runs of each client, in turn (the median counts)")
		rounds      = flag.Int("rounds", 100, "server tool rounds in the tool-round workload")
		nodeBin     = flag.String("node", "node", "the Node.js binary")
		nodeModules = flag.String("node-modules", "", "directory holding @octavus/server-sdk (default: conformance/node_modules of this module)")
		skipNode    = flag.Bool("skip-node", false, "leave out the official SDKs")
		skipScale   = flag.Bool("skip-scale", false, "leave out the scale run")
		role        = flag.String("role", "", "internal: run as a child (go, raw, server)")
		url         = flag.String("url", "", "internal: the platform URL of a child")
		sid         = flag.String("sid", "", "internal: the session id a child plays")
		platformURL = flag.String("platform", "", "internal: the platform URL of the app server")
		h2c         = flag.Bool("h2c", false, "internal: the app server talks h2c to the platform")
		blockWrites = flag.Bool("block-writes", false, "the throughput platform writes 32 KiB pieces instead of one Write per event")
		flushEach   = flag.Bool("flush", false, "the throughput platform flushes after every event (both clients are then bound by the platform)")
		cpuProfile  = flag.String("cpuprofile", "", "write a CPU profile of the octavus-go throughput client (its last run) to this file")
	)
	flag.Parse()

	switch *role {
	case "go":
		printJSON(runGo(*url, *sid, *cpuProfile))
		return
	case "raw":
		printJSON(runRaw(*url, *sid))
		return
	case "server":
		if err := serve(*platformURL, *h2c, scaleOpts.cpuProfile); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		return
	case "":
	default:
		fmt.Fprintf(os.Stderr, "unknown role %q\n", *role)
		os.Exit(2)
	}

	self, err := os.Executable()
	check(err)
	root := moduleRoot()
	if *nodeModules == "" {
		*nodeModules = filepath.Join(root, "conformance", "node_modules")
	}
	b := &bench{self: self, root: root, nodeBin: *nodeBin, nodeModules: *nodeModules}
	if !*skipNode {
		b.nodeMissing = b.checkNode()
	} else {
		b.nodeMissing = "left out (-skip-node)"
	}

	fmt.Printf("octavus-go bench: %s, GOMAXPROCS=%d, %d CPUs, %s\n", runtime.Version(), runtime.GOMAXPROCS(0), runtime.NumCPU(), b.nodeLine())

	p, err := startPlatform(false)
	check(err)
	defer p.close()
	p.blockWrites = *blockWrites
	p.flushEach = *flushEach
	b.cpuProfile = *cpuProfile

	probeOK, probeGot := probe(p, 20)

	// Throughput and tool rounds (throughput.go).
	th := b.throughput(p, *events, *runs, *rounds)

	// Scale (scale.go: its flags, tables and targets).
	var sc *scaleSuite
	if !*skipScale {
		sc = runScaleSuite(self, root, *nodeBin)
	}

	// Targets.
	fmt.Println()
	t := targets{}
	th.targets(t)
	if sc != nil {
		sc.targets(t)
	} else {
		t.skip("scale", "left out (-skip-scale)")
	}
	t.line("flush-per-event", fmt.Sprintf("%d of %d events reached the sink before the platform wrote the next", probeGot, 20), "all", probeOK)
}

// childTimeout bounds one client run.
const childTimeout = 5 * time.Minute

type bench struct {
	cpuProfile           string
	self, root           string
	nodeBin, nodeModules string
	nodeVersion          string
	nodeMissing          string // why the Node column is skipped, or ""
}

// checkNode says why the official SDK cannot run, or "".
func (b *bench) checkNode() string {
	path, err := exec.LookPath(b.nodeBin)
	if err != nil {
		return fmt.Sprintf("node not found (%v; install Node.js 20+ or pass -node)", err)
	}
	out, err := exec.Command(path, "--version").Output()
	if err != nil {
		return fmt.Sprintf("%s --version failed: %v", path, err)
	}
	b.nodeVersion = strings.TrimSpace(string(out))
	return ""
}

func (b *bench) nodeLine() string {
	if b.nodeMissing != "" {
		return "official SDK: skipped: " + b.nodeMissing
	}
	return "node " + b.nodeVersion
}

// child runs a client role in a fresh process of this binary.
func (b *bench) child(role, url, sid string) result {
	args := []string{"-role", role, "-url", url, "-sid", sid}
	if role == "go" && b.cpuProfile != "" && strings.HasPrefix(sid, "stream-") {
		args = append(args, "-cpuprofile", b.cpuProfile)
	}
	ctx, cancel := context.WithTimeout(context.Background(), childTimeout)
	defer cancel()
	out, err := exec.CommandContext(ctx, b.self, args...).Output()
	return decodeResult(out, err)
}

func decodeResult(out []byte, err error) result {
	if err != nil {
		return result{Err: err.Error()}
	}
	var r result
	if err := json.Unmarshal(bytes.TrimSpace(out), &r); err != nil {
		return result{Err: fmt.Sprintf("bad child output %q: %v", out, err)}
	}
	return r
}

// probe runs n events through Execute + ToSSEStream (in this process)
// against a platform that writes each event only after the previous one
// reached the sink: it reports whether all n arrived.
func probe(p *platform, n int) (ok bool, got int) {
	c, err := octavus.NewClient(octavus.ClientOptions{BaseURL: p.url, APIKey: apiKey, MaxRetries: -1})
	check(err)
	w := &probeSink{h: http.Header{}, seen: p.probeSeen, pending: -1, last: -1} // the header flush carries no event
	r, _ := http.NewRequest(http.MethodPost, "/", nil)
	octavus.ToSSEStream(c.AgentSessions.Attach(fmt.Sprintf("probe-%d", n), octavus.AttachOptions{}).
		Execute(context.Background(), octavus.TriggerRequest{TriggerName: "user-message"})).ServeHTTP(w, r)
	return w.got == n, w.got
}

// probeSink reports each probe event to the platform when it is flushed.
type probeSink struct {
	h       http.Header
	seen    chan<- int
	pending int
	last    int
	got     int
}

func (s *probeSink) Header() http.Header { return s.h }
func (s *probeSink) WriteHeader(int)     {}
func (s *probeSink) Write(p []byte) (int, error) {
	if _, rest, ok := bytes.Cut(p, []byte(`"delta":"p`)); ok {
		if i, err := strconv.Atoi(string(rest[:bytes.IndexByte(rest, '"')])); err == nil {
			s.pending = i
		}
	}
	return len(p), nil
}
func (s *probeSink) Flush() {
	if s.pending > s.last {
		s.last = s.pending
		s.got++
		s.seen <- s.pending
	}
}

type targets struct{}

func (targets) line(name, measured, goal string, ok bool) {
	verdict := "ok"
	if !ok {
		verdict = "short"
	}
	fmt.Printf("target %s: %s (goal %s) %s\n", name, measured, goal, verdict)
}

func (targets) skip(name, why string) {
	fmt.Printf("target %s: skipped: %s\n", name, why)
}

func best(rs []result) result {
	var b result
	found := false
	for _, r := range rs {
		if r.Err != "" {
			if !found {
				b = r
			}
			continue
		}
		if !found || r.Seconds < b.Seconds {
			b, found = r, true
		}
	}
	if len(rs) == 0 {
		b.Err = "no run"
	}
	return b
}

func perRound(r result, rounds int) string {
	if r.Err != "" {
		return "failed: " + r.Err
	}
	return fmt.Sprintf("%.1f ms | %.2f ms", r.Seconds*1e3, r.Seconds*1e3/float64(rounds))
}

func crcString(r result) string {
	if r.CRC == nil {
		return "–"
	}
	return fmt.Sprintf("%08x", *r.CRC)
}

func si(v float64) string {
	switch {
	case v >= 1e6:
		return fmt.Sprintf("%.2f M", v/1e6)
	case v >= 1e3:
		return fmt.Sprintf("%.1f k", v/1e3)
	}
	return fmt.Sprintf("%.0f", v)
}

func ms(d time.Duration) float64 { return float64(d) / 1e6 }

func printJSON(v any) {
	b, _ := json.Marshal(v)
	fmt.Println(string(b))
}

// moduleRoot finds the directory of this module's go.mod, from the working
// directory up.
func moduleRoot() string {
	dir, err := os.Getwd()
	check(err)
	for d := dir; ; d = filepath.Dir(d) {
		f, err := os.Open(filepath.Join(d, "go.mod"))
		if err == nil {
			line, _ := bufio.NewReader(f).ReadString('\n')
			_ = f.Close()
			if strings.TrimSpace(line) == "module github.com/octavus-go/octavus" {
				return d
			}
		}
		if filepath.Dir(d) == d {
			check(errors.New("run the bench inside the octavus-go module (go run ./bench)"))
		}
	}
}

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}
