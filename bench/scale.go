package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
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

type scaleConfig struct {
	streams  int
	duration time.Duration
	rate     float64
	batch    int
	idle     time.Duration
	open     int    // streams opening at once
	proto    string // h1 or h2c
	profile  string // CPU profile of the app server's streaming phase
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
	failed           atomic.Int64
	firstErr         atomic.Value
	hist             histogram
	base, idle, end  serverStats
	openTime         time.Duration
	runTime          time.Duration
	parentCPUSeconds float64
}

// runScale runs cfg.streams concurrent executions through the passthrough
// Handler of an app server in a child process (so its memory is its own),
// with the platform and the browsers in this process.
func runScale(self string, cfg scaleConfig) (*scaleResult, error) {
	res := &scaleResult{cfg: cfg}
	every := time.Duration(float64(time.Second) * float64(cfg.batch) / cfg.rate)
	res.eventsPerStream = int(cfg.rate*cfg.duration.Seconds() + 0.5)
	h2c := cfg.proto == "h2c"
	p, err := startPlatform(h2c)
	if err != nil {
		return nil, err
	}
	defer p.close()
	p.scale = scaleScript{events: res.eventsPerStream, every: every, batch: cfg.batch}

	cmd := exec.Command(self, "-role", "server", "-platform", p.url, "-h2c="+strconv.FormatBool(h2c), "-server-cpuprofile", cfg.profile)
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
		return nil, err
	}
	defer func() {
		_ = stdin.Close()
		_ = cmd.Wait()
	}()
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		return nil, fmt.Errorf("app server: %v", err)
	}
	appURL := strings.TrimSpace(strings.TrimPrefix(line, "listening "))

	if res.base, err = fetchStats(appURL); err != nil {
		return nil, err
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
	if !waitTimeout(&opening, 2*time.Minute) {
		return nil, fmt.Errorf("only %d of %d streams opened in 2 minutes", p.opened.Load(), cfg.streams)
	}
	res.openTime = time.Since(t0)
	res.opened = p.opened.Load()
	time.Sleep(cfg.idle)
	if res.idle, err = fetchStats(appURL); err != nil {
		return nil, err
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
	cpu0 := cpuSeconds()
	t1 := time.Now()
	close(p.release)
	if !waitTimeout(&done, cfg.duration+2*time.Minute) {
		res.firstErr.CompareAndSwap(nil, "streams did not end in time")
	}
	res.runTime = time.Since(t1)
	res.parentCPUSeconds = cpuSeconds() - cpu0
	if cfg.profile != "" {
		_, _ = http.Post(appURL+"/debug/profile", "text/plain", nil)
	}
	res.written = p.written.Load()
	res.want = int64(cfg.streams) * int64(res.eventsPerStream)
	if res.end, err = fetchStats(appURL); err != nil {
		return nil, err
	}
	return res, nil
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
