// Command chat serves a chat page for an Octavus agent: plain HTML, CSS and
// JavaScript on a Go backend built with octavus-go. Each answer runs as an
// execution detached from the page's request (octavus.Executions), logged
// event by event: the page reads it as Server-Sent Events, and a reload
// mid-answer picks the stream up where it was.
//
//	go run ./examples/chat                 # then open http://localhost:8080/
//	go run ./examples/chat -addr :9000     # or ADDR=:9000
//
// The page streams the agent's reasoning and text as they arrive, shows each
// tool call in words with its state and result, asks the person to confirm a
// refund (a server tool that waits for the answer, confirm.go), stops an
// answer with its Stop button (the server then cancels the execution) and
// shows errors as sentences, with a Retry button for a retryable one. The
// conversation survives a reload: the browser keeps the session id and its
// UIMessages, and the server opens the session again, restoring it when it
// expired or starting a new chat when it is gone (history.go); an answer in
// progress is replayed from the execution log and goes on streaming.
//
// With OCTAVUS_API_URL and OCTAVUS_API_KEY unset it runs against a built-in
// fake platform (octavustest) with a scripted order-support agent: ask about
// an order ("Where is order 1042?"), and it looks the order up with the
// get-order tool, then asks you to confirm a refund with the confirm-refund
// tool. A message with the word "long" streams a long
// answer to stop (or to reload the page during), one with "error" ends in a retryable platform error (its
// retry answers).
//
// Set OCTAVUS_API_URL, OCTAVUS_API_KEY and OCTAVUS_AGENT_ID to chat with a
// real agent instead; give it the tools get-order {orderId} and
// confirm-refund {question}, both run here, in Go.
//
// Routes:
//
//	GET  /              the page and its assets (embedded)
//	GET  /api/info      {"platform": "demo" | "octavus"}
//	POST /api/sessions  creates a session: {"input"?: {...}} -> {"sessionId": "..."}
//	POST /api/sessions/{id}/open       opens a kept session again: {"messages"?: [...]}
//	                                   -> {"sessionId", "status": "active" | "restored" | "new", "messages"}
//	GET  /api/sessions/{id}/messages   the session's UIMessages, for the browser to keep
//	POST /api/sessions/{id}/confirm    the person's answer to confirm-refund: {"confirmed": bool}
//	POST /api/chat/trigger             starts an execution: {sessionId, triggerName, input, rollbackAfterMessageId?} -> {executionId}
//	GET  /api/chat/events?sessionId=   its events as SSE, each with <executionId>:<cursor> as id; resumes from Last-Event-ID or ?cursor=
//	GET  /api/chat/status?sessionId=   {"status": "idle" | "streaming" | "error", "cursor", "executionId"}
//	POST /api/chat/stop?sessionId=&executionId=   stops it
//	GET  /api/chat/poll?sessionId=&cursor=   the polling transport's poll (createPollingTransport)
package main

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/octavus-go/octavus"
	"github.com/octavus-go/octavus/octavustest"
)

// staticFiles are the page and its assets, served at /.
//
//go:embed static
var staticFiles embed.FS

func main() {
	addr := flag.String("addr", envOr("ADDR", "localhost:8080"), "address to listen on (also $ADDR)")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, *addr, os.Stdout); err != nil {
		log.Fatal(err)
	}
}

// envOr returns the environment variable key, or def when it is empty.
func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

// defaultPace is how fast the demo agent streams: one word per pace.
const defaultPace = 30 * time.Millisecond

// config says which platform and agent the chat talks to. A zero baseURL
// and apiKey mean the built-in demo platform.
type config struct {
	baseURL, apiKey, agentID string
	// pace is the demo agent's pause before each streamed word.
	pace time.Duration
	// hold, when not nil, stops the demo agent's long answer after its
	// first longHoldWords words until hold is closed: a test reloads the
	// page or cuts its connections there, mid-answer whatever the
	// machine's speed, then lets the answer go on.
	hold <-chan struct{}
}

