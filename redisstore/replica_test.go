package redisstore_test

// The multi-replica tests: two app-server processes (internal/replica) on
// one redis-server, and the test as the browser, triggering on one and
// polling, resuming or stopping on the other.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/octavus-go/octavus/octavustest"
	"github.com/octavus-go/octavus/redisstore/internal/redisserver"
)

// caseTimeout bounds one multi-replica test, past the replicas' build.
const caseTimeout = 90 * time.Second

func TestMain(m *testing.M) {
	code := m.Run()
	if buildDir != "" {
		_ = os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

// record is what the replicas' record tool reports (internal/replica's
// Record).
type record struct {
	Owner string         `json:"owner"`
	Args  map[string]any `json:"args"`
}

// cluster is one redis-server, one fake platform, a recorder of the
// record tool's runs, and the replicas on them.
type cluster struct {
	t        *testing.T
	ctx      context.Context
	redis    *redisserver.Server
	platform *octavustest.Server
	agentID  string
	recorder *httptest.Server
	http     *http.Client
	lease    time.Duration

	mu      sync.Mutex
	records []record
}

func newCluster(t *testing.T, lease time.Duration) *cluster {
	t.Helper()
	checkLeaks(t)
	replicaBinary(t) // before the deadline starts
	ctx, cancel := context.WithTimeout(context.Background(), caseTimeout)
	t.Cleanup(cancel)
	c := &cluster{t: t, ctx: ctx, redis: redisserver.Start(t), lease: lease}
	c.platform = octavustest.NewServer()
	t.Cleanup(c.platform.Close)
	c.agentID = c.platform.AddAgent(octavustest.Agent{Name: "Support"})
	c.recorder = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var rec record
		if err := json.NewDecoder(r.Body).Decode(&rec); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		c.mu.Lock()
		c.records = append(c.records, rec)
		c.mu.Unlock()
	}))
	t.Cleanup(c.recorder.Close)
	tr := &http.Transport{}
	c.http = &http.Client{Transport: tr}
	t.Cleanup(tr.CloseIdleConnections)
	return c
}

// start starts a replica named name, with env added to its environment.
func (c *cluster) start(name string, env ...string) *replica {
	c.t.Helper()
	return startReplica(c.t, name, append(env,
		"OCTAVUS_API_URL="+c.platform.URL,
		"OCTAVUS_API_KEY="+c.platform.APIKey,
		"REDIS_SOCKET="+c.redis.Socket,
		"REDIS_PREFIX=test:",
		"REPLICA_LEASE="+c.lease.String(),
		"RECORD_URL="+c.recorder.URL,
	)...)
}

// session adds a session whose triggers answer turns.
func (c *cluster) session(turns ...octavustest.Turn) string {
	c.t.Helper()
	id := c.platform.AddSession(octavustest.Session{AgentID: c.agentID})
	if !c.platform.SetScript(id, turns...) {
		c.t.Fatalf("SetScript(%s) failed", id)
	}
	return id
}

func (c *cluster) recorded() []record {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]record(nil), c.records...)
}

func (c *cluster) do(r *replica, method, route string, query url.Values, body any) (int, []byte) {
	c.t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			c.t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(c.ctx, method, r.URL+"/api/chat/"+route+"?"+query.Encode(), rd)
	if err != nil {
		c.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s on %s: %v\n%s", method, route, r.Name, err, r.Logs())
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatalf("%s %s on %s: reading the answer: %v", method, route, r.Name, err)
	}
	return resp.StatusCode, b
}

// trigger sends the polling transport's onTrigger to r, checks that it
// answered {"executionId"} with no error, and returns the id.
func (c *cluster) trigger(r *replica, sessionID string) string {
	c.t.Helper()
	status, body := c.do(r, http.MethodPost, "trigger", nil, map[string]any{
		"sessionId": sessionID, "triggerName": "user-message", "input": map[string]any{"USER_MESSAGE": "hello"},
	})
	var res struct {
		ExecutionID string  `json:"executionId"`
		Error       *string `json:"error"`
	}
	if status != http.StatusOK || json.Unmarshal(body, &res) != nil || res.Error != nil || res.ExecutionID == "" {
		c.t.Fatalf("trigger on %s: %d %s\n%s", r.Name, status, body, r.Logs())
	}
	return res.ExecutionID
}

// stop sends the polling transport's onStop to r, naming the execution
// the page watches.
func (c *cluster) stop(r *replica, sessionID, executionID string) {
	c.t.Helper()
	q := url.Values{"sessionId": {sessionID}, "executionId": {executionID}}
	if status, body := c.do(r, http.MethodPost, "stop", q, nil); status != http.StatusOK {
		c.t.Fatalf("stop on %s: %d %s", r.Name, status, body)
	}
}

