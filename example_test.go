package octavus_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/octavus-go/octavus"
	"github.com/octavus-go/octavus/octavustest"
)

// A fake platform whose agent calls get-user-account, then answers with
// what the tool returned.
func newDemoPlatform() *octavustest.Server {
	return octavustest.NewServer(octavustest.WithScript(octavustest.Repeat(
		octavustest.Respond(func(req octavustest.TriggerRequest) octavustest.Turn {
			if len(req.ToolResults) == 0 {
				return octavustest.Stream(octavustest.ToolCall{Name: "get-user-account"})
			}
			user := req.ToolResults[0].Result.(map[string]any)
			return octavustest.Stream(octavustest.Text("Hello, ", user["name"].(string), "!"))
		}),
	)))
}

// Execute runs the continuation loop: the server tool runs in Go, its result
// goes back to the platform, and the final answer streams in.
func Example() {
	platform := newDemoPlatform()
	defer platform.Close()

	client, err := octavus.NewClient(octavus.ClientOptions{BaseURL: platform.URL, APIKey: platform.APIKey})
	if err != nil {
		panic(err)
	}
	ctx := context.Background()
	agentID := platform.AddAgent(octavustest.Agent{Name: "Support"})
	sessionID, err := client.AgentSessions.Create(ctx, agentID, nil)
	if err != nil {
		panic(err)
	}

	session := client.AgentSessions.Attach(sessionID, octavus.AttachOptions{
		Tools: octavus.ToolHandlers{
			"get-user-account": func(ctx context.Context, args map[string]any) (any, error) {
				return map[string]any{"name": "Ada"}, nil
			},
		},
	})
	for ev := range session.Execute(ctx, octavus.TriggerRequest{
		TriggerName: "user-message",
		Input:       map[string]any{"USER_MESSAGE": "Who am I?"},
	}) {
		switch ev := ev.(type) {
		case *octavus.ToolOutputAvailableEvent:
			fmt.Printf("tool %s returned %s\n", ev.ToolCallID, ev.Output)
		case *octavus.TextDeltaEvent:
			fmt.Printf("text %q\n", ev.Delta)
		case *octavus.FinishEvent:
			fmt.Println("finish", ev.FinishReason)
		}
	}
	// Output:
	// tool call_1 returned {"name":"Ada"}
	// text "Hello, "
	// text "Ada"
	// text "!"
	// finish stop
}

// Handler is the whole passthrough route of the HTTP transport: the browser
// posts {sessionId, type, ...} and reads Server-Sent Events back.
func ExampleAgentSessionsAPI_Handler() {
	platform := newDemoPlatform()
	defer platform.Close()
	client, _ := octavus.NewClient(octavus.ClientOptions{BaseURL: platform.URL, APIKey: platform.APIKey})
	sessionID := platform.AddSession(octavustest.Session{})

	mux := http.NewServeMux()
	mux.Handle("POST /api/trigger", client.AgentSessions.Handler(octavus.HandlerOptions{
		Tools: octavus.ToolHandlers{
			"get-user-account": func(context.Context, map[string]any) (any, error) {
				return map[string]any{"name": "Grace"}, nil
			},
		},
	}))
	app := httptest.NewServer(mux)
	defer app.Close()

	body := `{"sessionId":"` + sessionID + `","type":"trigger","triggerName":"user-message","input":{"USER_MESSAGE":"Hi"}}`
	resp, err := http.Post(app.URL+"/api/trigger", "application/json", strings.NewReader(body))
	if err != nil {
		panic(err)
	}
	defer resp.Body.Close()
	fmt.Println(resp.Header.Get("Content-Type"))
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if strings.Contains(sc.Text(), "tool-output") || strings.Contains(sc.Text(), "DONE") {
			fmt.Println(sc.Text())
		}
	}
	// Output:
	// text/event-stream
	// data: {"type":"tool-output-available","toolCallId":"call_1","output":{"name":"Grace"}}
	// data: [DONE]
}