// configFromEnv reads the config from OCTAVUS_API_URL, OCTAVUS_API_KEY and
// OCTAVUS_AGENT_ID. With the first two unset it is the demo platform's;
// otherwise all three are required.
func configFromEnv() (config, error) {
	cfg := config{
		baseURL: os.Getenv("OCTAVUS_API_URL"),
		apiKey:  os.Getenv("OCTAVUS_API_KEY"),
		agentID: os.Getenv("OCTAVUS_AGENT_ID"),
		pace:    defaultPace,
	}
	if cfg.baseURL == "" && cfg.apiKey == "" {
		return cfg, nil
	}
	var missing []string
	for _, v := range []struct{ name, value string }{
		{"OCTAVUS_API_URL", cfg.baseURL}, {"OCTAVUS_API_KEY", cfg.apiKey}, {"OCTAVUS_AGENT_ID", cfg.agentID},
	} {
		if v.value == "" {
			missing = append(missing, v.name)
		}
	}
	if len(missing) > 0 {
		return config{}, fmt.Errorf("to chat with an agent on the Octavus platform, set OCTAVUS_API_URL, OCTAVUS_API_KEY and OCTAVUS_AGENT_ID (missing: %s); unset OCTAVUS_API_URL and OCTAVUS_API_KEY to use the built-in demo platform",
			strings.Join(missing, ", "))
	}
	return cfg, nil
}

// run serves the chat on addr until ctx is done, with the platform the
// environment names. It prints the chat's URL to out once it listens.
func run(ctx context.Context, addr string, out io.Writer) error {
	cfg, err := configFromEnv()
	if err != nil {
		return err
	}
	return serve(ctx, cfg, addr, out, nil)
}

// serve serves the chat for cfg on addr until ctx is done. Once it listens
// it prints the chat's URL to out and calls ready, when not nil, with the
// app and that URL. It returns after every request has ended.
func serve(ctx context.Context, cfg config, addr string, out io.Writer, ready func(a *app, url string)) error {
	a, err := newApp(cfg)
	if err != nil {
		return err
	}
	defer a.Close()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	url := chatURL(addr, ln.Addr())
	if a.fake != nil {
		fmt.Fprintf(out, "No OCTAVUS_API_URL or OCTAVUS_API_KEY set: using the built-in demo platform at %s\n", a.fake.URL)
	}
	fmt.Fprintf(out, "Chat: %s\n", url)
	if ready != nil {
		ready(a, url)
	}

	// Close cuts open streams at once; their handlers see their request
	// context cancelled and return, and serve waits for them. The
	// executions, detached from the requests, are cancelled by a.Close.
	var inflight handlers
	// ReadHeaderTimeout and ReadTimeout cut off a browser that trickles
	// its request; no WriteTimeout, which would cut the event streams
	// (their writer sets a deadline per write itself).
	srv := &http.Server{Handler: inflight.wrap(a.routes()), ReadHeaderTimeout: 10 * time.Second, ReadTimeout: time.Minute}
	stop := context.AfterFunc(ctx, func() { _ = srv.Close() })
	defer stop()
	err = srv.Serve(ln)
	inflight.closeAndWait()
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// handlers tracks the requests being handled, so that serve can wait for
// them after the server closed.
type handlers struct {
	mu      sync.Mutex
	closed  bool
	running sync.WaitGroup
}

// wrap counts h's requests; once closed it answers 503.
func (hs *handlers) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hs.mu.Lock()
		if hs.closed {
			hs.mu.Unlock()
			http.Error(w, "shutting down", http.StatusServiceUnavailable)
			return
		}
		hs.running.Add(1)
		hs.mu.Unlock()
		defer hs.running.Done()
		h.ServeHTTP(w, r)
	})
}

// closeAndWait refuses new requests and waits for the running ones.
func (hs *handlers) closeAndWait() {
	hs.mu.Lock()
	hs.closed = true
	hs.mu.Unlock()
	hs.running.Wait()
}

// chatURL is the URL to print for a listener asked for addr: the host as
// given (localhost when none), the port as bound.
func chatURL(addr string, bound net.Addr) string {
	host, _, err := net.SplitHostPort(addr)
	if err != nil || host == "" || host == "0.0.0.0" || host == "::" {
		host = "localhost"
	}
	port := "0"
	if tcp, ok := bound.(*net.TCPAddr); ok {
		port = fmt.Sprint(tcp.Port)
	}
	return "http://" + net.JoinHostPort(host, port) + "/"
}

// app is the chat's backend: the SDK client, the agent it talks to and, on
// the demo platform, the fake platform itself.
type app struct {
	client  *octavus.Client
	agentID string
	orders  *orderStore
	// execs runs the chat's executions detached from the page's requests,
	// logged in memory: a reload reads what it missed, then the live tail.
	execs         *octavus.Executions
	confirmations *confirmations
	// fake is the built-in demo platform; nil against the real one.
	fake *octavustest.Server
	// done is closed by Close; the demo agent's pacing stops.
	done      chan struct{}
	closeOnce sync.Once
}