// pollResult is the polling transport's PollResult.
type pollResult struct {
	Events      []json.RawMessage `json:"events"`
	Cursor      int               `json:"cursor"`
	Status      string            `json:"status"`
	ExecutionID string            `json:"executionId"`
}

func (c *cluster) poll(r *replica, sessionID string, cursor int) pollResult {
	c.t.Helper()
	status, body := c.do(r, http.MethodGet, "poll", url.Values{"sessionId": {sessionID}, "cursor": {strconv.Itoa(cursor)}}, nil)
	if status != http.StatusOK {
		c.t.Fatalf("poll on %s: %d %s\n%s", r.Name, status, body, r.Logs())
	}
	var res pollResult
	if err := json.Unmarshal(body, &res); err != nil {
		c.t.Fatalf("poll on %s: %v in %s", r.Name, err, body)
	}
	return res
}

// pollUntil polls r from cursor (the handler long-polls, so this loop does
// not spin) as the polling transport does, until done says so or the
// execution is not streaming any more. It returns the events and the last
// answer.
func (c *cluster) pollUntil(r *replica, sessionID string, cursor int, done func([]json.RawMessage) bool) ([]json.RawMessage, pollResult) {
	c.t.Helper()
	var events []json.RawMessage
	for {
		res := c.poll(r, sessionID, cursor)
		events = append(events, res.Events...)
		cursor = res.Cursor
		if res.Status != "streaming" || (done != nil && done(events)) {
			return events, res
		}
		if c.ctx.Err() != nil {
			c.t.Fatalf("polling %s did not end in time: %d events so far", r.Name, len(events))
		}
	}
}

// sseEvent is one event of the SSE route.
type sseEvent struct {
	id   string
	data string
}

// resume reads the SSE route of r with Last-Event-ID: lastEventID, as a
// reconnecting EventSource does, to its end.
func (c *cluster) resume(r *replica, sessionID string, lastEventID int) ([]sseEvent, error) {
	req, err := http.NewRequestWithContext(c.ctx, http.MethodGet, r.URL+"/api/chat/events?"+url.Values{"sessionId": {sessionID}}.Encode(), nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Last-Event-ID", strconv.Itoa(lastEventID))
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("events on %s: status %d", r.Name, resp.StatusCode)
	}
	var out []sseEvent
	var cur sseEvent
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			if cur.data != "" {
				out = append(out, cur)
			}
			cur = sseEvent{}
		case strings.HasPrefix(line, "id: "):
			cur.id = strings.TrimPrefix(line, "id: ")
		case strings.HasPrefix(line, "data: "):
			cur.data = strings.TrimPrefix(line, "data: ")
		}
	}
	return out, sc.Err()
}

// eventType is the "type" of an event's JSON.
func eventType(t *testing.T, ev json.RawMessage) string {
	t.Helper()
	var v struct {
		Type string `json:"type"`
	}
	if err := json.Unmarshal(ev, &v); err != nil {
		t.Fatalf("event %s: %v", ev, err)
	}
	return v.Type
}

// text joins the deltas of the text-delta events.
func text(t *testing.T, events []json.RawMessage) string {
	t.Helper()
	var b strings.Builder
	for _, ev := range events {
		var v struct {
			Type  string `json:"type"`
			Delta string `json:"delta"`
		}
		if err := json.Unmarshal(ev, &v); err != nil {
			t.Fatalf("event %s: %v", ev, err)
		}
		if v.Type == "text-delta" {
			b.WriteString(v.Delta)
		}
	}
	return b.String()
}

func hasText(sub string) func([]json.RawMessage) bool {
	return func(events []json.RawMessage) bool {
		for _, ev := range events {
			if bytes.Contains(ev, []byte(`"delta":"`+sub+`"`)) {
				return true
			}
		}
		return false
	}
}

func sameEvents(t *testing.T, what string, got, want []json.RawMessage) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d events, want %d", what, len(got), len(want))
	}
	for i := range want {
		if !bytes.Equal(got[i], want[i]) {
			t.Fatalf("%s: event %d is %s, want %s", what, i, got[i], want[i])
		}
	}
}

func deltas(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s%d ", prefix, i+1)
	}
	return out
}

