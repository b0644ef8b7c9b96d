package octavus

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

var soakFor = flag.Duration("soak", 0, "run TestSoak: waves of -soak.concurrency executions until this much time has passed (0 skips it)")
var soakConcurrency = flag.Int("soak.concurrency", 1000, "concurrent executions per wave of TestSoak")

// Soak kinds: what the platform and the browser do in one execution.
const (
	soakText       = iota // a streamed answer
	soakToolRounds        // two rounds of server tools, then an answer
	soakClientTool        // a server and a client tool, then the browser's continue (signed)
	soakRetry             // 503 with Retry-After, then the answer
	soakCut               // the platform connection breaks mid-stream
	soakLeave             // the browser leaves mid-stream
	// The hostile kinds of issue 13.
	soakMixedLarge // a 1.5 MiB server result and a -0 beside a client tool: the browser sends it all back (as JavaScript writes it) and the run goes on
	soakEndless    // a platform that always asks for one more round: bounded, one non-retryable error
	soakDupID      // the same tool call id twice in a round, and a tool-request after finish: each handler runs once, the late one never
	soakHung       // resource updates behind an OnUpdate that hangs until its ctx ends; half the browsers leave: Handler still returns
	soakForge      // a browser forging its continue (edited, smuggled or repeated results): 400, the platform never sees it; the honest continue then works
	soakKinds
)

// soakHeavy is how many executions of a heavy kind (large bodies, many
// rounds, hung resources) a wave holds at most; the other slots of the
// kind run soakText. It keeps a wave's memory, platform requests and time
// (under -race too) bounded whatever -soak.concurrency is.
func soakHeavy(kind int) int {
	switch kind {
	case soakMixedLarge:
		return 1
	case soakEndless, soakHung:
		return 3
	}
	return -1
}

// soakKindOf is the kind of the i-th execution of a wave.
func soakKindOf(i int) int {
	kind := i % soakKinds
	if h := soakHeavy(kind); h >= 0 && i/soakKinds >= h {
		return soakText
	}
	return kind
}

// soakBigSize is the size of soakMixedLarge's server result: over the
// 1 MiB that once capped every browser body, under the 4 MiB continuation
// budget.
const soakBigSize = 1<<20 + 64<<10

// soakBig is soakMixedLarge's server result for session.
func soakBig(session string) string {
	return session + ":" + strings.Repeat("0123456789abcdef", soakBigSize/16)
}

// soakEndlessCap is the round at which soakEndless's platform gives up
// and finishes, so the soak ends (and fails) when nothing bounds rounds.
const soakEndlessCap = 1000

// soakHungUpdates is how many resource-update events of soakHungPad bytes
// each soakHung's platform sends while OnUpdate hangs.
const (
	soakHungUpdates = 50
	soakHungPad     = 16 << 10
)

func soakUpdate(j int) string {
	return fmt.Sprintf(`{"type":"resource-update","name":"hung","value":{"i":%d,"pad":"%s"}}`, j, strings.Repeat("p", soakHungPad))
}

// soakPlatform answers /trigger by the session id "<kind>-<n>" and by how
// many legs that session has had.
type soakPlatform struct {
	mu      sync.Mutex
	legs    map[string]int
	aborted atomic.Int64
	leaving map[string]chan struct{} // soakLeave, soakHung: closed when the platform request ends
	// bodies holds the /trigger bodies after the first of the sessions
	// whose continuation is checked (soakMixedLarge, soakDupID).
	bodies map[string][]string
}

// legCount is how many /trigger requests session has had.
func (p *soakPlatform) legCount(session string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.legs[session]
}

// takeBodies returns and forgets the recorded bodies of session.
func (p *soakPlatform) takeBodies(session string) []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	b := p.bodies[session]
	delete(p.bodies, session)
	return b
}

const soakDeltas = 20

func soakDelta(session string, leg, j int) string {
	return fmt.Sprintf(`{"type":"text-delta","id":"t","delta":"%s/%d/%d"}`, session, leg, j)
}

