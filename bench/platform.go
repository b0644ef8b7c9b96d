package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

const apiKey = "bench-key"

// deltaJSON is the text-delta of the throughput stream: 63 bytes of SSE per
// event, as in the measurement (1,000,000 events, about 63 MB).
const deltaJSON = `{"type":"text-delta","id":"text_1","delta":" the token"}`

const (
	startSSE  = "data: {\"type\":\"start\",\"messageId\":\"msg_1\",\"executionId\":\"exec_1\"}\n\n"
	finishSSE = "data: {\"type\":\"finish\",\"finishReason\":\"stop\"}\n\n"
	doneSSE   = "data: [DONE]\n\n"
)

// platform is the scripted Octavus platform every client of the bench talks
// to. What a POST to /api/agent-sessions/{id}/trigger gets depends on the
// session id:
//
//	stream-<n>-<tag>  start, n text-deltas written as fast as the socket takes them, finish
//	tools-<r>-<tag>   r legs of start + tool-request(lookup) + finish(tool-calls), then a text leg
//	scale-<i>         start, then (after release) text-deltas carrying their write time, paced;
//	                  every scaleScript.toolEvery deltas the leg ends with a tool-request(lookup)
//	                  and the continuation leg goes on with the next deltas
//	probe-<n>         n text-deltas, each written only after the previous one was seen downstream
type platform struct {
	url string
	srv *http.Server

	block       []byte // whole text-delta event blocks, about 32 KiB
	perBlock    int
	blockWrites bool // write the throughput stream in 32 KiB pieces
	flushEach   bool // flush the throughput stream after every event

	mu   sync.Mutex
	legs map[string]int

	scale       scaleScript
	release     chan struct{} // closed when the scale streams start streaming
	releaseOnce sync.Once
	opened      atomic.Int64         // scale streams whose start event was written
	written     atomic.Int64         // scale events written
	toolRounds  atomic.Int64         // scale legs that ended with a tool-request
	clock       time.Time            // the zero of the scale streams' timestamps
	scaleState  map[string]*scaleLeg // per scale session, under mu

	probeSeen chan int // the probe consumer reports each event it got
}

// scaleScript is what each scale stream plays after its start event.
type scaleScript struct {
	events int           // text-deltas per stream
	every  time.Duration // between two platform writes
	batch  int           // events per write
	// toolEvery ends a leg with a server tool call after this many
	// deltas (0: never); the continuation leg goes on with the rest.
	toolEvery int
}

// scaleLeg is where a scale session's script stands between its legs.
type scaleLeg struct {
	sent int       // deltas written so far
	next time.Time // when the next write is due
	legs int       // legs served
}