// TestTriggerOnAPollOnB: a browser triggers on replica A, then polls (and
// resumes the SSE stream with Last-Event-ID) on replica B while A runs the
// execution, its server tool round included, to the end. B serves the same
// events in the same order as A, and the tool ran once, on A.
func TestTriggerOnAPollOnB(t *testing.T) {
	c := newCluster(t, 5*time.Second)
	a, b := c.start("replica-a"), c.start("replica-b")
	gate := make(chan struct{})
	session := c.session(
		octavustest.Stream(octavustest.Text("Checking. "), octavustest.ToolCall{ID: "call_rec", Name: "record", Args: map[string]any{"n": 1}}),
		octavustest.Stream(octavustest.Text(deltas("d", 20)...), octavustest.Stall(gate), octavustest.Text(deltas("e", 20)...)),
	)
	c.trigger(a, session)

	// B sees the execution while it runs: up to the stall.
	early, res := c.pollUntil(b, session, 0, hasText("d20 "))
	if res.Status != "streaming" {
		t.Fatalf("B's poll before the stall ended: status %q, events %s", res.Status, early)
	}
	// An EventSource that had seen 3 events reconnects to B.
	type resumed struct {
		events []sseEvent
		err    error
	}
	sse := make(chan resumed, 1)
	go func() {
		evs, err := c.resume(b, session, 3)
		sse <- resumed{evs, err}
	}()
	close(gate)

	rest, res := c.pollUntil(b, session, res.Cursor, nil)
	fromB := append(early, rest...)
	if res.Status != "idle" {
		t.Fatalf("B's poll ended with status %q", res.Status)
	}
	fromA, resA := c.pollUntil(a, session, 0, nil)
	if resA.Status != "idle" || resA.Cursor != res.Cursor {
		t.Fatalf("A's poll ended with %q at %d; B's at %d", resA.Status, resA.Cursor, res.Cursor)
	}
	sameEvents(t, "B against A", fromB, fromA)
	if want := "Checking. " + strings.Join(deltas("d", 20), "") + strings.Join(deltas("e", 20), ""); text(t, fromB) != want {
		t.Fatalf("B's text %q, want %q", text(t, fromB), want)
	}
	if typ := eventType(t, fromB[len(fromB)-1]); typ != "finish" {
		t.Fatalf("B's last event is %s, want finish", typ)
	}

	r := <-sse
	if r.err != nil {
		t.Fatalf("SSE resume on B: %v", r.err)
	}
	if n := len(r.events); n == 0 || r.events[n-1].data != "[DONE]" {
		t.Fatalf("SSE resume on B did not end with [DONE]: %v", r.events)
	}
	got := r.events[:len(r.events)-1]
	if len(got) != len(fromB)-3 {
		t.Fatalf("SSE resume from 3: %d events, want %d", len(got), len(fromB)-3)
	}
	for i, ev := range got {
		if want := res.ExecutionID + ":" + strconv.Itoa(3+i+1); ev.id != want || ev.data != string(fromB[3+i]) {
			t.Fatalf("SSE resume event %d: id %s data %s, want id %s data %s", i, ev.id, ev.data, want, fromB[3+i])
		}
	}

	recs := c.recorded()
	if len(recs) != 1 || recs[0].Owner != "replica-a" {
		t.Fatalf("record ran %d times (%+v), want once, on replica-a", len(recs), recs)
	}
	triggers := 0
	for _, req := range c.platform.Requests() {
		if strings.HasSuffix(req.Path, "/trigger") {
			triggers++
		}
	}
	if triggers != 2 {
		t.Fatalf("the platform got %d trigger POSTs, want 2 (the trigger and one continuation)", triggers)
	}
}

// triggerPOSTs returns the platform's trigger requests of sessionID, in
// arrival order, with their sequence numbers.
func (c *cluster) triggerPOSTs(sessionID string) []octavustest.Request {
	var out []octavustest.Request
	for _, req := range c.platform.Requests() {
		if req.Method == http.MethodPost && strings.Contains(req.Path, sessionID) && strings.HasSuffix(req.Path, "/trigger") {
			out = append(out, req)
		}
	}
	return out
}

// waitServed waits until the platform has answered the trigger POST req
// (its stream's handler returned) and reports whether the client went away
// first.
func (c *cluster) waitServed(req octavustest.Request) bool {
	c.t.Helper()
	done, err := c.platform.WaitDone(c.ctx, req.Seq)
	if err != nil {
		c.t.Fatalf("the platform's trigger %d was not served in time: %v", req.Seq, err)
	}
	return done.Aborted
}

