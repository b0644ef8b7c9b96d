package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"io"
	"net"
	"net/http"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"
	"time"

	octavus "github.com/octavus-go/octavus"
)

// result is what one client run reports (as one JSON line on stdout when it
// runs in a child process).
type result struct {
	Seconds    float64 `json:"seconds"`
	Bytes      int64   `json:"bytes"`
	CRC        *uint32 `json:"crc"`
	Flushes    int64   `json:"flushes,omitempty"`
	Allocs     uint64  `json:"allocs,omitempty"`
	GCs        uint32  `json:"gcs,omitempty"`
	MaxRSSKiB  int64   `json:"maxRssKiB"`
	SDKVersion string  `json:"sdkVersion,omitempty"`
	Err        string  `json:"error,omitempty"`
}

// sink is the browser side of a run: an http.ResponseWriter and Flusher
// that keeps only a byte count and a CRC-32 of what it is given. The CRC is
// taken over 32 KiB pieces, whatever the writes, so that every client pays
// the same for it (small writes would cost more per byte).
type sink struct {
	h       http.Header
	n       int64
	crc     uint32
	flushes int64
	buf     []byte
}

func newSink() *sink { return &sink{h: http.Header{}, buf: make([]byte, 0, 32<<10)} }

func (s *sink) Header() http.Header { return s.h }
func (s *sink) WriteHeader(int)     {}
func (s *sink) Flush()              { s.flushes++ }
func (s *sink) Write(p []byte) (int, error) {
	n := len(p)
	s.n += int64(n)
	for len(p) > 0 {
		k := copy(s.buf[len(s.buf):cap(s.buf)], p)
		s.buf = s.buf[:len(s.buf)+k]
		p = p[k:]
		if len(s.buf) == cap(s.buf) {
			s.sum()
		}
	}
	return n, nil
}

// sum folds the buffered bytes into the CRC.
func (s *sink) sum() *uint32 {
	s.crc = crc32.Update(s.crc, crc32.IEEETable, s.buf)
	s.buf = s.buf[:0]
	return &s.crc
}

func tools() octavus.ToolHandlers {
	return octavus.ToolHandlers{
		"lookup": func(context.Context, map[string]any) (any, error) { return map[string]any{"ok": true}, nil },
	}
}

// runGo plays session sid through Execute + ToSSEStream into a sink.
func runGo(url, sid, cpuProfile string) result {
	c, err := octavus.NewClient(octavus.ClientOptions{BaseURL: url, APIKey: apiKey, MaxRetries: -1})
	if err != nil {
		return result{Err: err.Error()}
	}
	s := c.AgentSessions.Attach(sid, octavus.AttachOptions{Tools: tools()})
	w := newSink()
	r, _ := http.NewRequest(http.MethodPost, "/", nil)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	if cpuProfile != "" {
		f, err := os.Create(cpuProfile)
		if err != nil {
			return result{Err: err.Error()}
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return result{Err: err.Error()}
		}
		defer pprof.StopCPUProfile()
	}
	t0 := time.Now()
	octavus.ToSSEStream(s.Execute(context.Background(), octavus.TriggerRequest{TriggerName: "user-message"})).ServeHTTP(w, r)
	dt := time.Since(t0)
	runtime.ReadMemStats(&after)
	return result{
		Seconds: dt.Seconds(), Bytes: w.n, CRC: w.sum(), Flushes: w.flushes,
		Allocs: after.Mallocs - before.Mallocs, GCs: after.NumGC - before.NumGC,
		MaxRSSKiB: procStatus("VmHWM"),
	}
}

// runRaw posts the same trigger and copies the answer, unparsed, into a
// sink with io.Copy.
func runRaw(url, sid string) result {
	req, err := rawTrigger(context.Background(), url, sid)
	if err != nil {
		return result{Err: err.Error()}
	}
	w := newSink()
	t0 := time.Now()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return result{Err: err.Error()}
	}
	_, err = io.Copy(w, resp.Body)
	_ = resp.Body.Close()
	dt := time.Since(t0)
	if err != nil {
		return result{Err: err.Error()}
	}
	return result{Seconds: dt.Seconds(), Bytes: w.n, CRC: w.sum(), MaxRSSKiB: procStatus("VmHWM")}
}

// rawTrigger is the trigger POST of session sid as the SDKs send it,
// for the clients that send it by hand (the raw copy, the raw proxy).
func rawTrigger(ctx context.Context, url, sid string) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url+"/api/agent-sessions/"+sid+"/trigger", bytes.NewReader(triggerBody()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+apiKey)
	req.Header.Set("Content-Type", "application/json")
	return req, nil
}

