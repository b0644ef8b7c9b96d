package octavus_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/octavus-go/octavus"
	"github.com/octavus-go/octavus/octavustest"
)

// NewPollingHandler serves the backend half of the official client's
// createPollingTransport: the execution runs on the server, detached from
// the trigger's request, and the browser polls its events from a cursor
// (after a reload too, with observe()). Here Go plays the browser's part:
//
//	const q = `sessionId=${encodeURIComponent(sessionId)}`;
//	let executionId = null; // the execution this page watches
//	const transport = createPollingTransport({
//	  onTrigger: async (triggerName, input) => {
//	    const res = await (await fetch('/api/chat/trigger', {
//	      method: 'POST',
//	      headers: { 'Content-Type': 'application/json' },
//	      body: JSON.stringify({ sessionId, triggerName, input }),
//	    })).json();
//	    executionId = res.executionId ?? null;
//	    return res;
//	  },
//	  onPoll: async (cursor) => {
//	    const exec = executionId === null ? '' : `&executionId=${encodeURIComponent(executionId)}`;
//	    const res = await (await fetch(`/api/chat/poll?${q}&cursor=${cursor}${exec}`)).json();
//	    executionId = res.executionId ?? executionId;
//	    return res;
//	  },
//	  onStop: () => {
//	    // send() calls it before each trigger: name the execution to stop.
//	    if (executionId === null) return;
//	    void fetch(`/api/chat/stop?${q}&executionId=${encodeURIComponent(executionId)}`, { method: 'POST' });
//	  },
//	});
func ExampleNewPollingHandler() {
	platform := newDemoPlatform()
	defer platform.Close()
	client, err := octavus.NewClient(octavus.ClientOptions{BaseURL: platform.URL, APIKey: platform.APIKey})
	if err != nil {
		panic(err)
	}
	sessionID := platform.AddSession(octavustest.Session{AgentID: platform.AddAgent(octavustest.Agent{Name: "Support"})})

	// Every tool runs on the server: the browser cannot run one under polling.
	execs := octavus.NewExecutions(client, octavus.ExecutionsOptions{
		Tools: octavus.ToolHandlers{
			"get-user-account": func(ctx context.Context, args map[string]any) (any, error) {
				return map[string]any{"name": "Ada"}, nil
			},
		},
	})
	defer execs.Close()
	mux := http.NewServeMux()
	mux.Handle("/api/chat/", octavus.NewPollingHandler(execs, octavus.PollingOptions{
		// Check here that the signed-in user owns sessionID.
		Authorize: func(r *http.Request, sessionID string) error { return nil },
		// A poll with nothing new waits for the next event.
		PollWait: 10 * time.Second,
	}))
	srv := httptest.NewServer(mux)
	defer srv.Close()

	// onTrigger
	resp, err := http.Post(srv.URL+"/api/chat/trigger", "application/json",
		strings.NewReader(`{"sessionId":"`+sessionID+`","triggerName":"user-message","input":{"USER_MESSAGE":"Who am I?"}}`))
	if err != nil {
		panic(err)
	}
	var triggered struct{ ExecutionID, Error string }
	_ = json.NewDecoder(resp.Body).Decode(&triggered)
	resp.Body.Close()
	fmt.Printf("trigger: error %q, execution started: %v\n", triggered.Error, triggered.ExecutionID != "")

	// onPoll, from cursor 0 until the status is not "streaming".
	cursor, answer := 0, ""
	for {
		resp, err := http.Get(fmt.Sprintf("%s/api/chat/poll?sessionId=%s&cursor=%d", srv.URL, sessionID, cursor))
		if err != nil {
			panic(err)
		}
		var res octavus.PollResult
		_ = json.NewDecoder(resp.Body).Decode(&res)
		resp.Body.Close()
		for _, raw := range res.Events {
			var ev struct{ Type, Delta string }
			_ = json.Unmarshal(raw, &ev)
			switch ev.Type {
			case "tool-output-available", "finish":
				fmt.Println(ev.Type)
			case "text-delta":
				answer += ev.Delta
			}
		}
		cursor = res.Cursor
		if res.Status != octavus.PollStreaming {
			fmt.Println("answer:", answer)
			fmt.Println("status:", res.Status)
			break
		}
	}
	// Output:
	// trigger: error "", execution started: true
	// tool-output-available
	// finish
	// answer: Hello, Ada!
	// status: idle
}
