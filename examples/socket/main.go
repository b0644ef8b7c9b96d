// Command socket is a net/http server with a WebSocket endpoint for the
// Octavus socket transport (@octavus/client-sdk's createSocketTransport):
// GET /ws upgrades to a WebSocket (github.com/coder/websocket) served by
// octavus.ServeSocket, GET / is a bare-bones chat page to try it.
//
//	go run ./examples/socket
//
// It follows the docs' recommended pattern, server-managed sessions: the
// browser never sees a session id, the server creates the session on the
// first trigger of a connection. The docs' client-provided session ids work
// too: a browser that sends {"type":"init","sessionId":"..."} first gets
// that session attached (check there that the user owns it).
//
// With OCTAVUS_API_URL unset it runs against a built-in scripted fake
// platform (octavustest), so it works with no account: ask "Who am I?" (a
// server tool), "Upgrade me" (a client tool the page answers), or for a
// story (a slow stream to stop). Set OCTAVUS_API_URL, OCTAVUS_API_KEY and
// OCTAVUS_AGENT_ID to talk to the real platform.
package main

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/coder/websocket"
	"github.com/octavus-go/octavus"
	"github.com/octavus-go/octavus/octavustest"
)

func main() {
	addr := flag.String("addr", envOr("ADDR", "localhost:8080"), "address to listen on")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, *addr, os.Stdout); err != nil {
		log.Fatal(err)
	}
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

// config is where the platform is and which agent to use.
type config struct {
	baseURL, apiKey, agentID string
	// maxRetries is ClientOptions.MaxRetries, from OCTAVUS_MAX_RETRIES
	// (-1 turns retries off).
	maxRetries int
}

// run serves on addr until ctx is done, then closes the open sockets and
// waits for them. It prints the URL once it listens.
func run(ctx context.Context, addr string, out io.Writer) error {
	cfg := config{
		baseURL: os.Getenv("OCTAVUS_API_URL"),
		apiKey:  os.Getenv("OCTAVUS_API_KEY"),
		agentID: os.Getenv("OCTAVUS_AGENT_ID"),
	}
	if v := os.Getenv("OCTAVUS_MAX_RETRIES"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			return fmt.Errorf("OCTAVUS_MAX_RETRIES=%q is not a number", v)
		}
		cfg.maxRetries = n
	}
	if cfg.baseURL == "" {
		fake := startFakePlatform()
		defer fake.Close()
		cfg.baseURL, cfg.apiKey = fake.URL, fake.APIKey
		cfg.agentID = fake.AddAgent(octavustest.Agent{Name: "Demo assistant"})
		fmt.Fprintf(out, "No OCTAVUS_API_URL set: using a scripted fake platform at %s\n", fake.URL)
	}
	if cfg.agentID == "" {
		return errors.New("set OCTAVUS_AGENT_ID to the agent to chat with")
	}
	client, err := octavus.NewClient(octavus.ClientOptions{BaseURL: cfg.baseURL, APIKey: cfg.apiKey, MaxRetries: cfg.maxRetries})
	if err != nil {
		return err
	}

	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	var sockets tracker
	srv := &http.Server{
		Handler: newMux(client, cfg.agentID, &sockets),
		// Every request's context ends with ctx: the sockets, which
		// http.Server neither closes nor waits for, end with it.
		BaseContext: func(net.Listener) context.Context { return ctx },
		// A browser that trickles its headers or body is cut off; the
		// deadlines are lifted from a WebSocket once it is hijacked. No
		// WriteTimeout: it would cut the event streams.
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       time.Minute,
	}
	go func() {
		<-ctx.Done()
		_ = srv.Close()
	}()

	url := "http://" + ln.Addr().String()
	fmt.Fprintf(out, "Listening on %s\n", url)
	fmt.Fprintf(out, "Open it in a browser, or connect a WebSocket to ws://%s/ws and send\n  %s\n",
		ln.Addr(), `{"type":"trigger","triggerName":"user-message","input":{"USER_MESSAGE":"Who am I?"}}`)

	err = srv.Serve(ln)
	sockets.closeAndWait()
	if err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

