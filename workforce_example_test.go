package octavus_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"

	"github.com/octavus-go/octavus"
)

// newWorkforcePlatform is a fake platform with one Workforce agent,
// "agt_sales": a thread's status moves on each time it is read
// (queued, running, then completed), and its last message is the agent's
// answer.
func newWorkforcePlatform() *httptest.Server {
	var mu sync.Mutex
	reads := map[string]int{}
	threads := 0
	statuses := []string{"queued", "running", "completed"}
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		const prefix = "/api/v1/workforce/agents/agt_sales/threads"
		rest, ok := strings.CutPrefix(r.URL.Path, prefix)
		switch {
		case !ok:
			w.WriteHeader(http.StatusNotFound)
			_, _ = io.WriteString(w, `{"error":"Agent not found","code":"NOT_FOUND"}`)
		case r.Method == http.MethodPost && rest == "":
			threads++
			w.WriteHeader(http.StatusCreated)
			_, _ = fmt.Fprintf(w, `{"threadId":"th_%d","status":"queued"}`, threads)
		case r.Method == http.MethodPost && strings.HasSuffix(rest, "/messages"):
			id := strings.TrimSuffix(strings.TrimPrefix(rest, "/"), "/messages")
			reads[id] = 0
			w.WriteHeader(http.StatusAccepted)
			_, _ = fmt.Fprintf(w, `{"threadId":%q,"status":"queued"}`, id)
		case r.Method == http.MethodGet:
			id := strings.TrimPrefix(rest, "/")
			status := statuses[min(reads[id], len(statuses)-1)]
			reads[id]++
			msgs := `[]`
			if status == "completed" {
				msgs = `[{"id":"m1","role":"user","parts":[{"type":"text","text":"Summarize today's sales","status":"done"}],"status":"done","createdAt":"2026-01-01T09:00:00.000Z"},` +
					`{"id":"m2","role":"assistant","parts":[{"type":"text","text":"Sales were up 12% today.","status":"done"}],"status":"done","createdAt":"2026-01-01T09:00:05.000Z"}]`
			}
			_, _ = fmt.Fprintf(w, `{"threadId":%q,"status":%q,"failureReason":null,"messages":%s}`, id, status, msgs)
		}
	}))
}

func workforceClient(srv *httptest.Server) *octavus.Client {
	c, err := octavus.NewClient(octavus.ClientOptions{BaseURL: srv.URL, APIKey: "oct_agt_example"})
	if err != nil {
		panic(err)
	}
	return c
}

// lastText is the text of a thread's last message.
func lastText(th *octavus.WorkforceThread) string {
	m := th.Messages[len(th.Messages)-1]
	return m.Parts[len(m.Parts)-1].Text
}

// Run sends a message to a Workforce agent and waits for its answer: the
// all-in-one call for automating an agent.
func ExampleWorkforceAPI_Run() {
	srv := newWorkforcePlatform()
	defer srv.Close()
	client := workforceClient(srv)

	thread, err := client.Workforce.Run(context.Background(), "agt_sales", "Summarize today's sales",
		octavus.WorkforceRunOptions{PollInterval: time.Millisecond})
	if err != nil {
		fmt.Println("error:", err)
		return
	}
	fmt.Println(thread.Status, lastText(thread))
	// Output: completed Sales were up 12% today.
}

// Dispatch starts a thread and returns at once; read it later.
func ExampleWorkforceAPI_Dispatch() {
	srv := newWorkforcePlatform()
	defer srv.Close()
	client := workforceClient(srv)

	res, err := client.Workforce.Dispatch(context.Background(), "agt_sales", "Summarize today's sales", octavus.WorkforceDispatchOptions{})
	if err != nil {
		fmt.Println("error:", err)
		return
	}
	fmt.Println(res.ThreadID, res.Status)
	// Output: th_1 queued
}

// GetThread reads a thread's status and messages, e.g. from a job that
// checks on runs it dispatched earlier.
func ExampleWorkforceAPI_GetThread() {
	srv := newWorkforcePlatform()
	defer srv.Close()
	client := workforceClient(srv)
	ctx := context.Background()

	res, _ := client.Workforce.Dispatch(ctx, "agt_sales", "Summarize today's sales", octavus.WorkforceDispatchOptions{})
	for {
		th, err := client.Workforce.GetThread(ctx, "agt_sales", res.ThreadID)
		if err != nil {
			fmt.Println("error:", err)
			return
		}
		fmt.Println(th.Status, len(th.Messages))
		if octavus.IsTerminalThreadStatus(th.Status) {
			break
		}
	}
	// Output:
	// queued 0
	// running 0
	// completed 2
}

// FollowUp continues a thread; WaitForCompletion waits for that run.
func ExampleWorkforceAPI_FollowUp() {
	srv := newWorkforcePlatform()
	defer srv.Close()
	client := workforceClient(srv)
	ctx := context.Background()
	fast := octavus.WorkforceWaitOptions{PollInterval: time.Millisecond}

	first, _ := client.Workforce.Run(ctx, "agt_sales", "Summarize today's sales", octavus.WorkforceRunOptions{PollInterval: time.Millisecond})
	res, err := client.Workforce.FollowUp(ctx, "agt_sales", first.ThreadID, "And yesterday?", octavus.WorkforceDispatchOptions{})
	if err != nil {
		fmt.Println("error:", err)
		return
	}
	fmt.Println(res.ThreadID, res.Status)
	th, _ := client.Workforce.WaitForCompletion(ctx, "agt_sales", res.ThreadID, fast)
	fmt.Println(th.Status)
	// Output:
	// th_1 queued
	// completed
}

// WaitForCompletion gives up after its Timeout with a
// *WorkforceTimeoutError; the run goes on and can be read later.
func ExampleWorkforceAPI_WaitForCompletion() {
	srv := newWorkforcePlatform()
	defer srv.Close()
	client := workforceClient(srv)
	ctx := context.Background()

	res, _ := client.Workforce.Dispatch(ctx, "agt_sales", "Summarize today's sales", octavus.WorkforceDispatchOptions{})
	// A negative Timeout reads once.
	_, err := client.Workforce.WaitForCompletion(ctx, "agt_sales", res.ThreadID, octavus.WorkforceWaitOptions{Timeout: -1})
	var timeout *octavus.WorkforceTimeoutError
	if errors.As(err, &timeout) {
		fmt.Println(err)
		fmt.Println("last status:", timeout.Thread.Status)
	}
	th, _ := client.Workforce.WaitForCompletion(ctx, "agt_sales", res.ThreadID, octavus.WorkforceWaitOptions{PollInterval: time.Millisecond})
	b, _ := json.Marshal(th.Messages[1].Parts[0].Text)
	fmt.Println(th.Status, string(b))
	// Output:
	// Workforce thread th_1 did not finish within 0ms (last status: queued)
	// last status: queued
	// completed "Sales were up 12% today."
}

func ExampleIsTerminalThreadStatus() {
	for _, s := range []octavus.ThreadStatus{octavus.ThreadRunning, octavus.ThreadFailed, "paused"} {
		fmt.Println(s, octavus.IsTerminalThreadStatus(s))
	}
	// Output:
	// running false
	// failed true
	// paused false
}
