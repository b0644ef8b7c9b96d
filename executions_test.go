package octavus_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/octavus-go/octavus"
	"github.com/octavus-go/octavus/octavustest"
)

// execEnv is a fake platform with one session, an Executions on it and the
// polling handler served over HTTP.
type execEnv struct {
	t        *testing.T
	platform *octavustest.Server
	client   *octavus.Client
	session  string
	execs    *octavus.Executions
	srv      *httptest.Server
}

func newExecEnv(t *testing.T, opts octavus.ExecutionsOptions, popts octavus.PollingOptions, script ...octavustest.Turn) *execEnv {
	t.Helper()
	platform := octavustest.NewServer(octavustest.WithScript(script...))
	client, err := octavus.NewClient(octavus.ClientOptions{BaseURL: platform.URL, APIKey: platform.APIKey})
	if err != nil {
		t.Fatal(err)
	}
	env := &execEnv{t: t, platform: platform, client: client, session: platform.AddSession(octavustest.Session{})}
	env.execs = octavus.NewExecutions(client, opts)
	env.srv = httptest.NewServer(http.StripPrefix("/api/chat", octavus.NewPollingHandler(env.execs, popts)))
	t.Cleanup(func() {
		env.srv.Close()
		if err := env.execs.Close(); err != nil {
			t.Error(err)
		}
		platform.Close()
	})
	return env
}

var userMessage = octavus.TriggerRequest{TriggerName: "user-message", Input: map[string]any{"USER_MESSAGE": "Hi"}}

func (env *execEnv) start() octavus.ExecutionRecord {
	env.t.Helper()
	rec, err := env.execs.Start(context.Background(), env.session, userMessage)
	if err != nil {
		env.t.Fatal(err)
	}
	return rec
}

func (env *execEnv) url(route string, query ...string) string {
	u := env.srv.URL + "/api/chat/" + route + "?sessionId=" + env.session
	for _, q := range query {
		u += "&" + q
	}
	return u
}

// pollOnce is one onPoll of createPollingTransport.
func (env *execEnv) pollOnce(cursor int) octavus.PollResult {
	env.t.Helper()
	resp, err := http.Get(env.url("poll", "cursor="+strconv.Itoa(cursor)))
	if err != nil {
		env.t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		env.t.Fatalf("poll: %d %s", resp.StatusCode, b)
	}
	var res octavus.PollResult
	if err := json.NewDecoder(resp.Body).Decode(&res); err != nil {
		env.t.Fatal(err)
	}
	return res
}

// pollAll runs the polling transport's loop from cursor until the status
// is not streaming, and returns the events and the last answer. The
// handler must have a PollWait, so that the loop waits on the server.
func (env *execEnv) pollAll(cursor int) ([]map[string]any, octavus.PollResult) {
	env.t.Helper()
	var events []map[string]any
	for {
		res := env.pollOnce(cursor)
		if res.Cursor < cursor {
			env.t.Fatalf("cursor went back from %d to %d", cursor, res.Cursor)
		}
		cursor = res.Cursor
		for _, raw := range res.Events {
			var ev map[string]any
			if err := json.Unmarshal(raw, &ev); err != nil {
				env.t.Fatal(err)
			}
			events = append(events, ev)
		}
		if res.Status != octavus.PollStreaming {
			return events, res
		}
	}
}

func types(events []map[string]any) []string {
	var out []string
	for _, ev := range events {
		out = append(out, fmt.Sprint(ev["type"]))
	}
	return out
}

func text(events []map[string]any) string {
	var b strings.Builder
	for _, ev := range events {
		if ev["type"] == "text-delta" {
			b.WriteString(fmt.Sprint(ev["delta"]))
		}
	}
	return b.String()
}

func deltas(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("w%d ", i)
	}
	return out
}

func (env *execEnv) status() octavus.ExecutionRecord {
	env.t.Helper()
	p, err := env.execs.Read(context.Background(), octavus.LogRead{SessionID: env.session, Cursor: 1 << 30})
	if err != nil {
		env.t.Fatal(err)
	}
	return p.Execution
}

var longPoll = octavus.PollingOptions{PollWait: time.Minute}

// waitCtx bounds a wait on the platform, so that a test that goes wrong
// fails instead of hanging.
func waitCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func TestExecutionsLongAnswer(t *testing.T) {
	words := deltas(300)
	env := newExecEnv(t, octavus.ExecutionsOptions{}, longPoll, octavustest.Stream(octavustest.Text(words...)))
	rec := env.start()
	if rec.Status != octavus.StatusRunning || rec.SessionID != env.session || rec.Owner != env.execs.Owner() {
		t.Fatalf("record %+v", rec)
	}
	events, last := env.pollAll(0)
	if last.Status != octavus.PollIdle || last.Cursor != len(events) {
		t.Fatalf("last poll: status %s cursor %d after %d events", last.Status, last.Cursor, len(events))
	}
	want := append([]string{"start", "text-start"}, make([]string, 300)...)
	for i := range 300 {
		want[2+i] = "text-delta"
	}
	want = append(want, "text-end", "finish")
	if got := types(events); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("events %v", got)
	}
	if got := text(events); got != strings.Join(words, "") {
		t.Fatalf("text %q", got)
	}
	if st := env.status().Status; st != octavus.StatusDone {
		t.Fatalf("status %s", st)
	}
}