func (p *soakPlatform) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	session := strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, "/api/agent-sessions/"), "/trigger")
	var kind int
	fmt.Sscanf(session, "%d-", &kind)
	body, _ := io.ReadAll(r.Body)
	p.mu.Lock()
	leg := p.legs[session]
	p.legs[session] = leg + 1
	leaving := p.leaving[session]
	if leg > 0 && (kind == soakMixedLarge || kind == soakDupID) {
		p.bodies[session] = append(p.bodies[session], string(body))
	}
	p.mu.Unlock()
	var n int
	fmt.Sscanf(session, "%d-%d-%d", new(int), new(int), &n)

	if kind == soakRetry && leg == 0 {
		w.Header().Set("Retry-After", "1")
		http.Error(w, `{"error":"busy"}`, http.StatusServiceUnavailable)
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	fl := w.(http.Flusher)
	send := func(ev string) { _, _ = io.WriteString(w, "data: "+ev+"\n\n") }
	send(`{"type":"start","messageId":"m","executionId":"x-` + session + `"}`)
	if kind == soakEndless {
		if leg < soakEndlessCap {
			send(fmt.Sprintf(`{"type":"tool-request","toolCalls":[{"toolCallId":"e%d","toolName":"echo","args":{"n":%d,"s":%q}}]}`, leg, leg, session))
			send(`{"type":"finish","finishReason":"tool-calls"}`)
		} else {
			send(`{"type":"finish","finishReason":"stop","executionId":"x-` + session + `"}`)
		}
		send("[DONE]")
		return
	}
	for j := range soakDeltas {
		send(soakDelta(session, leg, j))
		if j%5 == 4 {
			fl.Flush()
		}
	}
	switch {
	case kind == soakToolRounds && leg < 2:
		send(fmt.Sprintf(`{"type":"tool-request","toolCalls":[{"toolCallId":"c%d","toolName":"echo","args":{"n":%d}},{"toolCallId":"d%d","toolName":"echo","args":{"n":%d}}]}`, leg, leg, leg, leg+100))
		send(`{"type":"finish","finishReason":"tool-calls"}`)
	case kind == soakMixedLarge && leg == 0:
		send(`{"type":"tool-request","toolCalls":[{"toolCallId":"s","toolName":"big","args":{"s":"` + session + `"}},{"toolCallId":"z","toolName":"neg","args":{}},{"toolCallId":"k","toolName":"confirm","args":{}}]}`)
		send(`{"type":"finish","finishReason":"tool-calls"}`)
	case kind == soakDupID && leg == 0:
		send(fmt.Sprintf(`{"type":"tool-request","toolCalls":[{"toolCallId":"c","toolName":"echo","args":{"n":1,"s":%q}},{"toolCallId":"c","toolName":"echo","args":{"n":2,"s":%[1]q}},{"toolCallId":"d","toolName":"echo","args":{"n":3,"s":%[1]q}}]}`, session))
		send(`{"type":"finish","finishReason":"tool-calls"}`)
	case kind == soakDupID:
		send(`{"type":"finish","finishReason":"stop","executionId":"x-` + session + `"}`)
		send(fmt.Sprintf(`{"type":"tool-request","toolCalls":[{"toolCallId":"late","toolName":"echo","args":{"n":4,"s":%q}}]}`, session))
	case kind == soakHung:
		for j := range soakHungUpdates {
			send(soakUpdate(j))
		}
		if n%2 == 1 {
			fl.Flush()
			<-r.Context().Done()
			p.aborted.Add(1)
			close(leaving)
			return
		}
		send(`{"type":"finish","finishReason":"stop","executionId":"x-` + session + `"}`)
	case (kind == soakClientTool || kind == soakForge) && leg == 0:
		send(`{"type":"tool-request","toolCalls":[{"toolCallId":"s","toolName":"echo","args":{"n":7}},{"toolCallId":"k","toolName":"confirm","args":{}}]}`)
		send(`{"type":"finish","finishReason":"tool-calls"}`)
	case kind == soakCut:
		fl.Flush()
		panic(http.ErrAbortHandler)
	case kind == soakLeave:
		fl.Flush()
		<-r.Context().Done()
		p.aborted.Add(1)
		close(leaving)
		return
	default:
		send(`{"type":"finish","finishReason":"stop","executionId":"x-` + session + `"}`)
	}
	send("[DONE]")
}

