package octavustest_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/octavus-go/octavus/octavustest"
)

func TestFailNext(t *testing.T) {
	srv := newServer(t, octavustest.WithScript(octavustest.Stream(octavustest.Text("one")), octavustest.Stream(octavustest.Text("two"))))
	id := srv.AddSession(octavustest.Session{})

	srv.FailNext(2, octavustest.Failure{Status: 503, RetryAfter: "1"})
	for i := 0; i < 2; i++ {
		// Injected faults come before the API key check.
		resp, err := srv.Client().Get(srv.URL + "/api/agents")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		wantError(t, resp.StatusCode, b, 503, "SERVICE_UNAVAILABLE")
		if resp.Header.Get("Retry-After") != "1" {
			t.Fatalf("Retry-After %q", resp.Header.Get("Retry-After"))
		}
	}
	callJSON(t, srv, http.MethodGet, "/api/agents", "", 200)

	srv.FailNextTriggers(1, octavustest.Failure{Status: 429, Body: `{"error":"slow down","code":"RATE_LIMITED"}`, RetryAfter: "3"})
	srv.FailNext(1, octavustest.Failure{Status: 500})
	srv.FailNext(0, octavustest.Failure{Status: 418}) // no-op
	status, _, b := call(t, srv, http.MethodGet, "/api/agents", "")
	wantError(t, status, b, 500, "INTERNAL_SERVER_ERROR")
	callJSON(t, srv, http.MethodGet, "/api/agents", "", 200)
	status, h, b := call(t, srv, http.MethodPost, triggerPath(id), userMessage)
	if status != 429 || string(b) != `{"error":"slow down","code":"RATE_LIMITED"}` || h.Get("Retry-After") != "3" {
		t.Fatalf("%d %s %v", status, b, h)
	}
	// The script did not advance and no message was stored.
	events, _ := trigger(t, srv, id, userMessage)
	if events[2]["delta"] != "one" {
		t.Fatalf("events %v", events)
	}
	ui := callJSON(t, srv, http.MethodGet, "/api/agent-sessions/"+id+"?format=ui", "", 200)
	if n := len(ui["messages"].([]any)); n != 2 {
		t.Fatalf("%d messages", n)
	}
}

func TestCut(t *testing.T) {
	srv := newServer(t, octavustest.WithScript(octavustest.Stream(octavustest.Text("a"), octavustest.Cut(), octavustest.Text("never"))))
	id := srv.AddSession(octavustest.Session{})
	req, _ := http.NewRequest(http.MethodPost, srv.URL+triggerPath(id), strings.NewReader(userMessage))
	req.Header.Set("Authorization", "Bearer "+srv.APIKey)
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("reading a cut stream: err %v, want unexpected EOF", err)
	}
	events, done := sse(t, b)
	if done || len(events) != 4 || events[3]["type"] != "text-end" {
		t.Fatalf("before the cut: %v done=%v", types(events), done)
	}
	rec, err := srv.WaitDone(testCtx(t), 1)
	if err != nil {
		t.Fatal(err)
	}
	if rec.Aborted {
		t.Fatal("a cut by the server is not a client abort")
	}
}

func TestStallRelease(t *testing.T) {
	release := make(chan struct{})
	srv := newServer(t, octavustest.WithScript(octavustest.Stream(octavustest.Text("a"), octavustest.Stall(release), octavustest.Text("b"))))
	id := srv.AddSession(octavustest.Session{})
	resp, r := openStream(t, testCtx(t), srv, id, userMessage)
	defer resp.Body.Close()
	for _, want := range []string{"start", "text-start", "text-delta", "text-end"} {
		if f := readFrame(t, r); !strings.Contains(f, `"type":"`+want+`"`) {
			t.Fatalf("frame %q, want %s", f, want)
		}
	}
	if reqs := srv.Requests(); reqs[0].Served {
		t.Fatal("served while stalled")
	}
	close(release)
	rest, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	events, done := sse(t, rest)
	if !done || events[1]["delta"] != "b" || events[len(events)-1]["type"] != "finish" {
		t.Fatalf("after release: %v", events)
	}
	rec, err := srv.WaitDone(testCtx(t), 1)
	if err != nil || rec.Aborted {
		t.Fatalf("%+v %v", rec, err)
	}
}