func TestExecutionsServerToolRound(t *testing.T) {
	var calls atomic.Int32
	env := newExecEnv(t, octavus.ExecutionsOptions{Tools: octavus.ToolHandlers{
		"get-user": func(ctx context.Context, args map[string]any) (any, error) {
			calls.Add(1)
			return map[string]any{"name": "Ada"}, nil
		},
	}}, longPoll,
		octavustest.Stream(octavustest.ToolCall{Name: "get-user"}),
		octavustest.Respond(func(req octavustest.TriggerRequest) octavustest.Turn {
			return octavustest.Stream(octavustest.Text("Hello, ", fmt.Sprint(req.ToolResults[0].Result.(map[string]any)["name"])))
		}))
	env.start()
	events, last := env.pollAll(0)
	if last.Status != octavus.PollIdle {
		t.Fatalf("status %s", last.Status)
	}
	var output any
	for _, ev := range events {
		if ev["type"] == "tool-output-available" {
			output = ev["output"]
		}
	}
	if fmt.Sprint(output) != "map[name:Ada]" || text(events) != "Hello, Ada" {
		t.Fatalf("events %v", events)
	}
	if calls.Load() != 1 || len(env.platform.Requests()) != 2 {
		t.Fatalf("tool ran %d times, %d platform requests", calls.Load(), len(env.platform.Requests()))
	}
	// Reading again (another poller, a reload) runs nothing.
	again, _ := env.pollAll(0)
	if len(again) != len(events) || calls.Load() != 1 || len(env.platform.Requests()) != 2 {
		t.Fatalf("a second read: %d events, tool ran %d times, %d platform requests", len(again), calls.Load(), len(env.platform.Requests()))
	}
}

func TestExecutionsBrowserGone(t *testing.T) {
	release := make(chan struct{})
	env := newExecEnv(t, octavus.ExecutionsOptions{}, longPoll,
		octavustest.Stream(octavustest.Text("before "), octavustest.Stall(release), octavustest.Text("after")))
	// The trigger's request ends (the browser left) at once.
	ctx, cancel := context.WithCancel(context.Background())
	if _, err := env.execs.Start(ctx, env.session, userMessage); err != nil {
		t.Fatal(err)
	}
	cancel()
	// The answer goes on: the first part is logged, then the rest.
	first := env.pollOnce(0)
	for first.Cursor < 4 { // start, text-start, text-delta, text-end
		first = env.pollOnce(0)
	}
	close(release)
	events, last := env.pollAll(0)
	if last.Status != octavus.PollIdle || text(events) != "before after" {
		t.Fatalf("status %s, text %q", last.Status, text(events))
	}
	if req, err := env.platform.WaitDone(waitCtx(t), 1); err != nil || req.Aborted {
		t.Fatalf("platform request aborted %v, %v", req.Aborted, err)
	}
}

func TestPollFromCursors(t *testing.T) {
	env := newExecEnv(t, octavus.ExecutionsOptions{}, octavus.PollingOptions{PollWait: time.Minute, MaxPollEvents: 4},
		octavustest.Stream(octavustest.Text(deltas(10)...)))
	env.start()
	all, last := env.pollAll(0)
	if len(all) != 14 || last.Status != octavus.PollIdle || last.Cursor != 14 {
		t.Fatalf("%d events, last %+v", len(all), last)
	}
	for _, cursor := range []int{0, 3, 10, 13, 14, 20} {
		res := env.pollOnce(cursor)
		from := min(cursor, 14)
		n := min(4, 14-from)
		if len(res.Events) != n || res.Cursor != from+n {
			t.Fatalf("poll from %d: %d events, cursor %d", cursor, len(res.Events), res.Cursor)
		}
		for i, raw := range res.Events {
			var ev map[string]any
			if err := json.Unmarshal(raw, &ev); err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(ev) != fmt.Sprint(all[from+i]) {
				t.Fatalf("poll from %d: event %d is %v, want %v", cursor, i, ev, all[from+i])
			}
		}
		wantStatus := octavus.PollStreaming
		if from+n == 14 {
			wantStatus = octavus.PollIdle
		}
		if res.Status != wantStatus {
			t.Fatalf("poll from %d: status %s, want %s", cursor, res.Status, wantStatus)
		}
	}
}

// sseEvent is one event of the SSE route.
type sseEvent struct {
	id   string
	data string
}

// sseReader reads the SSE route's events.
type sseReader struct {
	resp *http.Response
	sc   *bufio.Scanner
}