//go:embed index.html
var page []byte

// newMux wires the chat page and the WebSocket endpoint.
func newMux(client *octavus.Client, agentID string, sockets *tracker) *http.ServeMux {
	attach := octavus.AttachOptions{
		Tools: octavus.ToolHandlers{
			// A server tool: it runs here, and its result goes back to
			// the agent without a round trip to the browser. Tools
			// without a handler (confirm-with-user) go to the browser.
			"get-user-account": func(ctx context.Context, args map[string]any) (any, error) {
				return map[string]any{"name": "Demo User", "plan": "pro"}, nil
			},
		},
	}
	// session gives ServeSocket the connection's session: created on the
	// first trigger, or the one an init message names.
	session := func(ctx context.Context, sessionID string) (*octavus.AgentSession, error) {
		if sessionID != "" {
			// In a real app, check here that the signed-in user owns
			// sessionID; return &octavus.RequestError{Status: 403, ...}
			// otherwise.
			return client.AgentSessions.Attach(sessionID, attach), nil
		}
		id, err := client.AgentSessions.Create(ctx, agentID, map[string]any{"COMPANY_NAME": "Acme Corp"})
		if err != nil {
			log.Printf("create session: %v", err)
			return nil, err
		}
		return client.AgentSessions.Attach(id, attach), nil
	}

	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write(page)
	})
	mux.HandleFunc("GET /ws", func(w http.ResponseWriter, r *http.Request) {
		if !sockets.add() {
			http.Error(w, "shutting down", http.StatusServiceUnavailable)
			return
		}
		defer sockets.done()
		// Accept refuses pages of other origins; list yours in
		// AcceptOptions.OriginPatterns when the page is served elsewhere.
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			return // Accept has answered
		}
		defer c.CloseNow()
		// The limit of ServeSocket (SocketOptions.MaxMessageSize); it refuses a
		// larger message itself, but coder/websocket's default (32 KiB)
		// would close the socket on a continue with large tool results.
		c.SetReadLimit(octavus.DefaultMaxContinueBody + 1)
		err = octavus.ServeSocket(r.Context(), wsConn{c}, session)
		// nil: the browser closed the socket. net.ErrClosed: it left
		// while an answer was being written. A done context: shutdown.
		if err != nil && !errors.Is(err, net.ErrClosed) && r.Context().Err() == nil {
			log.Printf("socket: %v", err)
		}
	})
	return mux
}

// wsConn adapts a *websocket.Conn to octavus.SocketConn.
type wsConn struct{ c *websocket.Conn }

// Read returns the next message; io.EOF when the browser closed the socket
// (a page closes it with no status or 1000, leaving it with 1001) or the
// connection ended without a close frame.
func (w wsConn) Read(ctx context.Context) ([]byte, error) {
	_, msg, err := w.c.Read(ctx)
	if err != nil {
		switch websocket.CloseStatus(err) {
		case websocket.StatusNormalClosure, websocket.StatusGoingAway, websocket.StatusNoStatusRcvd:
			return nil, io.EOF
		}
		if errors.Is(err, io.EOF) {
			return nil, io.EOF
		}
		return nil, err
	}
	return msg, nil
}

// Write sends msg as one text message, or nothing once ctx is done:
// coder/websocket may still write on a done ctx (it picks at random
// between its write lock and ctx.Done).
func (w wsConn) Write(ctx context.Context, msg []byte) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return w.c.Write(ctx, websocket.MessageText, msg)
}

// tracker counts the open sockets so that run can wait for them:
// http.Server does not wait for hijacked connections.
type tracker struct {
	mu     sync.Mutex
	wg     sync.WaitGroup
	closed bool
}