// TestSoak runs waves of concurrent executions through the passthrough
// handler over loopback, mixing tool rounds, client tools with a continue,
// platform faults and browsers that leave, and the hostile kinds: large
// mixed rounds, endless-round and duplicate-id platforms, hung resources
// and forging browsers. Every event of every execution must be the one
// the documented behaviour gives, in order; the ones that are cut must end
// with one retryable error; Handler must return for every request, and
// goroutines must return to their baseline.
//
//	go test -run Soak -soak 30s
func TestSoak(t *testing.T) {
	if *soakFor <= 0 {
		t.Skip("soak test: run with -soak DURATION (e.g. go test -run Soak -soak 30s)")
	}
	// Goroutines of earlier tests, and the runtime's, are the baseline.
	baseline := goleak.IgnoreCurrent()

	plat := &soakPlatform{legs: map[string]int{}, leaving: map[string]chan struct{}{}, bodies: map[string][]string{}}
	platSrv := httptest.NewServer(plat)
	// The servers are closed only when the soak passed: Close waits for
	// every handler, and after a failure one may never return.
	defer func() {
		if !t.Failed() {
			platSrv.Close()
		}
	}()
	tr := &http.Transport{MaxIdleConnsPerHost: *soakConcurrency}
	c, err := NewClient(ClientOptions{BaseURL: platSrv.URL, APIKey: testKey, HTTPClient: &http.Client{Transport: tr}, ResultSigningKey: signingKey, Logger: slog.New(slog.DiscardHandler)})
	require.NoError(t, err)
	c.sleep = func(ctx context.Context, _ time.Duration) error { return ctx.Err() } // Retry-After is honoured elsewhere; here it would only slow the soak
	st := &soakTools{runs: map[string]int{}}
	var hungIn, hungOut atomic.Int64
	hung := ResourceFunc("hung", func(ctx context.Context, _ any) error {
		hungIn.Add(1)
		defer hungOut.Add(1)
		<-ctx.Done()
		return ctx.Err()
	})
	var inflight soakInflight
	app := httptest.NewServer(inflight.wrap(c.AgentSessions.Handler(HandlerOptions{Tools: st.handlers(), Resources: []Resource{hung}})))
	defer func() {
		if !t.Failed() {
			app.Close()
		}
	}()
	browser := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: *soakConcurrency}}

	deadline := time.Now().Add(*soakFor)
	var total, waves int
	for waves == 0 || time.Now().Before(deadline) {
		var wg sync.WaitGroup
		errs := make(chan error, *soakConcurrency)
		for i := range *soakConcurrency {
			kind := soakKindOf(i)
			session := fmt.Sprintf("%d-%d-%d", kind, waves, i)
			if kind == soakLeave || kind == soakHung {
				plat.mu.Lock()
				plat.leaving[session] = make(chan struct{})
				plat.mu.Unlock()
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := soakOne(browser, app.URL, plat, st, kind, session); err != nil {
					errs <- fmt.Errorf("%s: %w", session, err)
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
		// A browser that left does not wait for Handler: it must return
		// all the same, hung OnUpdate or not.
		if err := inflight.wait(soakGuard); err != nil {
			t.Error(err)
		}
		if t.Failed() {
			return
		}
		total += *soakConcurrency
		waves++
	}
	browser.CloseIdleConnections()
	tr.CloseIdleConnections()
	app.Close()
	platSrv.Close()
	goleak.VerifyNone(t, baseline)
	// After VerifyNone: a hung OnUpdate of the last wave returns in the
	// background once its ctx is cancelled, so it is counted only now.
	t.Logf("%d executions in %d waves of %d; %d platform requests aborted by leaving browsers; %d hung OnUpdate calls, all returned: %v",
		total, waves, *soakConcurrency, plat.aborted.Load(), hungIn.Load(), hungIn.Load() == hungOut.Load())
}

// soakGuard bounds one execution, and the wait for Handler to return after
// a wave: only a hang reaches it (the hung resources' own bound is
// seconds), and then the soak fails instead of hanging.
const soakGuard = 60 * time.Second

// soakTools are the soak's tool handlers. echo returns its "n"; with an
// "s" (a session) it counts the runs of that session and call, so the
// soak can tell a handler that ran twice or one that should not have run.
type soakTools struct {
	mu   sync.Mutex
	runs map[string]int // "<session>/<n>"
}

func (st *soakTools) handlers() ToolHandlers {
	return ToolHandlers{
		"echo": func(_ context.Context, args map[string]any) (any, error) {
			if s, ok := args["s"].(string); ok {
				st.mu.Lock()
				st.runs[fmt.Sprintf("%s/%v", s, args["n"])]++
				st.mu.Unlock()
			}
			return args["n"], nil
		},
		"big": func(_ context.Context, args map[string]any) (any, error) {
			s, _ := args["s"].(string)
			return soakBig(s), nil
		},
		"neg": func(context.Context, map[string]any) (any, error) { return math.Copysign(0, -1), nil },
	}
}

// take returns and forgets the run counts of session's calls.
func (st *soakTools) take(session string) map[string]int {
	st.mu.Lock()
	defer st.mu.Unlock()
	out := map[string]int{}
	for k, v := range st.runs {
		if n, ok := strings.CutPrefix(k, session+"/"); ok {
			out[n] = v
			delete(st.runs, k)
		}
	}
	return out
}

// soakInflight counts the app Handler's requests that have not returned.
type soakInflight struct {
	mu   sync.Mutex
	n    int
	idle chan struct{}
}

func (f *soakInflight) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		if f.n == 0 {
			f.idle = make(chan struct{})
		}
		f.n++
		f.mu.Unlock()
		defer func() {
			f.mu.Lock()
			f.n--
			if f.n == 0 {
				close(f.idle)
			}
			f.mu.Unlock()
		}()
		h.ServeHTTP(w, r)
	})
}