func startPlatform(h2c bool) (*platform, error) {
	one := "data: " + deltaJSON + "\n\n"
	per := (32 << 10) / len(one)
	p := &platform{
		block:      []byte(strings.Repeat(one, per)),
		perBlock:   per,
		legs:       map[string]int{},
		scaleState: map[string]*scaleLeg{},
		release:    make(chan struct{}),
		clock:      time.Now(),
		probeSeen:  make(chan int, 1),
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p.url = "http://" + l.Addr().String()
	p.srv = &http.Server{Handler: http.HandlerFunc(p.serve)}
	if h2c {
		// HTTP/2 without TLS, so that 10,000 streams of the SDK share a
		// few connections (as they would over TLS to the real
		// platform) and stay within the file descriptor limit.
		p.srv.Protocols = new(http.Protocols)
		p.srv.Protocols.SetHTTP1(true)
		p.srv.Protocols.SetUnencryptedHTTP2(true)
		p.srv.HTTP2 = &http.HTTP2Config{MaxConcurrentStreams: 1000}
	}
	go func() { _ = p.srv.Serve(l) }()
	return p, nil
}

func (p *platform) close() { _ = p.srv.Close() }

// releaseStreams lets the scale streams stream (once).
func (p *platform) releaseStreams() { p.releaseOnce.Do(func() { close(p.release) }) }

func (p *platform) serve(w http.ResponseWriter, r *http.Request) {
	_, _ = io.Copy(io.Discard, r.Body)
	if r.Header.Get("Authorization") != "Bearer "+apiKey {
		http.Error(w, `{"error":"unauthorized"}`, http.StatusUnauthorized)
		return
	}
	rest, ok := strings.CutPrefix(r.URL.Path, "/api/agent-sessions/")
	sid, ok2 := strings.CutSuffix(rest, "/trigger")
	if !ok || !ok2 || r.Method != http.MethodPost {
		http.Error(w, `{"error":"not found"}`, http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	kind, arg, _ := strings.Cut(sid, "-")
	num, _, _ := strings.Cut(arg, "-")
	n, _ := strconv.Atoi(num)
	switch kind {
	case "stream":
		p.stream(w, n)
	case "tools":
		p.tools(w, sid, n)
	case "scale":
		p.scaleStream(w, r)
	case "probe":
		p.probe(w, r, n)
	default:
		http.Error(w, `{"error":"unknown script"}`, http.StatusNotFound)
	}
}

// stream writes start, n text-deltas and finish, as fast as the socket
// takes them. Each event is its own Write, flushed (flushEach) as a
// platform streaming a model's tokens flushes each, or not (net/http then
// sends chunks of about 2 KiB); with blockWrites the deltas go out in
// 32 KiB writes instead.
func (p *platform) stream(w http.ResponseWriter, n int) {
	_, _ = io.WriteString(w, startSSE)
	one := len(p.block) / p.perBlock
	if p.blockWrites {
		for left := n; left > 0; {
			k := min(left, p.perBlock)
			if _, err := w.Write(p.block[:k*one]); err != nil {
				return
			}
			left -= k
		}
	} else {
		ev := p.block[:one]
		rc := http.NewResponseController(w)
		for range n {
			if _, err := w.Write(ev); err != nil {
				return
			}
			if p.flushEach && rc.Flush() != nil {
				return
			}
		}
	}
	_, _ = io.WriteString(w, finishSSE+doneSSE)
}

func (p *platform) tools(w http.ResponseWriter, sid string, rounds int) {
	p.mu.Lock()
	p.legs[sid]++
	leg := p.legs[sid]
	p.mu.Unlock()
	if leg <= rounds {
		fmt.Fprintf(w, "data: {\"type\":\"start\",\"executionId\":\"exec_1\"}\n\n"+
			"data: {\"type\":\"tool-request\",\"toolCalls\":[{\"toolCallId\":\"call_%d\",\"toolName\":\"lookup\",\"args\":{\"q\":%d}}]}\n\n"+
			"data: {\"type\":\"finish\",\"finishReason\":\"tool-calls\"}\n\n"+doneSSE, leg, leg)
		return
	}
	_, _ = io.WriteString(w, "data: {\"type\":\"text-delta\",\"id\":\"text_1\",\"delta\":\"done\"}\n\n"+finishSSE+doneSSE)
}

// scaleStream plays one leg of a scale session. The first leg writes the
// start event and waits for the release; every leg then writes the
// script's deltas at its pace, each carrying the time it was written
// (nanoseconds since p.clock) as its delta. A leg ends after
// scaleScript.toolEvery deltas with a tool-request for lookup and finish
// {tool-calls}; the SDK runs the tool and posts the continuation, whose
// leg goes on where this one stopped. The last leg ends with finish
// {stop}.
func (p *platform) scaleStream(w http.ResponseWriter, r *http.Request) {
	sid := strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, "/api/agent-sessions/"), "/trigger")
	rc := http.NewResponseController(w)
	sc := p.scale
	p.mu.Lock()
	st := p.scaleState[sid]
	if st == nil {
		st = &scaleLeg{}
		p.scaleState[sid] = st
	}
	st.legs++
	first := st.legs == 1
	p.mu.Unlock()
	if first {
		_, _ = io.WriteString(w, startSSE)
		_ = rc.Flush()
		p.opened.Add(1)
		select {
		case <-p.release:
		case <-r.Context().Done():
			return
		}
		// Spread the streams' writes evenly over one interval.
		st.next = time.Now().Add(time.Duration(rand.Int64N(int64(sc.every))))
	} else {
		_, _ = io.WriteString(w, "data: {\"type\":\"start\",\"executionId\":\"exec_1\"}\n\n")
		_ = rc.Flush()
		if now := time.Now(); st.next.Before(now) {
			st.next = now // the tool round took its time: no burst to catch up
		}
	}
	timer := time.NewTimer(time.Until(st.next))
	defer timer.Stop()
	buf := make([]byte, 0, 64*sc.batch)
	for st.sent < sc.events {
		select {
		case <-timer.C:
		case <-r.Context().Done():
			return
		}
		buf = buf[:0]
		now := int64(time.Since(p.clock))
		k := min(sc.batch, sc.events-st.sent)
		if sc.toolEvery > 0 {
			k = min(k, sc.toolEvery-st.sent%sc.toolEvery)
		}
		for range k {
			buf = append(buf, `data: {"type":"text-delta","id":"t","delta":"`...)
			buf = strconv.AppendInt(buf, now, 10)
			buf = append(buf, "\"}\n\n"...)
		}
		if _, err := w.Write(buf); err != nil {
			return
		}
		if rc.Flush() != nil {
			return
		}
		st.sent += k
		p.written.Add(int64(k))
		st.next = st.next.Add(sc.every)
		if sc.toolEvery > 0 && st.sent%sc.toolEvery == 0 && st.sent < sc.events {
			p.toolRounds.Add(1)
			fmt.Fprintf(w, "data: {\"type\":\"tool-request\",\"toolCalls\":[{\"toolCallId\":\"call_%d\",\"toolName\":\"lookup\",\"args\":{\"q\":%d}}]}\n\n"+
				"data: {\"type\":\"finish\",\"finishReason\":\"tool-calls\"}\n\n"+doneSSE, st.legs, st.sent)
			return
		}
		timer.Reset(time.Until(st.next))
	}
	_, _ = io.WriteString(w, finishSSE+doneSSE)
}

// probe writes n events one at a time; each is written only after the
// consumer reported the previous one, so a consumer that holds an event
// until the next one arrives never gets further than the first.
func (p *platform) probe(w http.ResponseWriter, r *http.Request, n int) {
	rc := http.NewResponseController(w)
	for i := range n {
		fmt.Fprintf(w, "data: {\"type\":\"text-delta\",\"id\":\"t\",\"delta\":\"p%d\"}\n\n", i)
		_ = rc.Flush()
		select {
		case got := <-p.probeSeen:
			if got != i {
				return
			}
		case <-time.After(5 * time.Second):
			return // the consumer did not see event i: it waits for more
		case <-r.Context().Done():
			return
		}
	}
	_, _ = io.WriteString(w, finishSSE+doneSSE)
}

// triggerBody is the body the raw client posts (what the SDKs post for a
// trigger without input).
func triggerBody() []byte {
	b, _ := json.Marshal(map[string]any{"triggerName": "user-message"})
	return b
}