// The client giving up on a stalled stream is seen as an aborted request.
func TestStallAbort(t *testing.T) {
	srv := newServer(t, octavustest.WithScript(octavustest.Stream(octavustest.Stall(nil), octavustest.Text("never"))))
	id := srv.AddSession(octavustest.Session{})
	ctx, cancel := context.WithCancel(testCtx(t))
	resp, r := openStream(t, ctx, srv, id, userMessage)
	if f := readFrame(t, r); !strings.Contains(f, `"type":"start"`) {
		t.Fatalf("frame %q", f)
	}
	cancel()
	resp.Body.Close()
	rec, err := srv.WaitDone(testCtx(t), 1)
	if err != nil {
		t.Fatal(err)
	}
	if !rec.Aborted || !rec.Served {
		t.Fatalf("request %+v: want served and aborted", rec)
	}
	// The history keeps what was streamed before the abort: nothing visible.
	ui := callJSON(t, srv, http.MethodGet, "/api/agent-sessions/"+id+"?format=ui", "", 200)
	if n := len(ui["messages"].([]any)); n != 1 {
		t.Fatalf("%d messages, want only the user's", n)
	}
}

// Close releases a stall that waits for the client, and returns.
func TestCloseReleasesStall(t *testing.T) {
	srv := octavustest.NewServer(octavustest.WithScript(octavustest.Stream(octavustest.Text("a"), octavustest.Stall(nil), octavustest.Text("never"))))
	id := srv.AddSession(octavustest.Session{})
	resp, r := openStream(t, testCtx(t), srv, id, userMessage)
	defer resp.Body.Close()
	readFrame(t, r)
	srv.Close()
	rest, _ := io.ReadAll(r)
	if strings.Contains(string(rest), "never") || strings.Contains(string(rest), "[DONE]") {
		t.Fatalf("written after Close: %q", rest)
	}
	srv.Close() // a second Close is harmless
}

func TestRawHeartbeatOmitDone(t *testing.T) {
	srv := newServer(t, octavustest.WithScript(octavustest.Events(
		octavustest.Heartbeat(),
		octavustest.Raw("data: {oops\n\n"),
		octavustest.Raw(`data: {"type":"text-st`),
		octavustest.Raw("art\",\"id\":\"x\"}\r\n\r\n"),
		octavustest.OmitDone(),
		octavustest.Finish("stop"),
	)))
	id := srv.AddSession(octavustest.Session{})
	status, _, b := call(t, srv, http.MethodPost, triggerPath(id), userMessage)
	want := ": heartbeat\n\ndata: {oops\n\ndata: {\"type\":\"text-start\",\"id\":\"x\"}\r\n\r\n" +
		"data: {\"type\":\"finish\",\"executionId\":\"exec_1\",\"finishReason\":\"stop\"}\n\n"
	if status != 200 || string(b) != want {
		t.Fatalf("%d\n%q\nwant\n%q", status, b, want)
	}
}

func TestRequestsRecorded(t *testing.T) {
	srv := newServer(t, octavustest.WithClock(fixedClock), octavustest.WithScript(octavustest.Stream()))
	id := srv.AddSession(octavustest.Session{ID: "a/b"})
	call(t, srv, http.MethodGet, "/api/agent-sessions/a%2Fb?format=ui", "")
	trigger(t, srv, "a%2Fb", userMessage)
	reqs := srv.Requests()
	if len(reqs) != 2 {
		t.Fatalf("%d requests", len(reqs))
	}
	get, post := reqs[0], reqs[1]
	if get.Seq != 1 || get.Method != "GET" || get.Path != "/api/agent-sessions/a%2Fb" || get.RawQuery != "format=ui" ||
		len(get.Body) != 0 || !get.Time.Equal(fixedClock()) || !get.Served || get.Aborted {
		t.Fatalf("GET %+v", get)
	}
	if post.Seq != 2 || post.Method != "POST" || post.Path != "/api/agent-sessions/a%2Fb/trigger" ||
		string(post.Body) != userMessage || post.Header.Get("Authorization") != "Bearer test-key" ||
		post.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("POST %+v", post)
	}
	_ = id
	// Requests returns copies.
	post.Body[0] = 'X'
	post.Header.Set("Authorization", "changed")
	again := srv.Requests()[1]
	if string(again.Body) != userMessage || again.Header.Get("Authorization") != "Bearer test-key" {
		t.Fatal("Requests shares memory with the server")
	}
}