// wait returns when no request is in Handler, or an error after guard.
func (f *soakInflight) wait(guard time.Duration) error {
	f.mu.Lock()
	n, idle := f.n, f.idle
	f.mu.Unlock()
	if n == 0 {
		return nil
	}
	t := time.NewTimer(guard)
	defer t.Stop()
	select {
	case <-idle:
		return nil
	case <-t.C:
		f.mu.Lock()
		defer f.mu.Unlock()
		return fmt.Errorf("%d requests still in Handler %v after the wave's browsers were done", f.n, guard)
	}
}

// soakOne runs one execution as a browser and checks what it received.
func soakOne(browser *http.Client, url string, plat *soakPlatform, st *soakTools, kind int, session string) error {
	ctx, cancel := context.WithTimeout(context.Background(), soakGuard)
	defer cancel()
	body := fmt.Sprintf(`{"sessionId":%q,"type":"trigger","triggerName":"user-message","input":{"USER_MESSAGE":"hi"}}`, session)
	leave := kind == soakLeave || (kind == soakHung && soakN(session)%2 == 1)
	got, done, err := soakPost(ctx, browser, url, body, leave, cancel)
	if err != nil {
		return err
	}
	var want []string
	start := `{"type":"start","messageId":"m","executionId":"x-` + session + `"}`
	stop := `{"type":"finish","finishReason":"stop","executionId":"x-` + session + `"}`
	leg := func(n int) {
		want = append(want, start)
		for j := range soakDeltas {
			want = append(want, soakDelta(session, n, j))
		}
	}
	switch kind {
	case soakText:
		leg(0)
		want = append(want, stop)
	case soakRetry:
		leg(1)
		want = append(want, stop)
	case soakToolRounds:
		for n := range 2 {
			leg(n)
			want = append(want,
				fmt.Sprintf(`{"type":"tool-output-available","toolCallId":"c%d","output":%d}`, n, n),
				fmt.Sprintf(`{"type":"tool-output-available","toolCallId":"d%d","output":%d}`, n, n+100))
		}
		leg(2)
		want = append(want, stop)
	case soakCut:
		leg(0)
		want = append(want, `{"type":"error","errorType":"internal_error","message":"Platform connection dropped","retryable":true,"source":"platform"}`)
	case soakLeave, soakHung:
		if kind == soakHung && !leave {
			// Every update is forwarded in order; the hung OnUpdate
			// holds neither the stream nor, past its bound, the end.
			leg(0)
			for j := range soakHungUpdates {
				want = append(want, soakUpdate(j))
			}
			want = append(want, stop)
			return sameJSONEvents(got, want, done, true)
		}
		// The browser left after the first event; the platform request
		// must end too.
		plat.mu.Lock()
		ch := plat.leaving[session]
		plat.mu.Unlock()
		guard := time.NewTimer(soakGuard)
		defer guard.Stop()
		select {
		case <-ch:
		case <-guard.C:
			return fmt.Errorf("the platform request outlived the browser by %v", soakGuard)
		}
		if len(got) < 1 || got[0] != start {
			return fmt.Errorf("left after %v", got)
		}
		return nil
	case soakClientTool, soakForge:
		leg(0)
		want = append(want, `{"type":"tool-output-available","toolCallId":"s","output":7}`)
		ctr, err := soakClientToolRequest(got, len(want), session)
		if err != nil {
			return err
		}
		if err := sameEvents(got[:len(want)], want, done, true); err != nil {
			return err
		}
		honest := append(ctr.ServerToolResults, json.RawMessage(`{"toolCallId":"k","toolName":"confirm","result":true}`))
		if kind == soakForge {
			if err := soakForgeOnce(ctx, browser, url, plat, session, ctr.ExecutionID, honest); err != nil {
				return err
			}
		}
		got2, done2, err := soakContinue(ctx, browser, url, session, ctr.ExecutionID, honest)
		if err != nil {
			return err
		}
		want = nil
		leg(1)
		want = append(want, stop)
		if err := sameEvents(got2, want, done2, true); err != nil {
			return fmt.Errorf("continue: %w", err)
		}
		return nil
	case soakMixedLarge:
		leg(0)
		big, _ := json.Marshal(soakBig(session))
		want = append(want, `{"type":"tool-output-available","toolCallId":"s","output":`+string(big)+`}`)
		ctr, err := soakClientToolRequest(got, len(want)+1, session)
		if err != nil {
			return err
		}
		if err := sameEvents(got[:len(want)], want, done, true); err != nil {
			return err
		}
		// -0 or 0: the same number to a browser.
		if err := sameJSONEvents(got[len(want):len(want)+1], []string{`{"type":"tool-output-available","toolCallId":"z","output":0}`}, false, false); err != nil {
			return err
		}
		// The browser sends back what it was handed, as JavaScript
		// writes it (-0 becomes 0), with its own result.
		results := append(soakAsJavaScript(ctr.ServerToolResults), json.RawMessage(`{"toolCallId":"k","toolName":"confirm","result":true}`))
		got2, done2, err := soakContinue(ctx, browser, url, session, ctr.ExecutionID, results)
		if err != nil {
			return fmt.Errorf("continue of a %d-byte server result: %w", len(big), err)
		}
		want = nil
		leg(1)
		want = append(want, stop)
		if err := sameEvents(got2, want, done2, true); err != nil {
			return fmt.Errorf("continue: %w", err)
		}
		bodies := plat.takeBodies(session)
		if len(bodies) != 1 || !strings.Contains(bodies[0], string(big)) {
			return fmt.Errorf("the platform's continuation does not hold the %d-byte result whole (%d continuations)", len(big), len(bodies))
		}
		return nil
	case soakEndless:
		return soakCheckEndless(got, done, plat.legCount(session), st.take(session), session)
	case soakDupID:
		// The first call of an id runs, a repeat is dropped; a
		// tool-request after finish runs nothing.
		leg(0)
		want = append(want,
			`{"type":"tool-output-available","toolCallId":"c","output":1}`,
			`{"type":"tool-output-available","toolCallId":"d","output":3}`)
		leg(1)
		want = append(want, stop)
		if err := sameJSONEvents(got, want, done, true); err != nil {
			return err
		}
		if runs := st.take(session); len(runs) != 2 || runs["1"] != 1 || runs["3"] != 1 {
			return fmt.Errorf("handler runs by call n: %v, want map[1:1 3:1]", runs)
		}
		bodies := plat.takeBodies(session)
		if len(bodies) != 1 || strings.Count(bodies[0], `"toolCallId":"c"`) != 1 {
			return fmt.Errorf("the platform's continuations %q must hold one result for c", bodies)
		}
		return nil
	}
	return sameEvents(got, want, done, kind != soakCut)
}