// With Hijack, an HTTP/1.x stream is written on the connection taken from
// net/http: the body is the same, the connection closes after [DONE], and
// the Handler's Shutdown drains such streams after the server's own.
func ExamplePassthroughHandler_Shutdown() {
	platform := newDemoPlatform()
	defer platform.Close()
	client, _ := octavus.NewClient(octavus.ClientOptions{BaseURL: platform.URL, APIKey: platform.APIKey})
	sessionID := platform.AddSession(octavustest.Session{})

	trigger := client.AgentSessions.Handler(octavus.HandlerOptions{
		Hijack: true,
		Tools: octavus.ToolHandlers{
			"get-user-account": func(context.Context, map[string]any) (any, error) {
				return map[string]any{"name": "Grace"}, nil
			},
		},
	})
	mux := http.NewServeMux()
	mux.Handle("POST /api/trigger", trigger)
	app := httptest.NewServer(mux)

	body := `{"sessionId":"` + sessionID + `","type":"trigger","triggerName":"user-message","input":{"USER_MESSAGE":"Hi"}}`
	resp, err := http.Post(app.URL+"/api/trigger", "application/json", strings.NewReader(body))
	if err != nil {
		panic(err)
	}
	fmt.Println(resp.Header.Get("Content-Type"), "close:", resp.Close)
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if strings.Contains(sc.Text(), "tool-output") || strings.Contains(sc.Text(), "DONE") {
			fmt.Println(sc.Text())
		}
	}
	resp.Body.Close()

	// Shutting down: the server first (no new streams), then the
	// hijacked streams it no longer sees.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	app.Close()
	fmt.Println(trigger.Shutdown(ctx))
	// Output:
	// text/event-stream close: true
	// data: {"type":"tool-output-available","toolCallId":"call_1","output":{"name":"Grace"}}
	// data: [DONE]
	// <nil>
}

// Every REST call returns *APIError for a non-2xx answer.
func ExampleAPIError() {
	platform := octavustest.NewServer()
	defer platform.Close()
	client, _ := octavus.NewClient(octavus.ClientOptions{BaseURL: platform.URL, APIKey: platform.APIKey})

	_, err := client.AgentSessions.Get(context.Background(), "no-such-session")
	var apiErr *octavus.APIError
	if errors.As(err, &apiErr) {
		fmt.Println(apiErr.Status, apiErr.Code)
	}
	// Output:
	// 404 NOT_FOUND
}

// ToSSEStream writes any channel of events as the browser's SSE.
func ExampleToSSEStream() {
	events := make(chan octavus.StreamEvent, 2)
	events <- &octavus.TextDeltaEvent{ID: "t1", Delta: "Hi"}
	events <- &octavus.FinishEvent{FinishReason: octavus.FinishStop}
	close(events)

	rec := httptest.NewRecorder()
	octavus.ToSSEStream(events).ServeHTTP(rec, httptest.NewRequest("POST", "/", nil))
	fmt.Print(rec.Body.String())
	// Output:
	// data: {"type":"text-delta","id":"t1","delta":"Hi"}
	//
	// data: {"type":"finish","finishReason":"stop"}
	//
	// data: [DONE]
}

// ParseStreamEvent decodes one event and drops what the protocol does not know.
func ExampleParseStreamEvent() {
	ev, err := octavus.ParseStreamEvent([]byte(`{"type":"text-delta","id":"t1","delta":"Hi","debug":true}`))
	if err != nil {
		panic(err)
	}
	delta := ev.(*octavus.TextDeltaEvent)
	fmt.Println(delta.ID, delta.Delta)

	_, err = octavus.ParseStreamEvent([]byte(`{"type":"text-delta","id":"t1"}`))
	fmt.Println(errors.Is(err, octavus.ErrInvalidEvent))
	// Output:
	// t1 Hi
	// true
}

// Testing your own tool handlers with octavustest: script the agent to call
// your tool, run the execution, and check what your handler sent back to
// the platform and what the browser would see.
func Example_testYourTools() {
	// The handler under test.
	lookupOrder := func(ctx context.Context, args map[string]any) (any, error) {
		if args["orderId"] != "A-1" {
			return nil, fmt.Errorf("order %v not found", args["orderId"])
		}
		return map[string]any{"status": "shipped"}, nil
	}

	platform := octavustest.NewServer(octavustest.WithScript(
		octavustest.Stream(
			octavustest.ToolCall{Name: "lookup-order", Args: map[string]any{"orderId": "A-1"}},
			octavustest.ToolCall{Name: "lookup-order", Args: map[string]any{"orderId": "B-2"}},
		),
		octavustest.Respond(func(req octavustest.TriggerRequest) octavustest.Turn {
			return octavustest.Stream(octavustest.Text(fmt.Sprintf("%d results", len(req.ToolResults))))
		}),
	))
	defer platform.Close()
	client, _ := octavus.NewClient(octavus.ClientOptions{BaseURL: platform.URL, APIKey: platform.APIKey})
	sessionID := platform.AddSession(octavustest.Session{})

	session := client.AgentSessions.Attach(sessionID, octavus.AttachOptions{
		Tools: octavus.ToolHandlers{"lookup-order": lookupOrder},
	})
	for ev := range session.Execute(context.Background(), octavus.TriggerRequest{TriggerName: "user-message"}) {
		switch ev := ev.(type) {
		case *octavus.ToolOutputAvailableEvent:
			fmt.Println("ok:", string(ev.Output))
		case *octavus.ToolOutputErrorEvent:
			fmt.Println("error:", ev.Error)
		}
	}
	// The second POST carried the tool results to the platform.
	reqs := platform.Requests()
	fmt.Println(string(reqs[len(reqs)-1].Body))
	// Output:
	// ok: {"status":"shipped"}
	// error: order B-2 not found
	// {"triggerName":"user-message","executionId":"exec_1","toolResults":[{"toolCallId":"call_1","toolName":"lookup-order","result":{"status":"shipped"}},{"toolCallId":"call_2","toolName":"lookup-order","error":"order B-2 not found"}]}
}