// newApp connects to the platform cfg names, starting the demo platform
// when it names none. The caller must Close the app.
func newApp(cfg config) (*app, error) {
	a := &app{orders: newOrderStore(), confirmations: newConfirmations(), done: make(chan struct{})}
	if cfg.baseURL == "" && cfg.apiKey == "" {
		agent := newDemoAgent(cfg.pace, cfg.hold, a.done)
		a.fake = octavustest.NewServer()
		cfg.baseURL, cfg.apiKey = a.fake.URL, a.fake.APIKey
		cfg.agentID = a.fake.AddAgent(octavustest.Agent{
			Name:   "Order assistant",
			Script: []octavustest.Turn{agent.script()},
		})
	}
	client, err := octavus.NewClient(octavus.ClientOptions{BaseURL: cfg.baseURL, APIKey: cfg.apiKey})
	if err != nil {
		a.Close()
		return nil, err
	}
	a.client, a.agentID = client, cfg.agentID
	a.execs = octavus.NewExecutions(client, octavus.ExecutionsOptions{
		// A message sent right after Stop waits for the stopped execution
		// to end, rather than being refused SESSION_BUSY.
		Busy: octavus.BusyWait,
		// In a real app, check here (or in PollingOptions.Authorize) that
		// the signed-in user owns the session.
		Attach: func(_ context.Context, sessionID string) (*octavus.AgentSession, error) {
			return client.AgentSessions.Attach(sessionID, octavus.AttachOptions{Tools: a.tools(sessionID)}), nil
		},
	})
	return a, nil
}

// tools are the server tools of a session: get-order, and confirm-refund,
// which waits for the person (confirm.go).
func (a *app) tools(sessionID string) octavus.ToolHandlers {
	tools := a.orders.tools()
	tools[toolConfirmRefund] = a.confirmations.tool(sessionID)
	return tools
}

// Close cancels the running executions and stops the demo platform, if
// any.
func (a *app) Close() {
	a.closeOnce.Do(func() {
		close(a.done)
		if a.execs != nil {
			if err := a.execs.Close(); err != nil {
				log.Printf("chat: closing the executions: %v", err)
			}
		}
		if a.fake != nil {
			a.fake.Close()
		}
	})
}

// routes returns the chat's handler: the page, its assets and the API.
func (a *app) routes() http.Handler {
	assets, err := fs.Sub(staticFiles, "static")
	if err != nil {
		panic(err) // the embedded directory is there: go:embed checked it
	}
	mux := http.NewServeMux()
	mux.Handle("GET /", http.FileServerFS(assets))
	mux.HandleFunc("GET /api/info", a.info)
	mux.HandleFunc("POST /api/sessions", a.createSession)
	mux.HandleFunc("POST /api/sessions/{id}/open", a.openSession)
	mux.HandleFunc("GET /api/sessions/{id}/messages", a.sessionMessages)
	mux.HandleFunc("POST /api/sessions/{id}/confirm", a.confirm)
	// The execution log's routes: trigger, poll, stop, status and events
	// (SSE that resumes from Last-Event-ID). In a real app, set Authorize
	// to check that the signed-in user owns the session.
	chat := octavus.NewPollingHandler(a.execs, octavus.PollingOptions{})
	for _, route := range []string{"POST /api/chat/trigger", "GET /api/chat/events", "GET /api/chat/status", "POST /api/chat/stop", "GET /api/chat/poll"} {
		mux.Handle(route, chat)
	}
	return securityHeaders(mux)
}

// securityHeaders sets a strict Content-Security-Policy: the page loads its
// scripts and styles from this server only, and runs no inline code.
func securityHeaders(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		h.ServeHTTP(w, r)
	})
}

// info answers GET /api/info: which platform the chat talks to, so the page
// can offer the demo agent's example messages.
func (a *app) info(w http.ResponseWriter, _ *http.Request) {
	platform := "octavus"
	if a.fake != nil {
		platform = "demo"
	}
	writeJSON(w, http.StatusOK, map[string]string{"platform": platform})
}

// createSession answers POST /api/sessions {input?} with {sessionId}.
func (a *app) createSession(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Input map[string]any `json:"input"`
	}
	if r.ContentLength != 0 {
		if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&body); err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": "body must be a JSON object"})
			return
		}
	}
	id, err := a.client.AgentSessions.Create(r.Context(), a.agentID, body.Input)
	if err != nil {
		log.Printf("chat: creating a session: %v", err)
		writeJSON(w, http.StatusBadGateway, map[string]string{"error": "could not create a session"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"sessionId": id})
}

// writeJSON answers with v as JSON.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