// soakN is the index n of session "<kind>-<wave>-<n>" in its wave.
func soakN(session string) int {
	var n int
	fmt.Sscanf(session, "%d-%d-%d", new(int), new(int), &n)
	return n
}

// soakClientToolRequest checks that got ends, after its first n events,
// with a client-tool-request for session and its finish, and decodes the
// request.
func soakClientToolRequest(got []string, n int, session string) (ctr struct {
	ExecutionID       string            `json:"executionId"`
	ServerToolResults []json.RawMessage `json:"serverToolResults"`
}, err error) {
	if len(got) != n+2 {
		return ctr, fmt.Errorf("got %d events, want %d", len(got), n+2)
	}
	if err := json.Unmarshal([]byte(got[n]), &ctr); err != nil || !strings.HasPrefix(ctr.ExecutionID, "x-"+session+"~") {
		return ctr, fmt.Errorf("client-tool-request %.200s (%v)", got[n], err)
	}
	if want := `{"type":"finish","finishReason":"client-tool-calls","executionId":"` + ctr.ExecutionID + `"}`; got[n+1] != want {
		return ctr, fmt.Errorf("after the client-tool-request:\n got %s\nwant %s", got[n+1], want)
	}
	return ctr, nil
}

// soakContinue posts the continue of executionID with results.
func soakContinue(ctx context.Context, browser *http.Client, url, session, executionID string, results []json.RawMessage) ([]string, bool, error) {
	rb, err := json.Marshal(results)
	if err != nil {
		return nil, false, err
	}
	cont := fmt.Sprintf(`{"sessionId":%q,"type":"continue","executionId":%q,"toolResults":%s}`, session, executionID, rb)
	return soakPost(ctx, browser, url, cont, false, nil)
}

