package octavus

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
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
	soakKinds
)

// soakPlatform answers /trigger by the session id "<kind>-<n>" and by how
// many legs that session has had.
type soakPlatform struct {
	mu      sync.Mutex
	legs    map[string]int
	aborted atomic.Int64
	leaving map[string]chan struct{} // soakLeave: closed when the platform request ends
}

const soakDeltas = 20

func soakDelta(session string, leg, j int) string {
	return fmt.Sprintf(`{"type":"text-delta","id":"t","delta":"%s/%d/%d"}`, session, leg, j)
}

func (p *soakPlatform) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	session := strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, "/api/agent-sessions/"), "/trigger")
	var kind int
	fmt.Sscanf(session, "%d-", &kind)
	_, _ = io.Copy(io.Discard, r.Body)
	p.mu.Lock()
	leg := p.legs[session]
	p.legs[session] = leg + 1
	leaving := p.leaving[session]
	p.mu.Unlock()

	if kind == soakRetry && leg == 0 {
		w.Header().Set("Retry-After", "1")
		http.Error(w, `{"error":"busy"}`, http.StatusServiceUnavailable)
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	fl := w.(http.Flusher)
	send := func(ev string) { _, _ = io.WriteString(w, "data: "+ev+"\n\n") }
	send(`{"type":"start","messageId":"m","executionId":"x-` + session + `"}`)
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
	case kind == soakClientTool && leg == 0:
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
// platform faults and browsers that leave. Every event of every execution
// that completes must arrive in order; the ones that are cut must end with
// one retryable error; goroutines must return to their baseline.
//
//	go test -run Soak -soak 30s
func TestSoak(t *testing.T) {
	if *soakFor <= 0 {
		t.Skip("soak test: run with -soak DURATION (e.g. go test -run Soak -soak 30s)")
	}
	// Goroutines of earlier tests, and the runtime's, are the baseline.
	baseline := goleak.IgnoreCurrent()

	plat := &soakPlatform{legs: map[string]int{}, leaving: map[string]chan struct{}{}}
	platSrv := httptest.NewServer(plat)
	defer platSrv.Close()
	tr := &http.Transport{MaxIdleConnsPerHost: *soakConcurrency}
	c, err := NewClient(ClientOptions{BaseURL: platSrv.URL, APIKey: testKey, HTTPClient: &http.Client{Transport: tr}, ResultSigningKey: signingKey, Logger: slog.New(slog.DiscardHandler)})
	require.NoError(t, err)
	c.sleep = func(ctx context.Context, _ time.Duration) error { return ctx.Err() } // Retry-After is honoured elsewhere; here it would only slow the soak
	tools := ToolHandlers{"echo": func(_ context.Context, args map[string]any) (any, error) { return args["n"], nil }}
	app := httptest.NewServer(c.AgentSessions.Handler(HandlerOptions{Tools: tools}))
	defer app.Close()
	browser := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: *soakConcurrency}}

	deadline := time.Now().Add(*soakFor)
	var total, waves int
	for waves == 0 || time.Now().Before(deadline) {
		var wg sync.WaitGroup
		errs := make(chan error, *soakConcurrency)
		for i := range *soakConcurrency {
			kind := i % soakKinds
			session := fmt.Sprintf("%d-%d-%d", kind, waves, i)
			if kind == soakLeave {
				plat.mu.Lock()
				plat.leaving[session] = make(chan struct{})
				plat.mu.Unlock()
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := soakOne(browser, app.URL, plat, kind, session); err != nil {
					errs <- fmt.Errorf("%s: %w", session, err)
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
		if t.Failed() {
			return
		}
		total += *soakConcurrency
		waves++
	}
	t.Logf("%d executions in %d waves of %d; %d platform requests aborted by leaving browsers", total, waves, *soakConcurrency, plat.aborted.Load())

	browser.CloseIdleConnections()
	tr.CloseIdleConnections()
	app.Close()
	platSrv.Close()
	goleak.VerifyNone(t, baseline)
}

// soakOne runs one execution as a browser and checks what it received.
func soakOne(browser *http.Client, url string, plat *soakPlatform, kind int, session string) error {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	body := fmt.Sprintf(`{"sessionId":%q,"type":"trigger","triggerName":"user-message","input":{"USER_MESSAGE":"hi"}}`, session)
	got, done, err := soakPost(ctx, browser, url, body, kind == soakLeave, cancel)
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
	case soakLeave:
		// The browser left after the first event; the platform request
		// must end too.
		plat.mu.Lock()
		ch := plat.leaving[session]
		plat.mu.Unlock()
		<-ch
		if len(got) < 1 || got[0] != start {
			return fmt.Errorf("left after %v", got)
		}
		return nil
	case soakClientTool:
		leg(0)
		want = append(want, `{"type":"tool-output-available","toolCallId":"s","output":7}`)
		if len(got) != len(want)+2 {
			return fmt.Errorf("got %d events, want %d", len(got), len(want)+2)
		}
		var ctr struct {
			ExecutionID       string            `json:"executionId"`
			ServerToolResults []json.RawMessage `json:"serverToolResults"`
		}
		if err := json.Unmarshal([]byte(got[len(want)]), &ctr); err != nil || !strings.HasPrefix(ctr.ExecutionID, "x-"+session+"~") {
			return fmt.Errorf("client-tool-request %s (%v)", got[len(want)], err)
		}
		results := append(ctr.ServerToolResults, json.RawMessage(`{"toolCallId":"k","toolName":"confirm","result":true}`))
		rb, _ := json.Marshal(results)
		cont := fmt.Sprintf(`{"sessionId":%q,"type":"continue","executionId":%q,"toolResults":%s}`, session, ctr.ExecutionID, rb)
		got2, done2, err := soakPost(ctx, browser, url, cont, false, nil)
		if err != nil {
			return err
		}
		var want2 []string
		w := want
		want = nil
		leg(1)
		want = append(want, stop)
		want, want2 = w, want
		if err := sameEvents(got2, want2, done2, true); err != nil {
			return fmt.Errorf("continue: %w", err)
		}
		return sameEvents(got[:len(want)], want, done, true)
	}
	return sameEvents(got, want, done, kind != soakCut)
}

func sameEvents(got, want []string, done, wantDone bool) error {
	if done != wantDone {
		return fmt.Errorf("[DONE] %v, want %v", done, wantDone)
	}
	if len(got) != len(want) {
		return fmt.Errorf("got %d events, want %d:\n%s", len(got), len(want), strings.Join(got, "\n"))
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
		b, _ := io.ReadAll(resp.Body)
		return nil, false, fmt.Errorf("status %d: %s", resp.StatusCode, b)
	}
	sc := bufio.NewScanner(resp.Body)
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