// Tool turns a typed function into a tool handler: the call's JSON
// arguments are decoded into the function's argument type, and a mistyped
// argument becomes a tool error the model can act on.
func ExampleTool() {
	type orderArgs struct {
		OrderID string `json:"orderId"`
	}
	getOrder := octavus.Tool(func(ctx context.Context, in orderArgs) (map[string]string, error) {
		if in.OrderID != "1042" {
			return nil, fmt.Errorf("no order %q", in.OrderID)
		}
		return map[string]string{"status": "delivered"}, nil
	})

	// Execute calls handlers this way with the platform's arguments.
	out, err := getOrder(context.Background(), map[string]any{"orderId": "1042"})
	fmt.Println(out, err)
	_, err = getOrder(context.Background(), map[string]any{"orderId": 1042})
	fmt.Println(err)
	// Output:
	// map[status:delivered] <nil>
	// invalid arguments: field "orderId" must be string, got number
}

// SetDynamicTools adds tools the agent's definition does not list, such as
// those of a device: their schemas go to the platform on every following
// request of the session (as dynamicToolSchemas), and their handlers run
// like the static tools, winning on a name clash.
func ExampleAgentSession_SetDynamicTools() {
	platform := newDemoPlatform()
	defer platform.Close()
	client, _ := octavus.NewClient(octavus.ClientOptions{BaseURL: platform.URL, APIKey: platform.APIKey})
	sessionID := platform.AddSession(octavustest.Session{})

	session := client.AgentSessions.Attach(sessionID, octavus.AttachOptions{})
	session.SetDynamicTools(octavus.DynamicTools(octavus.DynamicTool{
		Schema: octavus.ToolSchema{
			Name:        "get-user-account",
			Description: "The signed-in user's account",
			InputSchema: json.RawMessage(`{"type":"object","properties":{}}`),
		},
		Handler: func(context.Context, map[string]any) (any, error) {
			return map[string]any{"name": "Lin"}, nil
		},
	}))
	for ev := range session.Execute(context.Background(), octavus.TriggerRequest{TriggerName: "user-message", Input: map[string]any{"USER_MESSAGE": "Who am I?"}}) {
		if ev, ok := ev.(*octavus.ToolOutputAvailableEvent); ok {
			fmt.Printf("tool %s returned %s\n", ev.ToolCallID, ev.Output)
		}
	}
	// Output:
	// tool call_1 returned {"name":"Lin"}
}

// HandlerOptions.Sender stamps the signed-in user on each turn; whatever
// "sender" the browser sends is ignored. Here the user comes from a header
// your authentication middleware would have checked.
func ExampleHandlerOptions_sender() {
	platform := newDemoPlatform()
	defer platform.Close()
	client, _ := octavus.NewClient(octavus.ClientOptions{BaseURL: platform.URL, APIKey: platform.APIKey})
	sessionID := platform.AddSession(octavustest.Session{})

	app := httptest.NewServer(client.AgentSessions.Handler(octavus.HandlerOptions{
		Tools: octavus.ToolHandlers{"get-user-account": func(context.Context, map[string]any) (any, error) {
			return map[string]any{"name": "Grace"}, nil
		}},
		Sender: func(r *http.Request, sessionID string) (*octavus.MessageSender, error) {
			user := r.Header.Get("X-User")
			if user == "" {
				return nil, &octavus.RequestError{Status: http.StatusUnauthorized, Message: "sign in first"}
			}
			return &octavus.MessageSender{ID: user, Name: "Grace Hopper"}, nil
		},
	}))
	defer app.Close()

	body := `{"sessionId":"` + sessionID + `","type":"trigger","triggerName":"user-message","input":{"USER_MESSAGE":"Hi"}}`
	resp, err := http.Post(app.URL, "application/json", strings.NewReader(body))
	if err != nil {
		panic(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	fmt.Println(resp.StatusCode, strings.TrimSpace(string(b)))
	// Output:
	// 401 {"error":"sign in first"}
}
