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

	"github.com/octavus-go/octavus"
)

// examplePlatform is a stand-in for the platform in these examples: each
// POST to a path is answered by the next of its scripted streams, and an
// answer to the deferred start names the new session in its header.
func examplePlatform(streams map[string][][]string) *httptest.Server {
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		fmt.Printf("POST %s %s\n", r.URL.Path, body)
		legs := streams[r.URL.Path]
		if len(legs) == 0 {
			http.Error(w, `{"error":"no such route"}`, http.StatusNotFound)
			return
		}
		streams[r.URL.Path] = legs[1:]
		if r.URL.Path == "/api/agent-sessions/start" {
			w.Header().Set("X-Octavus-Session-Id", "sess_new")
		}
		w.Header().Set("Content-Type", "text/event-stream")
		for _, ev := range legs[0] {
			fmt.Fprintf(w, "data: %s\n\n", ev)
		}
	}))
}

func ExampleAgentSessionsAPI_Start() {
	srv := examplePlatform(map[string][][]string{
		"/api/agent-sessions/start": {{
			`{"type":"start","executionId":"e1","sessionId":"sess_new"}`,
			`{"type":"text-delta","id":"t1","delta":"Hello!"}`,
			`{"type":"finish","finishReason":"stop","executionId":"e1"}`,
		}},
		"/api/agent-sessions/sess_new/trigger": {{
			`{"type":"start","executionId":"e2"}`,
			`{"type":"finish","finishReason":"stop","executionId":"e2"}`,
		}},
	})
	defer srv.Close()
	client, _ := octavus.NewClient(octavus.ClientOptions{BaseURL: srv.URL})

	// No Create call: the first trigger creates the session.
	session := client.AgentSessions.Start(octavus.StartOptions{
		AgentID:          "agent_support",
		Input:            map[string]any{"COMPANY_NAME": "Acme"},
		IdempotencyKey:   "chat-42",
		OnSessionCreated: func(id string) { fmt.Println("created", id) },
	})
	fmt.Printf("id before: %q\n", session.SessionID())
	msg := octavus.TriggerRequest{TriggerName: "user-message", Input: map[string]any{"USER_MESSAGE": "Hi"}}
	for range session.Execute(context.Background(), msg) {
	}
	fmt.Println("id after:", session.SessionID())
	// The next trigger goes to the session's /trigger endpoint.
	for range session.Execute(context.Background(), msg) {
	}
	// Output:
	// id before: ""
	// POST /api/agent-sessions/start {"agentId":"agent_support","trigger":{"triggerName":"user-message","input":{"USER_MESSAGE":"Hi"}},"input":{"COMPANY_NAME":"Acme"},"idempotencyKey":"chat-42"}
	// created sess_new
	// id after: sess_new
	// POST /api/agent-sessions/sess_new/trigger {"triggerName":"user-message","input":{"USER_MESSAGE":"Hi"}}
}