// add counts one more socket, or reports false once closeAndWait began.
func (t *tracker) add() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return false
	}
	t.wg.Add(1)
	return true
}

func (t *tracker) done() { t.wg.Done() }

// closeAndWait refuses new sockets and waits for the open ones to end.
func (t *tracker) closeAndWait() {
	t.mu.Lock()
	t.closed = true
	t.mu.Unlock()
	t.wg.Wait()
}

// startFakePlatform starts a scripted platform whose agent answers by what
// the user asks: "who am I" calls the server tool get-user-account, an
// upgrade asks the browser with the client tool confirm-with-user, a story
// streams slowly (one word every storyDelay, to press stop), anything else
// gets a greeting.
func startFakePlatform() *octavustest.Server {
	return octavustest.NewServer(octavustest.WithScript(octavustest.Repeat(
		octavustest.Respond(func(req octavustest.TriggerRequest) octavustest.Turn {
			for _, r := range req.ToolResults {
				switch {
				case r.ToolName == "get-user-account":
					account, _ := r.Result.(map[string]any)
					return octavustest.Stream(octavustest.Text(
						"You are ", fmt.Sprint(account["name"]), " on the ", fmt.Sprint(account["plan"]), " plan.",
					))
				case r.ToolName == "confirm-with-user" && r.Error != "":
					return octavustest.Stream(octavustest.Text("Okay, I will not: ", r.Error))
				case r.ToolName == "confirm-with-user":
					answer, _ := r.Result.(map[string]any)
					return octavustest.Stream(octavustest.Text(fmt.Sprintf("Confirmed: %v.", answer["confirmed"])))
				}
			}
			message, _ := req.Input["USER_MESSAGE"].(string)
			switch message = strings.ToLower(message); {
			case strings.Contains(message, "who am i"):
				return octavustest.Stream(
					octavustest.Text("Let me look you up."),
					octavustest.ToolCall{Name: "get-user-account"},
				)
			case strings.Contains(message, "upgrade"):
				return octavustest.Stream(
					octavustest.Text("I need your confirmation."),
					octavustest.ToolCall{Name: "confirm-with-user", Args: map[string]any{"question": "Upgrade to the pro plan?"}},
				)
			case strings.Contains(message, "story"):
				return slowStory()
			}
			return octavustest.Stream(octavustest.Text(`Hello! Ask me "Who am I?", "Upgrade me" or for a story.`))
		}),
	)))
}

// storyDelay is the pace of the story: slow enough to press stop.
const storyDelay = 150 * time.Millisecond

const story = "Once upon a time a gopher wrote a server that spoke to agents over a socket. " +
	"Every word it received it passed on at once, and when the reader said stop, it stopped, " +
	"closed the request to the platform and was ready for the next question straight away. " +
	"The end."

// slowStory streams the story one word every storyDelay, until the end or
// until the server goes away (stop).
func slowStory() octavustest.Turn {
	return octavustest.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		send := func(ev map[string]any) {
			b, _ := json.Marshal(ev)
			_, _ = fmt.Fprintf(w, "data: %s\n\n", b)
			_ = http.NewResponseController(w).Flush()
		}
		send(map[string]any{"type": "start", "messageId": "msg_story", "executionId": "exec_story"})
		send(map[string]any{"type": "text-start", "id": "story"})
		tick := time.NewTicker(storyDelay)
		defer tick.Stop()
		for i, word := range strings.Fields(story) {
			if i > 0 {
				select {
				case <-tick.C:
				case <-r.Context().Done():
					return
				}
				word = " " + word
			}
			send(map[string]any{"type": "text-delta", "id": "story", "delta": word})
		}
		send(map[string]any{"type": "text-end", "id": "story"})
		send(map[string]any{"type": "finish", "finishReason": "stop", "executionId": "exec_story"})
		_, _ = io.WriteString(w, "data: [DONE]\n\n")
	}))
}