func (env *execEnv) openSSE(ctx context.Context, lastEventID string, query ...string) *sseReader {
	env.t.Helper()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, env.url("events", query...), nil)
	if lastEventID != "" {
		req.Header.Set("Last-Event-ID", lastEventID)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		env.t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/event-stream" {
		env.t.Fatalf("events: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	return &sseReader{resp: resp, sc: bufio.NewScanner(resp.Body)}
}

// next returns the next event; ok is false at the end of the stream. It
// skips comments.
func (r *sseReader) next() (ev sseEvent, ok bool) {
	for r.sc.Scan() {
		line := r.sc.Text()
		switch {
		case line == "":
			if ev.data != "" {
				return ev, true
			}
		case strings.HasPrefix(line, "id: "):
			ev.id = strings.TrimPrefix(line, "id: ")
		case strings.HasPrefix(line, "data: "):
			ev.data = strings.TrimPrefix(line, "data: ")
		}
	}
	return ev, false
}

func (r *sseReader) rest(t *testing.T) []sseEvent {
	t.Helper()
	defer r.resp.Body.Close()
	var out []sseEvent
	for {
		ev, ok := r.next()
		if !ok {
			return out
		}
		out = append(out, ev)
	}
}

func TestSSEResume(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	release := make(chan struct{})
	env := newExecEnv(t, octavus.ExecutionsOptions{}, octavus.PollingOptions{},
		octavustest.Stream(octavustest.Text("one ", "two "), octavustest.Stall(release), octavustest.Text("three ", "four")))
	rec := env.start()

	// The first connection reads what there is, up to the stall, and drops.
	ctx, cancel := context.WithCancel(context.Background())
	first := env.openSSE(ctx, "")
	var seen []sseEvent
	for len(seen) < 5 { // start, text-start, 2 deltas, text-end
		ev, ok := first.next()
		if !ok {
			t.Fatal("stream ended early")
		}
		seen = append(seen, ev)
	}
	cancel()
	first.resp.Body.Close()
	for i, ev := range seen {
		if ev.id != rec.ID+":"+strconv.Itoa(i+1) {
			t.Fatalf("event %d has id %q", i, ev.id)
		}
	}

	// The reconnect resumes after the last id: the tail, nothing twice.
	second := env.openSSE(context.Background(), seen[len(seen)-1].id)
	close(release)
	rest := second.rest(t)
	if len(rest) == 0 || rest[len(rest)-1].data != "[DONE]" {
		t.Fatalf("resumed stream does not end with [DONE]: %v", rest)
	}
	rest = rest[:len(rest)-1]
	var events []map[string]any
	for i, ev := range append(seen, rest...) {
		if ev.id != rec.ID+":"+strconv.Itoa(i+1) {
			t.Fatalf("event %d has id %q", i, ev.id)
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(ev.data), &m); err != nil {
			t.Fatal(err)
		}
		events = append(events, m)
	}
	if text(events) != "one two three four" {
		t.Fatalf("text %q", text(events))
	}
	if got := strings.Join(types(events), ","); got != "start,text-start,text-delta,text-delta,text-end,text-start,text-delta,text-delta,text-end,finish" {
		t.Fatalf("events %s", got)
	}
	// ?cursor= resumes too, and a stream of an ended execution is its
	// tail and [DONE].
	tail := env.openSSE(context.Background(), "", "cursor=8").rest(t)
	if len(tail) != 3 || tail[0].id != rec.ID+":9" || tail[2].data != "[DONE]" {
		t.Fatalf("tail from cursor 8: %v", tail)
	}
	if err := env.execs.Close(); err != nil {
		t.Fatal(err)
	}
	env.srv.Close()
	env.platform.Close()
}

func TestCursorOfAnotherExecution(t *testing.T) {
	env := newExecEnv(t, octavus.ExecutionsOptions{}, longPoll,
		octavustest.Stream(octavustest.Text("a0 ", "a1 ", "a2 ", "a3")),
		octavustest.Stream(octavustest.Text("b0 ", "b1 ", "b2 ", "b3 ", "b4 ", "b5")))
	a := env.start()
	eventsA, _ := env.pollAll(0)
	b := env.start()
	eventsB, last := env.pollAll(0)
	if last.ExecutionID != b.ID || text(eventsB) != "b0 b1 b2 b3 b4 b5" {
		t.Fatalf("B: %+v %v", last, eventsB)
	}
	// A poll with A's cursor, naming A, gets B from its start.
	res := env.pollOnce2(3, "executionId="+a.ID)
	if res.ExecutionID != b.ID || len(res.Events) != len(eventsB) || res.Cursor != len(eventsB) {
		t.Fatalf("poll with A's cursor: %+v", res)
	}
	// Naming B (or nothing, as before) goes on from the cursor.
	if res := env.pollOnce2(3, "executionId="+b.ID); len(res.Events) != len(eventsB)-3 {
		t.Fatalf("poll with B's cursor: %+v", res)
	}
	if res := env.pollOnce2(3); len(res.Events) != len(eventsB)-3 {
		t.Fatalf("poll with a bare cursor: %+v", res)
	}
	// A cursor of A past B's end does not wait: it is B from its start.
	if res := env.pollOnce2(len(eventsB)+5, "executionId="+a.ID); res.Cursor != len(eventsB) || len(res.Events) != len(eventsB) {
		t.Fatalf("poll with A's cursor past B's end: %+v", res)
	}
	// SSE: a Last-Event-ID of A restarts at B's 0; one of B resumes.
	all := env.openSSE(context.Background(), a.ID+":"+strconv.Itoa(len(eventsA))).rest(t)
	if len(all) != len(eventsB)+1 || all[0].id != b.ID+":1" {
		t.Fatalf("SSE with A's Last-Event-ID: %v", all)
	}
	tail := env.openSSE(context.Background(), b.ID+":3").rest(t)
	if len(tail) != len(eventsB)-3+1 || tail[0].id != b.ID+":4" {
		t.Fatalf("SSE with B's Last-Event-ID: %v", tail)
	}
	bare := env.openSSE(context.Background(), "3").rest(t)
	if len(bare) != len(tail) || bare[0].id != tail[0].id {
		t.Fatalf("SSE with a bare Last-Event-ID: %v", bare)
	}
}

// pollOnce2 is one poll from cursor with more query parameters.
func (env *execEnv) pollOnce2(cursor int, query ...string) octavus.PollResult {
	env.t.Helper()
	resp, err := http.Get(env.url("poll", append([]string{"cursor=" + strconv.Itoa(cursor)}, query...)...))
	if err != nil {
		env.t.Fatal(err)
	}
	defer resp.Body.Close()
	var res octavus.PollResult
	if err := json.NewDecoder(resp.Body).Decode(&res); err != nil || resp.StatusCode != http.StatusOK {
		env.t.Fatalf("poll: %d %v", resp.StatusCode, err)
	}
	return res
}

func TestSSENoExecution(t *testing.T) {
	env := newExecEnv(t, octavus.ExecutionsOptions{}, octavus.PollingOptions{})
	resp, err := http.Get(env.url("events"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("events of a session without execution: %d", resp.StatusCode)
	}
}

func TestSSEEndedExecutionAtItsEnd(t *testing.T) {
	env := newExecEnv(t, octavus.ExecutionsOptions{}, longPoll,
		octavustest.Stream(octavustest.Text("whole")),
		octavustest.Stream(octavustest.Text("partial"), octavustest.Event(map[string]any{"type": "error", "errorType": "provider_error", "message": "boom"})))
	for range 2 {
		rec := env.start()
		events, _ := env.pollAll(0)
		for _, last := range []string{rec.ID + ":" + strconv.Itoa(len(events)), rec.ID + ":" + strconv.Itoa(len(events)+3)} {
			req, _ := http.NewRequest(http.MethodGet, env.url("events"), nil)
			req.Header.Set("Last-Event-ID", last)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusNoContent {
				t.Fatalf("reconnect at the end (%s) of an ended execution: %d", last, resp.StatusCode)
			}
		}
	}
}

func TestExecutionsStop(t *testing.T) {
	env := newExecEnv(t, octavus.ExecutionsOptions{}, longPoll,
		octavustest.Stream(octavustest.Text("partial"), octavustest.Stall(nil)))
	env.start()
	for env.pollOnce(0).Cursor < 4 {
	}
	resp, err := http.Post(env.url("stop"), "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || string(body) != "{}" {
		t.Fatalf("stop: %d %s", resp.StatusCode, body)
	}
	events, last := env.pollAll(0)
	if last.Status != octavus.PollIdle || events[len(events)-1]["type"] != "finish" || events[len(events)-1]["finishReason"] != "stop" {
		t.Fatalf("after stop: status %s, events %v", last.Status, events)
	}
	if st := env.status().Status; st != octavus.StatusStopped {
		t.Fatalf("status %s", st)
	}
	if req, err := env.platform.WaitDone(waitCtx(t), 1); err != nil || !req.Aborted {
		t.Fatalf("the platform stream was not cancelled: aborted %v, %v", req.Aborted, err)
	}
}

// replicas are two Executions on one store, as two processes on one Redis.
func replicas(t *testing.T, env *execEnv, opts octavus.ExecutionsOptions) (a, b *octavus.Executions) {
	t.Helper()
	opts.Store = octavus.NewMemoryStore(octavus.MemoryStoreOptions{})
	a = octavus.NewExecutions(env.client, opts)
	b = octavus.NewExecutions(env.client, opts)
	t.Cleanup(func() {
		_ = a.Close()
		_ = b.Close()
	})
	if a.Owner() == b.Owner() {
		t.Fatalf("two replicas share the owner %q", a.Owner())
	}
	return a, b
}

func readAll(t *testing.T, e *octavus.Executions, session string) ([]map[string]any, octavus.ExecutionRecord) {
	t.Helper()
	cursor := 0
	var events []map[string]any
	for {
		p, err := e.Read(context.Background(), octavus.LogRead{SessionID: session, Cursor: cursor, Wait: time.Minute})
		if err != nil {
			t.Fatal(err)
		}
		for _, en := range p.Entries {
			var m map[string]any
			if err := json.Unmarshal(en.Data, &m); err != nil {
				t.Fatal(err)
			}
			if m["type"] != en.Type {
				t.Fatalf("entry of type %q holds %s", en.Type, en.Data)
			}
			events = append(events, m)
		}
		cursor = p.Next
		if p.Execution.Status != octavus.StatusRunning {
			return events, p.Execution
		}
	}
}

func TestStopThroughAnotherReplica(t *testing.T) {
	env := newExecEnv(t, octavus.ExecutionsOptions{}, octavus.PollingOptions{},
		octavustest.Stream(octavustest.Text("partial"), octavustest.Stall(nil)))
	a, b := replicas(t, env, octavus.ExecutionsOptions{RenewInterval: 5 * time.Millisecond})
	if _, err := a.Start(context.Background(), env.session, userMessage); err != nil {
		t.Fatal(err)
	}
	// The platform has the trigger (a stop before it would cancel the
	// execution before it posted anything).
	if _, err := env.platform.WaitRequest(waitCtx(t), 1); err != nil {
		t.Fatal(err)
	}
	if ok, err := b.Stop(context.Background(), env.session); !ok || err != nil {
		t.Fatalf("Stop through b = %v, %v", ok, err)
	}
	events, rec := readAll(t, b, env.session)
	if rec.Status != octavus.StatusStopped || rec.Owner != a.Owner() || events[len(events)-1]["finishReason"] != "stop" {
		t.Fatalf("record %+v, events %v", rec, events)
	}
	if req, err := env.platform.WaitDone(waitCtx(t), 1); err != nil || !req.Aborted {
		t.Fatalf("the platform stream was not cancelled: aborted %v, %v", req.Aborted, err)
	}
}

func TestBusyReject(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	env := newExecEnv(t, octavus.ExecutionsOptions{}, octavus.PollingOptions{},
		octavustest.Stream(octavustest.Text("first"), octavustest.Stall(release)))
	first := env.start()
	_, err := env.execs.Start(context.Background(), env.session, userMessage)
	var apiErr *octavus.APIError
	if !octavus.IsSessionBusyError(err) || !errors.As(err, &apiErr) || apiErr.Message != "The session is busy with another run. Please try again in a moment." {
		t.Fatalf("second Start: %v", err)
	}
	resp, err := http.Post(env.srv.URL+"/api/chat/trigger", "application/json", strings.NewReader(`{"sessionId":"`+env.session+`","triggerName":"user-message","input":{"USER_MESSAGE":"again"}}`))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusTooManyRequests || string(body) != `{"error":"The session is busy with another run. Please try again in a moment.","code":"SESSION_BUSY"}` {
		t.Fatalf("trigger while busy: %d %s", resp.StatusCode, body)
	}
	if rec := env.status(); rec.ID != first.ID || rec.Status != octavus.StatusRunning {
		t.Fatalf("the busy trigger changed the log: %+v", rec)
	}
	if _, err := env.platform.WaitRequest(waitCtx(t), 1); err != nil {
		t.Fatal(err)
	}
	if n := len(env.platform.Requests()); n != 1 {
		t.Fatalf("%d platform requests", n)
	}
}

func TestBusyWait(t *testing.T) {
	release := make(chan struct{})
	env := newExecEnv(t, octavus.ExecutionsOptions{Busy: octavus.BusyWait}, longPoll,
		octavustest.Stream(octavustest.Text("first"), octavustest.Stall(release)),
		octavustest.Stream(octavustest.Text("second")))
	first := env.start()
	started := make(chan error, 1)
	go func() {
		_, err := env.execs.Start(context.Background(), env.session, userMessage)
		started <- err
	}()
	for env.pollOnce(0).Cursor < 4 {
	}
	select {
	case err := <-started:
		t.Fatalf("the second Start did not wait: %v", err)
	default:
	}
	close(release)
	if err := <-started; err != nil {
		t.Fatal(err)
	}
	events, last := env.pollAll(0)
	rec := env.status()
	if last.Status != octavus.PollIdle || text(events) != "second" || rec.ID == first.ID {
		t.Fatalf("log after the wait: %s %q %+v", last.Status, text(events), rec)
	}
	if n := len(env.platform.Requests()); n != 2 {
		t.Fatalf("%d platform requests", n)
	}
	// A waiting Start gives up with its ctx.
	release2 := make(chan struct{})
	defer close(release2)
	env.platform.SetScript(env.session, octavustest.Stream(octavustest.Stall(release2)))
	env.start()
	ctx, cancel := context.WithCancel(context.Background())
	go cancel()
	if _, err := env.execs.Start(ctx, env.session, userMessage); !errors.Is(err, context.Canceled) {
		t.Fatalf("waiting Start with a cancelled ctx: %v", err)
	}
}

func TestMaxDuration(t *testing.T) {
	env := newExecEnv(t, octavus.ExecutionsOptions{MaxDuration: 50 * time.Millisecond}, longPoll,
		octavustest.Stream(octavustest.Text("slow"), octavustest.Stall(nil)))
	env.start()
	events, last := env.pollAll(0)
	end := events[len(events)-1]
	if last.Status != octavus.PollError || end["type"] != "error" || !strings.Contains(fmt.Sprint(end["message"]), "MaxDuration") || end["retryable"] != false {
		t.Fatalf("status %s, events %v", last.Status, events)
	}
	for _, ev := range events {
		if ev["type"] == "finish" {
			t.Fatalf("a finish event in the log of an execution cut by MaxDuration: %v", events)
		}
	}
	if st := env.status().Status; st != octavus.StatusFailed {
		t.Fatalf("status %s", st)
	}
}

func TestDeadOwnerLeaseExpiry(t *testing.T) {
	store := octavus.NewMemoryStore(octavus.MemoryStoreOptions{})
	env := newExecEnv(t, octavus.ExecutionsOptions{Store: store}, longPoll, octavustest.Stream(octavustest.Text("fresh")))
	// A replica claimed the session, logged two events and died: its lease
	// ran out.
	ctx := context.Background()
	if _, err := store.Claim(ctx, octavus.Claim{SessionID: env.session, ID: "run_dead", Owner: "dead", LeaseUntil: time.Now().Add(-time.Second)}); err != nil {
		t.Fatal(err)
	}
	if _, err := store.Append(ctx, env.session, "run_dead", "dead", []octavus.LoggedEvent{
		{Type: "start", Data: json.RawMessage(`{"type":"start","messageId":"m1"}`)},
		{Type: "text-start", Data: json.RawMessage(`{"type":"text-start","id":"t1"}`)},
	}); err != nil {
		t.Fatal(err)
	}
	// A poller does not hang: the log is closed with a retryable error.
	events, last := env.pollAll(0)
	end := events[len(events)-1]
	if last.Status != octavus.PollError || len(events) != 3 || end["type"] != "error" || end["retryable"] != true || !strings.Contains(fmt.Sprint(end["message"]), "abandoned") {
		t.Fatalf("status %s, events %v", last.Status, events)
	}
	// The session runs again.
	env.start()
	events, last = env.pollAll(0)
	if last.Status != octavus.PollIdle || text(events) != "fresh" {
		t.Fatalf("next execution: %s %q", last.Status, text(events))
	}

	// A trigger finds a dead owner's execution too, and takes the slot.
	if _, err := store.Claim(ctx, octavus.Claim{SessionID: "sess_other", ID: "run_dead", Owner: "dead", LeaseUntil: time.Now().Add(-time.Second)}); err != nil {
		t.Fatal(err)
	}
	sid := env.platform.AddSession(octavustest.Session{ID: "sess_other", Script: []octavustest.Turn{octavustest.Stream(octavustest.Text("taken over"))}})
	if _, err := env.execs.Start(ctx, sid, userMessage); err != nil {
		t.Fatalf("Start over a dead owner's execution: %v", err)
	}
	events, _ = readAll(t, env.execs, sid)
	if text(events) != "taken over" {
		t.Fatalf("events %v", events)
	}
}

// stallingStore is a store whose renewals hang, as on a replica cut off
// from the store, until released.
type stallingStore struct {
	octavus.ExecutionStore
	release chan struct{}
}

func (s *stallingStore) Renew(ctx context.Context, sessionID, id, owner string, leaseUntil time.Time) (bool, error) {
	select {
	case <-s.release:
	case <-ctx.Done():
		return false, ctx.Err()
	}
	return s.ExecutionStore.Renew(ctx, sessionID, id, owner, leaseUntil)
}

func TestLeaseLostStopsTheOwner(t *testing.T) {
	env := newExecEnv(t, octavus.ExecutionsOptions{}, octavus.PollingOptions{},
		octavustest.Stream(octavustest.Text("partial"), octavustest.Stall(nil)))
	shared := octavus.NewMemoryStore(octavus.MemoryStoreOptions{})
	stalled := &stallingStore{shared, make(chan struct{})}
	a := octavus.NewExecutions(env.client, octavus.ExecutionsOptions{Store: stalled, Lease: 30 * time.Millisecond, RenewInterval: 5 * time.Millisecond, Logger: slog.New(slog.DiscardHandler)})
	b := octavus.NewExecutions(env.client, octavus.ExecutionsOptions{Store: shared, Lease: 30 * time.Millisecond})
	defer b.Close()
	if _, err := a.Start(context.Background(), env.session, userMessage); err != nil {
		t.Fatal(err)
	}
	if _, err := env.platform.WaitRequest(waitCtx(t), 1); err != nil {
		t.Fatal(err)
	}
	// b reads until the lease runs out and closes the log.
	events, rec := readAll(t, b, env.session)
	if rec.Status != octavus.StatusFailed || events[len(events)-1]["type"] != "error" {
		t.Fatalf("record %+v, events %v", rec, events)
	}
	// a comes back: its renewal is refused, it stops, and writes nothing.
	close(stalled.release)
	if req, err := env.platform.WaitDone(waitCtx(t), 1); err != nil || !req.Aborted {
		t.Fatalf("the platform stream of the lost execution was not cancelled: aborted %v, %v", req.Aborted, err)
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	after, _ := readAll(t, b, env.session)
	if len(after) != len(events) {
		t.Fatalf("the lost owner wrote on: %v", after[len(events):])
	}
}

func TestClientToolEndsWithError(t *testing.T) {
	env := newExecEnv(t, octavus.ExecutionsOptions{}, longPoll,
		octavustest.Stream(octavustest.Text("Let me ask the browser."), octavustest.ToolCall{Name: "pick-color"}))
	env.start()
	events, last := env.pollAll(0)
	end := events[len(events)-1]
	if last.Status != octavus.PollError || end["type"] != "error" || !strings.Contains(fmt.Sprint(end["message"]), `Tool "pick-color" has no handler on the server`) {
		t.Fatalf("status %s, events %v", last.Status, events)
	}
	for _, ev := range events {
		if ev["type"] == "client-tool-request" || ev["type"] == "finish" {
			t.Fatalf("%s in the log: %v", ev["type"], events)
		}
	}
}

func TestShutdown(t *testing.T) {
	env := newExecEnv(t, octavus.ExecutionsOptions{}, longPoll,
		octavustest.Stream(octavustest.Text("partial"), octavustest.Stall(nil)))
	env.start()
	for env.pollOnce(0).Cursor < 4 {
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := env.execs.Shutdown(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Shutdown: %v", err)
	}
	events, last := env.pollAll(0)
	end := events[len(events)-1]
	if last.Status != octavus.PollError || end["type"] != "error" || end["retryable"] != true || !strings.Contains(fmt.Sprint(end["message"]), "shut down") {
		t.Fatalf("status %s, events %v", last.Status, events)
	}
	if _, err := env.execs.Start(context.Background(), env.session, userMessage); !errors.Is(err, octavus.ErrExecutionsClosed) {
		t.Fatalf("Start after Shutdown: %v", err)
	}
	// Shutdown with time to spare waits for the executions to end.
	env2 := newExecEnv(t, octavus.ExecutionsOptions{}, longPoll, octavustest.Stream(octavustest.Text("whole")))
	env2.start()
	if err := env2.execs.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if rec := env2.status(); rec.Status != octavus.StatusDone {
		t.Fatalf("after a graceful Shutdown: %+v", rec)
	}
}

func TestPollingHandlerRequests(t *testing.T) {
	env := newExecEnv(t, octavus.ExecutionsOptions{}, octavus.PollingOptions{
		Authorize: func(r *http.Request, sessionID string) error {
			if sessionID == "sess_forbidden" {
				return errors.New("not yours")
			}
			return nil
		},
	})
	for _, tc := range []struct {
		method, path, body string
		status             int
		answer             string
	}{
		{"GET", "/api/chat/poll?sessionId=" + env.session, "", 200, `{"events":[],"cursor":0,"status":"idle"}`},
		{"GET", "/api/chat/status?sessionId=" + env.session, "", 200, `{"status":"idle","cursor":0}`},
		{"POST", "/api/chat/stop?sessionId=" + env.session, "", 200, `{}`},
		{"GET", "/api/chat/poll?sessionId=" + env.session + "&cursor=-1", "", 400, `{"error":"\"cursor\" must be a non-negative integer"}`},
		{"GET", "/api/chat/poll", "", 400, `{"error":"\"sessionId\" must not be empty"}`},
		{"GET", "/api/chat/poll?sessionId=sess_forbidden", "", 403, `{"error":"Forbidden"}`},
		{"POST", "/api/chat/poll?sessionId=" + env.session, "", 405, `{"error":"method must be GET"}`},
		{"GET", "/api/chat/trigger", "", 405, `{"error":"method must be POST"}`},
		{"GET", "/api/chat/other", "", 404, `{"error":"unknown route \"other\": want trigger, poll, stop, status or events"}`},
		{"POST", "/api/chat/trigger", `{"sessionId":"` + env.session + `","type":"continue","executionId":"e","toolResults":[]}`, 400, `{"error":"continue requests are not supported: under the polling transport every tool runs on the server"}`},
		{"POST", "/api/chat/trigger", `{"sessionId":"sess_forbidden","triggerName":"user-message"}`, 403, `{"error":"Forbidden"}`},
		{"POST", "/api/chat/trigger", `{"triggerName":"user-message"}`, 400, `{"error":"\"sessionId\" is required and must be a string"}`},
	} {
		req, _ := http.NewRequest(tc.method, env.srv.URL+tc.path, strings.NewReader(tc.body))
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.status || string(body) != tc.answer {
			t.Errorf("%s %s: %d %s, want %d %s", tc.method, tc.path, resp.StatusCode, body, tc.status, tc.answer)
		}
	}
	if n := len(env.platform.Requests()); n != 0 {
		t.Fatalf("%d platform requests", n)
	}
}

func TestPollingTriggerRuns(t *testing.T) {
	env := newExecEnv(t, octavus.ExecutionsOptions{}, octavus.PollingOptions{
		PollWait: time.Minute,
		Sender: func(r *http.Request, sessionID string) (*octavus.MessageSender, error) {
			return &octavus.MessageSender{ID: "u1", Name: "Ada"}, nil
		},
	}, octavustest.Stream(octavustest.Text("ok")))
	resp, err := http.Post(env.srv.URL+"/api/chat/trigger", "application/json", strings.NewReader(`{"sessionId":"`+env.session+`","triggerName":"user-message","input":{"USER_MESSAGE":"Hi"}}`))
	if err != nil {
		t.Fatal(err)
	}
	var answer map[string]any
	err = json.NewDecoder(resp.Body).Decode(&answer)
	resp.Body.Close()
	if err != nil || resp.StatusCode != 200 || len(answer) != 1 || answer["executionId"] != env.status().ID {
		t.Fatalf("trigger: %d %v %v", resp.StatusCode, answer, err)
	}
	events, last := env.pollAll(0)
	if last.ExecutionID != answer["executionId"] {
		t.Fatalf("poll of execution %q, triggered %q", last.ExecutionID, answer["executionId"])
	}
	if last.Status != octavus.PollIdle || text(events) != "ok" {
		t.Fatalf("%s %v", last.Status, events)
	}
	var sent struct {
		Input  map[string]any `json:"input"`
		Sender map[string]any `json:"sender"`
	}
	if err := json.Unmarshal(env.platform.Requests()[0].Body, &sent); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(sent.Sender) != "map[id:u1 name:Ada]" || sent.Input["USER_MESSAGE"] != "Hi" {
		t.Fatalf("platform request %+v", sent)
	}
}

// OctavusChat.send calls onStop before each trigger: a stop that names the
// previous execution, arriving after the next trigger, stops nothing.
func TestStopNamesItsExecution(t *testing.T) {
	env := newExecEnv(t, octavus.ExecutionsOptions{}, longPoll,
		octavustest.Stream(octavustest.Text("first")),
		octavustest.Stream(octavustest.Text("second"), octavustest.Stall(nil)))
	first := env.start()
	if _, last := env.pollAll(0); last.Status != octavus.PollIdle {
		t.Fatalf("first execution: %s", last.Status)
	}
	second := env.start()
	stop := func(id string) {
		t.Helper()
		resp, err := http.Post(env.url("stop", "executionId="+id), "application/json", nil)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("stop: %d", resp.StatusCode)
		}
	}
	stop(first.ID)
	if rec := env.status(); rec.ID != second.ID || rec.Status != octavus.StatusRunning || rec.StopRequested {
		t.Fatalf("a stop of the previous execution reached the next: %+v", rec)
	}
	stop(second.ID)
	events, last := env.pollAll(0)
	if last.Status != octavus.PollIdle || events[len(events)-1]["finishReason"] != "stop" || env.status().Status != octavus.StatusStopped {
		t.Fatalf("after the stop: %s %v", last.Status, events)
	}
}

func TestLeaseOptionsNeverPanic(t *testing.T) {
	for _, opts := range []octavus.ExecutionsOptions{
		{Lease: -1},
		{Lease: 5 * time.Nanosecond},
		{Lease: time.Minute, RenewInterval: 2 * time.Minute},
		{RenewInterval: -1},
	} {
		opts.Logger = slog.New(slog.DiscardHandler)
		env := newExecEnv(t, opts, octavus.PollingOptions{}, octavustest.Stream(octavustest.Text("whole")))
		env.start()
		if _, err := env.platform.WaitDone(waitCtx(t), 1); err != nil {
			t.Fatal(err)
		}
		if err := env.execs.Shutdown(waitCtx(t)); err != nil {
			t.Fatalf("%+v: %v", opts, err)
		}
		if opts.Lease == -1 {
			if rec := env.status(); rec.Status != octavus.StatusDone {
				t.Fatalf("Lease -1 (the default): %+v", rec)
			}
		}
	}
}

func TestNegativeMaxPollEventsMeansTheDefault(t *testing.T) {
	env := newExecEnv(t, octavus.ExecutionsOptions{}, octavus.PollingOptions{PollWait: time.Minute, MaxPollEvents: -1, Heartbeat: -1},
		octavustest.Stream(octavustest.Text("one ", "two")))
	env.start()
	events, last := env.pollAll(0)
	if last.Status != octavus.PollIdle || text(events) != "one two" {
		t.Fatalf("status %s, events %v", last.Status, events)
	}
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	all := env.openSSE(ctx, "").rest(t)
	if len(all) != len(events)+1 || all[len(all)-1].data != "[DONE]" {
		t.Fatalf("SSE with MaxPollEvents -1: %v", all)
	}
}

// ignoringStore is a store whose Append blocks, ignoring its ctx, until
// release is closed.
type ignoringStore struct {
	octavus.ExecutionStore
	called, release chan struct{}
	once            sync.Once
}

func (s *ignoringStore) Append(ctx context.Context, sessionID, id, owner string, entries []octavus.LoggedEvent) (int, error) {
	s.once.Do(func() { close(s.called) })
	<-s.release
	return s.ExecutionStore.Append(ctx, sessionID, id, owner, entries)
}

func TestShutdownLeavesAnExecutionThatIgnoresItsCtx(t *testing.T) {
	store := &ignoringStore{ExecutionStore: octavus.NewMemoryStore(octavus.MemoryStoreOptions{}), called: make(chan struct{}), release: make(chan struct{})}
	env := newExecEnv(t, octavus.ExecutionsOptions{Store: store, Lease: 50 * time.Millisecond, Logger: slog.New(slog.DiscardHandler)}, longPoll,
		octavustest.Stream(octavustest.Text("blocked")))
	env.start()
	<-store.called
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := env.execs.Shutdown(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Shutdown: %v", err)
	}
	// The straggler ends once the store answers: a Shutdown with time
	// waits for it.
	close(store.release)
	if err := env.execs.Shutdown(waitCtx(t)); err != nil {
		t.Fatal(err)
	}
}

// failingStore is a store whose Append fails with an error other than
// ErrNotOwner.
type failingStore struct{ octavus.ExecutionStore }

func (failingStore) Append(context.Context, string, string, string, []octavus.LoggedEvent) (int, error) {
	return 0, errors.New("the disk is full")
}

func TestStoreErrorStillClosesTheLog(t *testing.T) {
	store := failingStore{octavus.NewMemoryStore(octavus.MemoryStoreOptions{})}
	env := newExecEnv(t, octavus.ExecutionsOptions{Store: store, Lease: time.Hour, Logger: slog.New(slog.DiscardHandler)}, octavus.PollingOptions{},
		octavustest.Stream(octavustest.Text("lost"), octavustest.Stall(nil)))
	env.start()
	if _, err := env.platform.WaitDone(waitCtx(t), 1); err != nil {
		t.Fatal(err)
	}
	// The execution was cancelled; a Shutdown with time waits for its end.
	if err := env.execs.Shutdown(waitCtx(t)); err != nil {
		t.Fatal(err)
	}
	events, last := env.pollAll(0)
	if last.Status != octavus.PollError || len(events) != 1 || !strings.Contains(fmt.Sprint(events[0]["message"]), "could not be written") {
		t.Fatalf("status %s, events %v", last.Status, events)
	}
}

// noStopStore is a store that has nothing running to stop.
type noStopStore struct{ octavus.ExecutionStore }

func (noStopStore) RequestStop(context.Context, string, string) (bool, error) { return false, nil }

func TestStopCancelsLocallyOnlyWhatTheStoreRuns(t *testing.T) {
	store := noStopStore{octavus.NewMemoryStore(octavus.MemoryStoreOptions{})}
	env := newExecEnv(t, octavus.ExecutionsOptions{Store: store}, longPoll,
		octavustest.Stream(octavustest.Text("partial"), octavustest.Stall(nil)))
	rec := env.start()
	for _, id := range []string{"", rec.ID} {
		if ok, err := env.execs.StopExecution(context.Background(), env.session, id); ok || err != nil {
			t.Fatalf("StopExecution(%q) = %v, %v", id, ok, err)
		}
	}
	// Not cancelled by the stops: Close's cancellation ends it.
	if err := env.execs.Close(); err != nil {
		t.Fatal(err)
	}
	if got := env.status(); got.Status != octavus.StatusFailed {
		t.Fatalf("after stops the store did not take, then Close: %+v", got)
	}
}

// slowAppendStore is a store whose first Append blocks, ignoring its ctx,
// until release is closed; passed is closed by a renewal made after the
// claimed lease ran out while that Append was blocked.
type slowAppendStore struct {
	octavus.ExecutionStore
	blocked, passed, release chan struct{}
	once, passedOnce         sync.Once
	mu                       sync.Mutex
	claimLease               time.Time
	appending                bool
}

func (s *slowAppendStore) Claim(ctx context.Context, c octavus.Claim) (octavus.ExecutionRecord, error) {
	s.mu.Lock()
	s.claimLease = c.LeaseUntil
	s.mu.Unlock()
	return s.ExecutionStore.Claim(ctx, c)
}

func (s *slowAppendStore) Append(ctx context.Context, sessionID, id, owner string, entries []octavus.LoggedEvent) (int, error) {
	first := false
	s.once.Do(func() { first = true })
	if first {
		s.mu.Lock()
		s.appending = true
		s.mu.Unlock()
		close(s.blocked)
		<-s.release
		s.mu.Lock()
		s.appending = false
		s.mu.Unlock()
		ctx = context.WithoutCancel(ctx) // it ignores its ctx, then succeeds
	}
	return s.ExecutionStore.Append(ctx, sessionID, id, owner, entries)
}

func (s *slowAppendStore) Renew(ctx context.Context, sessionID, id, owner string, leaseUntil time.Time) (bool, error) {
	stop, err := s.ExecutionStore.Renew(ctx, sessionID, id, owner, leaseUntil)
	s.mu.Lock()
	if err == nil && s.appending && time.Now().After(s.claimLease) {
		s.passedOnce.Do(func() { close(s.passed) })
	}
	s.mu.Unlock()
	return stop, err
}

func TestSlowAppendKeepsTheLease(t *testing.T) {
	shared := octavus.NewMemoryStore(octavus.MemoryStoreOptions{})
	slow := &slowAppendStore{ExecutionStore: shared, blocked: make(chan struct{}), passed: make(chan struct{}), release: make(chan struct{})}
	env := newExecEnv(t, octavus.ExecutionsOptions{Store: slow, Lease: 500 * time.Millisecond, RenewInterval: 10 * time.Millisecond}, longPoll,
		octavustest.Stream(octavustest.Text("one ", "two")))
	reader := octavus.NewExecutions(env.client, octavus.ExecutionsOptions{Store: shared, Lease: 500 * time.Millisecond})
	defer reader.Close()
	env.start()
	<-slow.blocked
	select {
	case <-slow.passed: // renewed past the first lease while Append was blocked
	case <-waitCtx(t).Done():
		t.Fatal("no renewal while Append was blocked")
	}
	// A reader on another replica does not take the execution for dead.
	p, err := reader.Read(context.Background(), octavus.LogRead{SessionID: env.session, Cursor: 1 << 30})
	if err != nil || p.Execution.Status != octavus.StatusRunning {
		t.Fatalf("while Append is slow: %+v, %v", p.Execution, err)
	}
	close(slow.release)
	events, last := env.pollAll(0)
	if last.Status != octavus.PollIdle || text(events) != "one two" {
		t.Fatalf("status %s, events %v", last.Status, events)
	}
}

// A browser's cross-site POST (a form on another site posting with the
// user's cookies) is refused before it can stop or trigger anything; a
// same-origin one, a non-browser client and a trusted origin pass.
func TestPollingHandlerRefusesCrossSitePosts(t *testing.T) {
	trusted := http.NewCrossOriginProtection()
	if err := trusted.AddTrustedOrigin("https://app.example"); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		opts    octavus.PollingOptions
		headers map[string]string
		status  int
	}{
		{"cross-site", octavus.PollingOptions{}, map[string]string{"Sec-Fetch-Site": "cross-site"}, http.StatusForbidden},
		{"cross-origin Origin header", octavus.PollingOptions{}, map[string]string{"Origin": "https://evil.example"}, http.StatusForbidden},
		{"same-origin", octavus.PollingOptions{}, map[string]string{"Sec-Fetch-Site": "same-origin"}, http.StatusOK},
		{"not a browser", octavus.PollingOptions{}, nil, http.StatusOK},
		{"trusted origin", octavus.PollingOptions{CrossOrigin: trusted}, map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": "https://app.example"}, http.StatusOK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := newExecEnv(t, octavus.ExecutionsOptions{}, tc.opts)
			req, _ := http.NewRequest("POST", env.srv.URL+"/api/chat/stop?sessionId="+env.session, nil)
			for k, v := range tc.headers {
				req.Header.Set(k, v)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.status {
				t.Fatalf("POST stop with %v: %d, want %d", tc.headers, resp.StatusCode, tc.status)
			}
		})
	}
}