func ExampleWorkersAPI_Execute() {
	srv := examplePlatform(map[string][][]string{
		"/api/agents/agent_research/execute": {
			{
				`{"type":"start","executionId":"ex1"}`,
				`{"type":"worker-start","workerId":"w1","workerSlug":"research"}`,
				`{"type":"tool-request","toolCalls":[{"toolCallId":"c1","toolName":"web-search","args":{"query":"AI safety"}}]}`,
				`{"type":"finish","finishReason":"tool-calls"}`,
			},
			{
				`{"type":"worker-result","workerId":"w1","output":"A summary."}`,
				`{"type":"finish","finishReason":"stop","executionId":"ex1"}`,
				`{"type":"usage","cost":{"currency":"USD","bandwidthFee":0.001,"providerFee":0.01,"totalFee":0.011,"byok":false},"tokens":{"inputTokens":120,"outputTokens":30,"totalTokens":150}}`,
			},
		},
	})
	defer srv.Close()
	client, _ := octavus.NewClient(octavus.ClientOptions{BaseURL: srv.URL})

	events := client.Workers.Execute(context.Background(), "agent_research", map[string]any{"TOPIC": "AI safety"}, octavus.WorkerOptions{
		Tools: octavus.ToolHandlers{
			"web-search": func(ctx context.Context, args map[string]any) (any, error) {
				return []string{"result for " + args["query"].(string)}, nil
			},
		},
	})
	// The worker posts its tool results while this loop reads, so the
	// progress is printed once the stream has ended.
	var progress []string
	for ev := range events {
		switch e := ev.(type) {
		case *octavus.WorkerStartEvent:
			progress = append(progress, "worker started: "+e.WorkerSlug)
		case *octavus.ToolOutputAvailableEvent:
			progress = append(progress, "tool output: "+string(e.Output))
		case *octavus.WorkerResultEvent:
			progress = append(progress, "output: "+string(e.Output))
		case *octavus.UsageEvent:
			progress = append(progress, fmt.Sprint("tokens: ", e.Tokens.TotalTokens))
		}
	}
	fmt.Println(strings.Join(progress, "\n"))
	// Output:
	// POST /api/agents/agent_research/execute {"type":"start","input":{"TOPIC":"AI safety"}}
	// POST /api/agents/agent_research/execute {"type":"continue","executionId":"ex1","toolResults":[{"toolCallId":"c1","toolName":"web-search","result":["result for AI safety"]}]}
	// worker started: research
	// tool output: ["result for AI safety"]
	// output: "A summary."
	// tokens: 150
}

func ExampleWorkersAPI_Continue() {
	srv := examplePlatform(map[string][][]string{
		"/api/agents/agent_review/execute": {
			{
				`{"type":"start","executionId":"ex1"}`,
				`{"type":"tool-request","toolCalls":[{"toolCallId":"c1","toolName":"approve","args":{"draft":"v1"}}]}`,
				`{"type":"finish","finishReason":"tool-calls"}`,
			},
			{
				`{"type":"worker-result","workerId":"w1","output":"published"}`,
				`{"type":"finish","finishReason":"stop","executionId":"ex1"}`,
			},
		},
	})
	defer srv.Close()
	client, _ := octavus.NewClient(octavus.ClientOptions{BaseURL: srv.URL})
	ctx := context.Background()

	// "approve" has no handler: the worker hands it to us.
	var request *octavus.ClientToolRequestEvent
	for ev := range client.Workers.Execute(ctx, "agent_review", map[string]any{}, octavus.WorkerOptions{}) {
		if e, ok := ev.(*octavus.ClientToolRequestEvent); ok {
			request = e
		}
	}
	var results []octavus.ToolResult
	for _, tc := range request.ToolCalls {
		results = append(results, octavus.ToolResult{ToolCallID: tc.ToolCallID, ToolName: tc.ToolName, Result: json.RawMessage(`{"approved":true}`)})
	}
	for ev := range client.Workers.Continue(ctx, "agent_review", request.ExecutionID, results, octavus.WorkerOptions{}) {
		if e, ok := ev.(*octavus.WorkerResultEvent); ok {
			fmt.Println("output:", string(e.Output))
		}
	}
	// Output:
	// POST /api/agents/agent_review/execute {"type":"start","input":{}}
	// POST /api/agents/agent_review/execute {"type":"continue","executionId":"ex1","toolResults":[{"toolCallId":"c1","toolName":"approve","result":{"approved":true}}]}
	// output: "published"
}