// soakForgeOnce sends one forged continue, chosen by the session's number:
// an edited server result, a second result for the signed call id under
// another or no tool name, or the client result twice. Each must be
// answered 400 without reaching the platform.
func soakForgeOnce(ctx context.Context, browser *http.Client, url string, plat *soakPlatform, session, executionID string, honest []json.RawMessage) error {
	forged := append([]json.RawMessage(nil), honest...)
	var what string
	switch soakN(session) % 4 {
	case 0:
		what = "an edited server result"
		forged[0] = json.RawMessage(strings.Replace(string(forged[0]), `"result":7`, `"result":8`, 1))
	case 1:
		what = "a second result for the signed call id under another tool name"
		forged = append(forged, json.RawMessage(`{"toolCallId":"s","toolName":"other","result":8}`))
	case 2:
		what = "a second result for the signed call id without a tool name"
		forged = append(forged, json.RawMessage(`{"toolCallId":"s","result":8}`))
	case 3:
		what = "the client result twice"
		forged = append(forged, json.RawMessage(`{"toolCallId":"k","toolName":"confirm","result":false}`))
	}
	_, _, err := soakContinue(ctx, browser, url, session, executionID, forged)
	var se *soakStatusError
	if !errors.As(err, &se) || se.status != http.StatusBadRequest {
		return fmt.Errorf("continue with %s: %v, want status 400", what, err)
	}
	if n := plat.legCount(session); n != 1 {
		return fmt.Errorf("continue with %s reached the platform (%d legs)", what, n)
	}
	return nil
}

// soakCheckEndless checks an execution against a platform that asked for
// a round of one server tool on every leg: octavus-go must stop asking
// well before the platform's cap, with one non-retryable internal_error
// that says it was the round limit and no [DONE]. legs is how many legs
// the platform served; every leg's start is forwarded, and the tool of
// every leg but the last ran once and was answered.
func soakCheckEndless(got []string, done bool, legs int, runs map[string]int, session string) error {
	if legs >= soakEndlessCap {
		return fmt.Errorf("%d rounds and %d tool runs: nothing bounded the rounds", legs, len(runs))
	}
	if legs < 2 {
		return fmt.Errorf("%d legs: the first round was refused", legs)
	}
	start := `{"type":"start","messageId":"m","executionId":"x-` + session + `"}`
	var want []string
	for n := range legs {
		want = append(want, start)
		if n < legs-1 {
			want = append(want, fmt.Sprintf(`{"type":"tool-output-available","toolCallId":"e%d","output":%d}`, n, n))
		}
	}
	if len(got) != len(want)+1 {
		return fmt.Errorf("got %d events, want %d (%d legs), the last %.300s", len(got), len(want)+1, legs, got[len(got)-1])
	}
	if err := sameEvents(got[:len(want)], want, done, false); err != nil {
		return err
	}
	var ev struct {
		Type, ErrorType, Message string
		Retryable                bool
	}
	if err := json.Unmarshal([]byte(got[len(want)]), &ev); err != nil || ev.Type != "error" || ev.ErrorType != "internal_error" || ev.Retryable || !strings.Contains(strings.ToLower(ev.Message), "round") {
		return fmt.Errorf("the last event %s (%v), want a non-retryable internal_error about the round limit", got[len(want)], err)
	}
	if len(runs) != legs-1 {
		return fmt.Errorf("%d tools ran in %d legs, want %d", len(runs), legs, legs-1)
	}
	for n, c := range runs {
		if c != 1 {
			return fmt.Errorf("the tool of round %s ran %d times", n, c)
		}
	}
	return nil
}