// procStatus reads a "kB" field of /proc/self/status (VmHWM, VmRSS), or -1.
func procStatus(field string) int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return -1
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return n
		}
	}
	return -1
}

// serverStats is what the scale server reports about itself.
type serverStats struct {
	RSSKiB     int64   `json:"rssKiB"`
	HWMKiB     int64   `json:"hwmKiB"`
	Goroutines int     `json:"goroutines"`
	HeapInuse  uint64  `json:"heapInuse"`
	StackInuse uint64  `json:"stackInuse"`
	CPUSeconds float64 `json:"cpuSeconds"`
	NumGC      uint32  `json:"numGC"`
}

func readServerStats() serverStats {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	cpu := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	return serverStats{
		RSSKiB: procStatus("VmRSS"), HWMKiB: procStatus("VmHWM"),
		Goroutines: runtime.NumGoroutine(), HeapInuse: ms.HeapInuse, StackInuse: ms.StackInuse,
		CPUSeconds: cpu.Seconds(), NumGC: ms.NumGC,
	}
}

// serve is the scale run's app server: the passthrough Handler on
// loopback, talking to the platform at platformURL (over h2c when h2c is
// set). It prints its URL and exits when its stdin closes.
func serve(platformURL string, h2c bool, profile string) error {
	if scaleOpts.exactHeap {
		runtime.MemProfileRate = 1 // every allocation in the heap profile, not a sample
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 1024
	if h2c {
		tr.Protocols = new(http.Protocols)
		tr.Protocols.SetUnencryptedHTTP2(true)
	}
	c, err := octavus.NewClient(octavus.ClientOptions{
		BaseURL: platformURL, APIKey: apiKey, MaxRetries: -1,
		HTTPClient: &http.Client{Transport: tr},
	})
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	switch scaleOpts.kind {
	case "raw":
		mux.Handle("POST /api/trigger", rawProxy(platformURL, &http.Client{Transport: tr}))
	case "go", "hijack":
		mux.Handle("POST /api/trigger", c.AgentSessions.Handler(octavus.HandlerOptions{Tools: tools(), Hijack: scaleOpts.kind == "hijack"}))
	default:
		return fmt.Errorf("unknown app server kind %q", scaleOpts.kind)
	}
	mux.HandleFunc("GET /debug/stats", func(w http.ResponseWriter, r *http.Request) {
		// A collection, then the freed pages back to the OS: RSS is then
		// what the live streams hold (the Node server runs gc() alike).
		debug.FreeOSMemory()
		_ = json.NewEncoder(w).Encode(readServerStats())
	})
	mux.HandleFunc("GET /debug/heap", func(w http.ResponseWriter, r *http.Request) {
		runtime.GC()
		_ = pprof.Lookup("heap").WriteTo(w, 0)
	})
	// The first POST starts the CPU profile, the second stops it.
	var prof *os.File
	mux.HandleFunc("POST /debug/profile", func(w http.ResponseWriter, r *http.Request) {
		if profile == "" {
			return
		}
		if prof == nil {
			prof, _ = os.Create(profile)
			_ = pprof.StartCPUProfile(prof)
			return
		}
		pprof.StopCPUProfile()
		_ = prof.Close()
	})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: mux}
	go func() { _ = srv.Serve(l) }()
	fmt.Printf("listening http://%s\n", l.Addr())
	_, _ = io.Copy(io.Discard, bufio.NewReader(os.Stdin))
	return nil
}

// rawProxy is the scale run's floor: what any app server on net/http pays
// to pass the platform's bytes through, with no SDK. It posts the trigger,
// copies every read of the answer to the browser and flushes it, and when a
// leg ends with a tool call it posts again (the platform's scale script
// takes any post as the next leg), so the platform plays the same script.
func rawProxy(platformURL string, hc *http.Client) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			SessionID string `json:"sessionId"`
		}
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "text/event-stream")
		rc := http.NewResponseController(w)
		buf := make([]byte, 4096)
		for {
			req, err := rawTrigger(r.Context(), platformURL, body.SessionID)
			if err != nil {
				return
			}
			resp, err := hc.Do(req)
			if err != nil {
				return
			}
			again := false
			for {
				n, err := resp.Body.Read(buf)
				if n > 0 {
					again = again || bytes.Contains(buf[:n], []byte(`"finishReason":"tool-calls"`))
					if _, werr := w.Write(buf[:n]); werr != nil || rc.Flush() != nil {
						_ = resp.Body.Close()
						return
					}
				}
				if err != nil {
					break
				}
			}
			_ = resp.Body.Close()
			if !again {
				return
			}
		}
	})
}