func ExampleWorkersAPI_Generate() {
	srv := examplePlatform(map[string][][]string{
		"/api/agents/agent_summary/execute": {{
			`{"type":"start","executionId":"ex7"}`,
			`{"type":"worker-result","workerId":"w1","output":{"summary":"Short."}}`,
			`{"type":"finish","finishReason":"stop","executionId":"ex7"}`,
			`{"type":"usage","cost":{"currency":"USD","bandwidthFee":0.001,"providerFee":0.01,"totalFee":0.011,"byok":false},"tokens":{"inputTokens":120,"outputTokens":30,"totalTokens":150}}`,
		}},
	})
	defer srv.Close()
	client, _ := octavus.NewClient(octavus.ClientOptions{BaseURL: srv.URL})

	res, err := client.Workers.Generate(context.Background(), "agent_summary", map[string]any{"TEXT": "..."}, octavus.WorkerOptions{})
	var we *octavus.WorkerError
	if errors.As(err, &we) {
		fmt.Println("worker failed:", we.Message, we.SessionID)
		return
	}
	fmt.Println("output:", string(res.Output))
	fmt.Println("session:", res.SessionID)
	fmt.Printf("cost: %.3f %s\n", res.Cost.TotalFee, res.Cost.Currency)

	// A worker that fails: the error event's message and details.
	_, err = client.Workers.Generate(context.Background(), "agent_missing", nil, octavus.WorkerOptions{})
	if errors.As(err, &we) {
		fmt.Println("worker failed:", we.Message, we.Details.ErrorType)
	}
	// Output:
	// POST /api/agents/agent_summary/execute {"type":"start","input":{"TEXT":"..."}}
	// output: {"summary":"Short."}
	// session: ex7
	// cost: 0.011 USD
	// POST /api/agents/agent_missing/execute {"type":"start","input":{}}
	// worker failed: no such route not_found_error
}

func ExampleAttachOptions_onToolResults() {
	srv := examplePlatform(map[string][][]string{
		"/api/agent-sessions/sess_1/trigger": {
			{
				`{"type":"start","executionId":"e1"}`,
				`{"type":"tool-request","toolCalls":[{"toolCallId":"c1","toolName":"screenshot","args":{}}]}`,
				`{"type":"finish","finishReason":"tool-calls"}`,
			},
			{`{"type":"finish","finishReason":"stop","executionId":"e1"}`},
		},
	})
	defer srv.Close()
	client, _ := octavus.NewClient(octavus.ClientOptions{BaseURL: srv.URL})

	session := client.AgentSessions.Attach("sess_1", octavus.AttachOptions{
		Tools: octavus.ToolHandlers{
			"screenshot": func(context.Context, map[string]any) (any, error) {
				return map[string]any{"image": "iVBORw0KGgo..."}, nil
			},
		},
		// Before the results reach the browser or the platform: replace the
		// inline image by a reference (NormalizeToolResultMedia uploads it).
		OnToolResults: func(ctx context.Context, results []octavus.ToolResult) error {
			for i := range results {
				// A handler's result arrives encoded, as json.RawMessage.
				raw, _ := results[i].Result.(json.RawMessage)
				if strings.Contains(string(raw), "iVBOR") {
					results[i].Result = map[string]any{"url": "https://files.example/shot.png"}
				}
			}
			return nil
		},
	})
	// The execution posts the results while the browser reads the event, so
	// what the browser saw is printed after the stream, when both are done.
	var seen []string
	for ev := range session.Execute(context.Background(), octavus.TriggerRequest{TriggerName: "user-message"}) {
		if e, ok := ev.(*octavus.ToolOutputAvailableEvent); ok {
			seen = append(seen, string(e.Output))
		}
	}
	for _, s := range seen {
		fmt.Println("browser saw:", s)
	}
	// Output:
	// POST /api/agent-sessions/sess_1/trigger {"triggerName":"user-message"}
	// POST /api/agent-sessions/sess_1/trigger {"triggerName":"user-message","executionId":"e1","toolResults":[{"toolCallId":"c1","toolName":"screenshot","result":{"url":"https://files.example/shot.png"}}]}
	// browser saw: {"url":"https://files.example/shot.png"}
}