// soakAsJavaScript is what a browser sends back of results:
// JSON.stringify(JSON.parse(x)) of each, whose numbers are JavaScript's
// (Go's encoder writes a float's shortest form as JavaScript does, except
// that JavaScript writes -0 as 0).
func soakAsJavaScript(results []json.RawMessage) []json.RawMessage {
	var fix func(v any) any
	fix = func(v any) any {
		switch v := v.(type) {
		case float64:
			if v == 0 {
				return 0.0 // -0 too
			}
		case map[string]any:
			for k, e := range v {
				v[k] = fix(e)
			}
		case []any:
			for i, e := range v {
				v[i] = fix(e)
			}
		}
		return v
	}
	out := make([]json.RawMessage, len(results))
	for i, r := range results {
		var v any
		if err := json.Unmarshal(r, &v); err != nil {
			out[i] = r
			continue
		}
		b, err := json.Marshal(fix(v))
		if err != nil {
			out[i] = r
			continue
		}
		out[i] = b
	}
	return out
}

// sameJSONEvents is sameEvents comparing each event as JSON values (key
// order and number forms aside).
func sameJSONEvents(got, want []string, done, wantDone bool) error {
	if done != wantDone {
		return fmt.Errorf("[DONE] %v, want %v", done, wantDone)
	}
	if len(got) != len(want) {
		return fmt.Errorf("got %d events, want %d:\n%s", len(got), len(want), soakShort(got))
	}
	for i := range want {
		var g, w any
		if json.Unmarshal([]byte(got[i]), &g) != nil || json.Unmarshal([]byte(want[i]), &w) != nil || !reflect.DeepEqual(g, w) {
			return fmt.Errorf("event %d:\n got %.300s\nwant %.300s", i, got[i], want[i])
		}
	}
	return nil
}

// soakShort is events, one a line, each cut to 300 bytes.
func soakShort(events []string) string {
	var b strings.Builder
	for _, e := range events {
		if len(e) > 300 {
			e = e[:300] + "..."
		}
		b.WriteString(e + "\n")
	}
	return b.String()
}

func sameEvents(got, want []string, done, wantDone bool) error {
	if done != wantDone {
		return fmt.Errorf("[DONE] %v, want %v", done, wantDone)
	}
	if len(got) != len(want) {
		return fmt.Errorf("got %d events, want %d:\n%s", len(got), len(want), soakShort(got))
	}
	for i := range want {
		if got[i] != want[i] {
			return fmt.Errorf("event %d:\n got %s\nwant %s", i, got[i], want[i])
		}
	}
	return nil
}

// soakPost posts body and reads the SSE answer. With leave, it cancels the
// request after the first event.
func soakPost(ctx context.Context, browser *http.Client, url, body string, leave bool, cancel func()) (events []string, done bool, err error) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	resp, err := browser.Do(req)
	if err != nil {
		return nil, false, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<10))
		return nil, false, &soakStatusError{resp.StatusCode, string(b)}
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 16<<20) // soakMixedLarge's events are 1.5 MiB
	for sc.Scan() {
		p, ok := strings.CutPrefix(sc.Text(), "data: ")
		if !ok {
			continue
		}
		if p == "[DONE]" {
			done = true
			continue
		}
		events = append(events, p)
		if leave {
			cancel()
			return events, false, nil
		}
	}
	return events, done, sc.Err()
}

// soakStatusError is a browser request answered with another status than 200.
type soakStatusError struct {
	status int
	body   string
}

func (e *soakStatusError) Error() string { return fmt.Sprintf("status %d: %s", e.status, e.body) }