// TestStopThroughB: a stop sent to replica B ends the execution replica A
// runs: A cancels its platform stream, and both replicas' polls end with
// the log's finish.
func TestStopThroughB(t *testing.T) {
	c := newCluster(t, 2*time.Second)
	a, b := c.start("replica-a"), c.start("replica-b")
	session := c.session(octavustest.Stream(octavustest.Text("a ", "b "), octavustest.Stall(nil), octavustest.Text("never")))
	execID := c.trigger(a, session)
	early, res := c.pollUntil(b, session, 0, hasText("b "))
	if res.Status != "streaming" || res.ExecutionID != execID {
		t.Fatalf("B's poll before the stop: status %q, execution %q (A's trigger: %q)", res.Status, res.ExecutionID, execID)
	}
	// A stop naming another execution stops nothing.
	c.stop(b, session, "run_other")
	if again := c.poll(b, session, res.Cursor); again.Status != "streaming" {
		t.Fatalf("a stop of another execution ended this one: status %q", again.Status)
	}
	c.stop(b, session, execID)
	rest, res := c.pollUntil(b, session, res.Cursor, nil)
	events := append(early, rest...)
	if res.Status != "idle" {
		t.Fatalf("B's poll after the stop ended with status %q", res.Status)
	}
	if got := text(t, events); got != "a b " {
		t.Fatalf("text after the stop %q, want %q", got, "a b ")
	}
	if typ := eventType(t, events[len(events)-1]); typ != "finish" {
		t.Fatalf("the last event after the stop is %s, want finish", typ)
	}
	fromA, resA := c.pollUntil(a, session, 0, nil)
	sameEvents(t, "A against B", fromA, events)
	if resA.Status != "idle" {
		t.Fatalf("A's poll after the stop: status %q", resA.Status)
	}
	posts := c.triggerPOSTs(session)
	if len(posts) != 1 {
		t.Fatalf("%d trigger POSTs, want 1", len(posts))
	}
	if !c.waitServed(posts[0]) {
		t.Fatal("the platform's stream was not cancelled by the stop")
	}
}

// TestReplicaKilled: replica A is killed (SIGKILL) mid-execution. B's
// poller gets what the log held, then, once A's lease ran out, an error
// event and status error; a new trigger on B then runs.
func TestReplicaKilled(t *testing.T) {
	c := newCluster(t, 2*time.Second)
	a, b := c.start("replica-a"), c.start("replica-b")
	session := c.session(
		octavustest.Stream(octavustest.Text("a ", "b "), octavustest.Stall(nil), octavustest.Text("never")),
		octavustest.Stream(octavustest.Text("again")),
	)
	c.trigger(a, session)
	early, res := c.pollUntil(b, session, 0, hasText("b "))
	if res.Status != "streaming" {
		t.Fatalf("B's poll before the kill: status %q", res.Status)
	}
	a.Kill(t)
	// B's polls end once A's lease ran out (the case's deadline bounds
	// the wait; it is not measured).
	rest, res := c.pollUntil(b, session, res.Cursor, nil)
	if res.Status != "error" {
		t.Fatalf("B's poll after the kill ended with status %q, want error", res.Status)
	}
	events := append(early, rest...)
	if got := text(t, events); got != "a b " {
		t.Fatalf("text after the kill %q, want %q", got, "a b ")
	}
	if len(rest) == 0 || eventType(t, rest[len(rest)-1]) != "error" {
		t.Fatalf("the log after the kill does not end with an error event: %s", rest)
	}
	// The killed replica's connection is gone: the platform's run ends.
	posts := c.triggerPOSTs(session)
	if len(posts) != 1 {
		t.Fatalf("%d trigger POSTs, want 1", len(posts))
	}
	c.waitServed(posts[0])

	c.trigger(b, session)
	again, res := c.pollUntil(b, session, 0, nil)
	if res.Status != "idle" || text(t, again) != "again" {
		t.Fatalf("the execution after the kill: status %q, text %q", res.Status, text(t, again))
	}
}

// TestReplicaRestart: a replica restarted (SIGINT, a new process) serves
// all the log held, as the other replica does.
func TestReplicaRestart(t *testing.T) {
	c := newCluster(t, 5*time.Second)
	a, b := c.start("replica-a"), c.start("replica-b")
	session := c.session(
		octavustest.Stream(octavustest.Text("x "), octavustest.ToolCall{Name: "record"}),
		octavustest.Stream(octavustest.Text(deltas("r", 30)...)),
	)
	c.trigger(a, session)
	before, res := c.pollUntil(a, session, 0, nil)
	if res.Status != "idle" {
		t.Fatalf("the execution ended with status %q", res.Status)
	}
	a.Stop()
	b.Stop()
	a2 := c.start("replica-a")
	after, res2 := c.pollUntil(a2, session, 0, nil)
	sameEvents(t, "after the restart", after, before)
	if res2.Cursor != res.Cursor || res2.Status != "idle" {
		t.Fatalf("after the restart: cursor %d status %q, want %d idle", res2.Cursor, res2.Status, res.Cursor)
	}
	b2 := c.start("replica-b")
	if fromB, _ := c.pollUntil(b2, session, 0, nil); len(fromB) != len(before) {
		t.Fatalf("the other restarted replica serves %d events, want %d", len(fromB), len(before))
	}
	if recs := c.recorded(); len(recs) != 1 {
		t.Fatalf("record ran %d times, want once", len(recs))
	}
}