// ServeSocketWith serves a connection whose session is created by its
// first trigger (a deferred session), and persists after each execution.
func ExampleServeSocketWith() {
	srv := examplePlatform(map[string][][]string{
		"/api/agent-sessions/start": {{
			`{"type":"start","executionId":"e1","sessionId":"sess_new"}`,
			`{"type":"finish","finishReason":"stop","executionId":"e1"}`,
		}},
	})
	defer srv.Close()
	client, _ := octavus.NewClient(octavus.ClientOptions{BaseURL: srv.URL})

	conn := chanConn{in: make(chan []byte), out: make(chan []byte)}
	finished := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- octavus.ServeSocketWith(context.Background(), conn, octavus.SocketOptions{
			Session: func(ctx context.Context, sessionID string) (*octavus.AgentSession, error) {
				return client.AgentSessions.Start(octavus.StartOptions{AgentID: "agent_support", IdempotencyKey: "conn-1"}), nil
			},
			OnFinish: func(ctx context.Context, s *octavus.AgentSession) error {
				finished <- s.SessionID() // e.g. save the session's messages
				return nil
			},
		})
	}()
	conn.in <- []byte(`{"type":"trigger","triggerName":"user-message"}`)
	fmt.Println(string(<-conn.out))
	fmt.Println(string(<-conn.out))
	fmt.Println("finished:", <-finished)
	close(conn.in)
	fmt.Println("ServeSocket returned", <-done)
	// Output:
	// POST /api/agent-sessions/start {"agentId":"agent_support","trigger":{"triggerName":"user-message"},"idempotencyKey":"conn-1"}
	// {"type":"start","executionId":"e1","sessionId":"sess_new"}
	// {"type":"finish","finishReason":"stop","executionId":"e1"}
	// finished: sess_new
	// ServeSocket returned <nil>
}

// AgentSession.ServeSocketWith serves a connection on a known session.
func ExampleAgentSession_ServeSocketWith() {
	srv := examplePlatform(map[string][][]string{
		"/api/agent-sessions/sess_1/trigger": {{`{"type":"finish","finishReason":"stop"}`}},
	})
	defer srv.Close()
	client, _ := octavus.NewClient(octavus.ClientOptions{BaseURL: srv.URL})
	session := client.AgentSessions.Attach("sess_1", octavus.AttachOptions{})

	conn := chanConn{in: make(chan []byte), out: make(chan []byte)}
	finished := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- session.ServeSocketWith(context.Background(), conn, octavus.SocketOptions{
			OnFinish: func(context.Context, *octavus.AgentSession) error { close(finished); return nil },
		})
	}()
	conn.in <- []byte(`{"type":"trigger","triggerName":"user-message"}`)
	fmt.Println(string(<-conn.out))
	<-finished
	close(conn.in)
	fmt.Println("ServeSocket returned", <-done)
	// Output:
	// POST /api/agent-sessions/sess_1/trigger {"triggerName":"user-message"}
	// {"type":"finish","finishReason":"stop"}
	// ServeSocket returned <nil>
}

// HandlerOptions.Start lets the passthrough route create the session on
// the browser's first message, which carries no sessionId.
func ExampleHandlerOptions_start() {
	srv := examplePlatform(map[string][][]string{
		"/api/agent-sessions/start": {{
			`{"type":"start","executionId":"e1","sessionId":"sess_new"}`,
			`{"type":"finish","finishReason":"stop","executionId":"e1"}`,
		}},
	})
	defer srv.Close()
	client, _ := octavus.NewClient(octavus.ClientOptions{BaseURL: srv.URL})

	h := client.AgentSessions.Handler(octavus.HandlerOptions{
		Start: func(r *http.Request) (octavus.StartOptions, error) {
			// Check the signed-in user here.
			return octavus.StartOptions{
				AgentID:          "agent_support",
				IdempotencyKey:   r.Header.Get("X-Chat-Id"),
				OnSessionCreated: func(id string) { fmt.Println("save chat -> session", id) },
			}, nil
		},
	})
	r := httptest.NewRequest(http.MethodPost, "/api/trigger", strings.NewReader(`{"type":"trigger","triggerName":"user-message"}`))
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("X-Chat-Id", "chat-7")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	fmt.Print(w.Body.String())
	// Output:
	// POST /api/agent-sessions/start {"agentId":"agent_support","trigger":{"triggerName":"user-message"},"idempotencyKey":"chat-7"}
	// save chat -> session sess_new
	// data: {"type":"start","executionId":"e1","sessionId":"sess_new"}
	//
	// data: {"type":"finish","finishReason":"stop","executionId":"e1"}
	//
	// data: [DONE]
}
