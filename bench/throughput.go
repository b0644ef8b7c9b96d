package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
)

// The throughput section: one stream of text-delta events read by a raw
// copy, octavus-go, the official server SDK 6.4.0 (the oracle bundle) and,
// when conformance/node_modules holds it, the official SDK 2.0.0, each in
// its own process, run after run in turn (-runs) so that the machine's
// noise hits all alike. The median run of each client counts (the best is
// shown too); the targets compare medians.

var skipNode20 = flag.Bool("skip-node20", false, "leave out the extra column of the official SDK 2.0.0 (conformance/node_modules)")

// nodeClient is one official SDK the bench runs.
type nodeClient struct {
	name    string
	job     map[string]any // what selects the SDK in bench/node/run.mjs
	missing string         // why it does not run, or ""
}

// nodeClients are the official SDKs: 6.4.0 first (the targets' reference),
// then 2.0.0.
func (b *bench) nodeClients() (v64, v20 *nodeClient) {
	oracle := oracleDirOf(b.root)
	v64 = &nodeClient{name: "6.4.0", job: map[string]any{"sdkFile": filepath.Join(oracle, "server-sdk-6.4.0.mjs"), "sdkVersion": "6.4.0"}}
	v20 = &nodeClient{name: "2.0.0", job: map[string]any{"modules": b.nodeModules}}
	switch {
	case b.nodeMissing != "":
		v64.missing, v20.missing = b.nodeMissing, b.nodeMissing
		return v64, v20
	case *skipNode20:
		v20.missing = "left out (-skip-node20)"
	}
	if _, err := os.Stat(filepath.Join(oracle, "server-sdk-6.4.0.mjs")); err != nil {
		v64.missing = fmt.Sprintf("the official server SDK 6.4.0 is not in %s (set OCTAVUS_ORACLE_DIR)", oracle)
	}
	if v20.missing == "" {
		if _, err := os.Stat(filepath.Join(b.nodeModules, "@octavus", "server-sdk", "package.json")); err != nil {
			v20.missing = fmt.Sprintf("@octavus/server-sdk 2.0.0 not installed in %s (run: cd conformance && npm ci)", b.nodeModules)
		}
	}
	return v64, v20
}

// runNode runs the official SDK n on sid.
func (b *bench) runNode(n *nodeClient, url, sid string) result {
	job := map[string]any{
		"baseUrl": url, "apiKey": apiKey, "sessionId": sid,
		"request": map[string]any{"type": "trigger", "triggerName": "user-message"},
	}
	for k, v := range n.job {
		job[k] = v
	}
	arg, _ := json.Marshal(job)
	ctx, cancel := context.WithTimeout(context.Background(), childTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, b.nodeBin, filepath.Join(b.root, "bench", "node", "run.mjs"), string(arg))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil && stderr.Len() > 0 {
		err = fmt.Errorf("%w: %s", err, strings.TrimSpace(stderr.String()))
	}
	return decodeResult(out, err)
}

// throughputResult is what the throughput section measured.
type throughputResult struct {
	events, runs, rounds int
	streamBytes          int64
	v64, v20             *nodeClient
	// Median runs.
	raw, gos, node64, node20 result
	goTools, node64Tools     result
	// The best runs' times of the raw copy and octavus-go.
	bestRaw, bestGo float64
}

// throughput runs and prints the throughput and tool-round tables.
func (b *bench) throughput(p *platform, events, runs, rounds int) *throughputResult {
	th := &throughputResult{events: events, runs: runs, rounds: rounds}
	th.v64, th.v20 = b.nodeClients()
	var raws, gos, n64s, n20s []result
	for run := range runs {
		tag := strconv.Itoa(run)
		raws = append(raws, b.child("raw", p.url, fmt.Sprintf("stream-%d-raw%s", events, tag)))
		gos = append(gos, b.child("go", p.url, fmt.Sprintf("stream-%d-go%s", events, tag)))
		if th.v64.missing == "" {
			n64s = append(n64s, b.runNode(th.v64, p.url, fmt.Sprintf("stream-%d-node64%s", events, tag)))
		}
		if th.v20.missing == "" {
			n20s = append(n20s, b.runNode(th.v20, p.url, fmt.Sprintf("stream-%d-node20%s", events, tag)))
		}
	}
	th.streamBytes = int64(len(startSSE)+len(finishSSE)+len(doneSSE)) + int64(events)*int64(len("data: "+deltaJSON+"\n\n"))
	th.raw, th.gos, th.node64, th.node20 = medianRun(raws), medianRun(gos), medianRun(n64s), medianRun(n20s)
	th.bestRaw, th.bestGo = best(raws).Seconds, best(gos).Seconds

	fmt.Printf("\nThroughput: one stream of %d text-delta events (%.1f MB of SSE), each client in its own process, %d runs in turn; the median run counts\n\n",
		events, float64(th.streamBytes)/1e6, runs)
	fmt.Println("| client | time (median) | time (best) | events/s (median) | MB/s | vs raw copy (medians) | allocs/event | peak RSS | output CRC-32 |")
	fmt.Println("|---|---|---|---|---|---|---|---|---|")
	row := func(name string, all []result, r result) {
		if r.Err != "" {
			fmt.Printf("| %s | failed: %s |\n", name, r.Err)
			return
		}
		allocs := "–"
		if r.Flushes > 0 { // the octavus-go client counts them
			allocs = fmt.Sprintf("%.2f", float64(r.Allocs)/float64(events))
		}
		fmt.Printf("| %s | %.3f s | %.3f s | %s | %.0f | %.2fx | %s | %.1f MiB | %s |\n",
			name, r.Seconds, best(all).Seconds, si(float64(events)/r.Seconds), float64(r.Bytes)/1e6/r.Seconds,
			r.Seconds/th.raw.Seconds, allocs, float64(r.MaxRSSKiB)/1024, crcString(r))
	}
	row("raw copy (io.Copy)", raws, th.raw)
	row("octavus-go Execute + ToSSEStream", gos, th.gos)
	for _, c := range []struct {
		n   *nodeClient
		all []result
		r   result
	}{{th.v64, n64s, th.node64}, {th.v20, n20s, th.node20}} {
		if c.n.missing != "" {
			fmt.Printf("| @octavus/server-sdk %s (Node) | skipped: %s |\n", c.n.name, c.n.missing)
			continue
		}
		row("@octavus/server-sdk "+c.r.SDKVersion+" execute + toSSEStream (Node "+b.nodeVersion+")", c.all, c.r)
	}

	fmt.Printf("\nTool rounds: %d rounds of a server tool (start, tool-request, finish; the tool's result posted back), one execution\n\n", rounds)
	fmt.Println("| client | time | per round |")
	fmt.Println("|---|---|---|")
	th.goTools = b.child("go", p.url, fmt.Sprintf("tools-%d-go", rounds))
	fmt.Printf("| octavus-go | %s |\n", perRound(th.goTools, rounds))
	if th.v64.missing == "" {
		th.node64Tools = b.runNode(th.v64, p.url, fmt.Sprintf("tools-%d-node64", rounds))
		fmt.Printf("| @octavus/server-sdk 6.4.0 (Node) | %s |\n", perRound(th.node64Tools, rounds))
	} else {
		fmt.Printf("| @octavus/server-sdk 6.4.0 (Node) | skipped: %s |\n", th.v64.missing)
	}
	return th
}