func TestWaitRequest(t *testing.T) {
	srv := newServer(t)
	ctx := testCtx(t)
	done := make(chan struct{})
	go func() {
		defer close(done)
		resp, err := srv.Client().Get(srv.URL + "/api/agents")
		if err == nil {
			resp.Body.Close()
		}
	}()
	rec, err := srv.WaitRequest(ctx, 1)
	if err != nil || rec.Seq != 1 || rec.Path != "/api/agents" {
		t.Fatalf("%+v %v", rec, err)
	}
	rec, err = srv.WaitDone(ctx, 1)
	if err != nil || !rec.Served {
		t.Fatalf("%+v %v", rec, err)
	}
	<-done

	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := srv.WaitRequest(cancelled, 2); !errors.Is(err, context.Canceled) {
		t.Fatalf("err %v", err)
	}
	if _, err := srv.WaitDone(cancelled, 2); !errors.Is(err, context.Canceled) {
		t.Fatalf("err %v", err)
	}
	if _, err := srv.WaitRequest(ctx, 0); err == nil {
		t.Fatal("request 0 accepted")
	}
}

// Everything may be called while requests are in flight (run with -race).
func TestConcurrentUse(t *testing.T) {
	toolThenAnswer := []octavustest.Turn{
		octavustest.Stream(octavustest.Text("a"), octavustest.ToolCall{Name: "t"}),
		octavustest.Respond(func(req octavustest.TriggerRequest) octavustest.Turn {
			return octavustest.Stream(octavustest.Text(req.ToolResults[0].ToolCallID))
		}),
	}
	srv := newServer(t, octavustest.WithScript(toolThenAnswer...))
	agentID := srv.AddAgent(octavustest.Agent{})
	// post runs on other goroutines, so it reports errors instead of failing.
	post := func(path, body string) (map[string]any, []map[string]any, error) {
		req, _ := http.NewRequest(http.MethodPost, srv.URL+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+srv.APIKey)
		resp, err := srv.Client().Do(req)
		if err != nil {
			return nil, nil, err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil || resp.StatusCode/100 != 2 {
			return nil, nil, fmt.Errorf("%s: %d %s %v", path, resp.StatusCode, b, err)
		}
		if resp.Header.Get("Content-Type") != "text/event-stream" {
			var m map[string]any
			return m, nil, json.Unmarshal(b, &m)
		}
		var events []map[string]any
		for _, frame := range strings.Split(string(b), "\n\n") {
			if data, ok := strings.CutPrefix(frame, "data: "); ok && data != "[DONE]" {
				var ev map[string]any
				if err := json.Unmarshal([]byte(data), &ev); err != nil {
					return nil, nil, err
				}
				events = append(events, ev)
			}
		}
		return nil, events, nil
	}
	session := func() error {
		created, _, err := post("/api/agent-sessions", `{"agentId":"`+agentID+`"}`)
		if err != nil {
			return err
		}
		id := created["sessionId"].(string)
		_, events, err := post(triggerPath(id), userMessage)
		if err != nil {
			return err
		}
		var callID, execID string
		for _, ev := range events {
			if ev["type"] == "tool-request" {
				callID = ev["toolCalls"].([]any)[0].(map[string]any)["toolCallId"].(string)
			}
			if ev["type"] == "start" {
				execID = ev["executionId"].(string)
			}
		}
		_, events, err = post(triggerPath(id), `{"executionId":"`+execID+`","toolResults":[{"toolCallId":"`+callID+`","result":1}]}`)
		if err != nil {
			return err
		}
		if events[2]["delta"] != callID {
			return fmt.Errorf("answer %v, want %s", events[2], callID)
		}
		return nil
	}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- session()
		}()
	}
	for i := 0; i < 50; i++ {
		_ = srv.Requests()
		srv.AddAgent(octavustest.Agent{ID: "x"})
		srv.FailNextTriggers(0, octavustest.Failure{})
		srv.AddSession(octavustest.Session{})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if n := len(srv.Requests()); n != 8*3 {
		t.Fatalf("%d requests", n)
	}
}