// Throughput goals (issue 14).
const (
	goalVsCopy = 1.4 // at most this times the raw copy's time
	goalVsNode = 15  // at least this times the official SDK 6.4.0's events/s
)

// targets prints the throughput target lines.
func (th *throughputResult) targets(t targets) {
	goRes, raw := th.gos, th.raw
	switch {
	case th.v64.missing != "":
		t.skip("throughput-vs-node", "the official SDK 6.4.0 did not run: "+th.v64.missing)
	case th.node64.Err != "" || goRes.Err != "":
		t.skip("throughput-vs-node", "a run failed: "+th.node64.Err+goRes.Err)
	default:
		x := th.node64.Seconds / goRes.Seconds
		extra := ""
		if th.v20.missing == "" && th.node20.Err == "" {
			extra = fmt.Sprintf("; %.1fx 2.0.0's", th.node20.Seconds/goRes.Seconds)
		}
		t.line("throughput-vs-node", fmt.Sprintf("%.1fx the official SDK 6.4.0's events/s (medians of %d runs%s)", x, th.runs, extra),
			fmt.Sprintf(">= %gx", float64(goalVsNode)), x >= goalVsNode)
	}
	if goRes.Err == "" && raw.Err == "" {
		x := goRes.Seconds / raw.Seconds
		t.line("throughput-vs-copy", fmt.Sprintf("%.2fx the raw copy's time (medians of %d runs; best runs %.2fx)", x, th.runs, th.bestGo/th.bestRaw),
			fmt.Sprintf("<= %gx", goalVsCopy), x <= goalVsCopy)
		per := float64(goRes.Allocs) / float64(th.events)
		t.line("allocs-per-event", fmt.Sprintf("%.2f (whole process, live run; go test -bench ForwardTextDelta reports the same path)", per), "<= 2", per <= 2.005)
		t.line("peak-rss-stream", fmt.Sprintf("%.1f MiB for %d events (VmHWM of the octavus-go process)", float64(goRes.MaxRSSKiB)/1024, th.events), "< 30 MiB", goRes.MaxRSSKiB < 30<<10)
	}
	same := raw.CRC != nil && goRes.CRC != nil && *raw.CRC == *goRes.CRC && goRes.Bytes == raw.Bytes && goRes.Bytes == th.streamBytes
	what := "octavus-go = raw copy"
	for _, n := range []struct {
		c *nodeClient
		r result
	}{{th.v64, th.node64}, {th.v20, th.node20}} {
		if n.c.missing == "" {
			same = same && n.r.CRC != nil && *n.r.CRC == *goRes.CRC && n.r.Bytes == goRes.Bytes
			what += " = official SDK " + n.c.name
		}
	}
	if th.v64.missing == "" {
		same = same && th.node64Tools.CRC != nil && th.goTools.CRC != nil && *th.node64Tools.CRC == *th.goTools.CRC
		what += "; tool rounds octavus-go = official SDK 6.4.0"
	}
	t.line("identical-output", what+" (bytes and CRC-32)", "identical", same)
}

// medianRun is the run of median time among those that did not fail (the
// lower middle one of an even count), or the first failure when all failed.
func medianRun(rs []result) result {
	var ok []result
	for _, r := range rs {
		if r.Err == "" {
			ok = append(ok, r)
		}
	}
	if len(ok) == 0 {
		return best(rs)
	}
	for i := 1; i < len(ok); i++ {
		for j := i; j > 0 && ok[j].Seconds < ok[j-1].Seconds; j-- {
			ok[j], ok[j-1] = ok[j-1], ok[j]
		}
	}
	return ok[(len(ok)-1)/2]
}
