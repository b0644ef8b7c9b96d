// Command nethttp is a net/http server with the routes of the Octavus HTTP
// transport: POST /api/sessions creates a session, POST /api/trigger streams
// an agent's answer as Server-Sent Events, running the server tool
// get-user-account on the way.
//
//	go run ./examples/nethttp
//
// With OCTAVUS_API_URL unset it runs against a built-in scripted fake
// platform (octavustest), so it works with no account. Set OCTAVUS_API_URL,
// OCTAVUS_API_KEY and OCTAVUS_AGENT_ID to talk to the real platform.
package main

import (
	"context"
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
	"syscall"
	"time"

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
	// (-1 turns retries off, as the official SDK 2.0.0 behaves).
	maxRetries int
}

// run serves on addr until ctx is done. It prints the URL and a curl line
// to out once it listens.
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
	srv := &http.Server{
		Handler: newMux(client, cfg.agentID),
		// A browser that trickles its headers or body is cut off (Handler
		// also bounds the body itself: HandlerOptions.BodyReadTimeout).
		// No WriteTimeout: it would cut the event streams, whose writer
		// sets a deadline per write itself (SSEOptions.WriteTimeout).
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       time.Minute,
	}
	go func() {
		<-ctx.Done()
		_ = srv.Close()
	}()

	// A session ready for the curl line below.
	sessionID, err := client.AgentSessions.Create(ctx, cfg.agentID, map[string]any{"COMPANY_NAME": "Acme Corp"})
	if err != nil {
		_ = ln.Close()
		return fmt.Errorf("creating a demo session: %w", err)
	}
	url := "http://" + ln.Addr().String()
	fmt.Fprintf(out, "Listening on %s\n", url)
	fmt.Fprintf(out, "Try:\n  curl -N -X POST %s/api/trigger -H 'Content-Type: application/json' -d '{\"sessionId\":%q,\"type\":\"trigger\",\"triggerName\":\"user-message\",\"input\":{\"USER_MESSAGE\":\"Who am I?\"}}'\n", url, sessionID)

	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// newMux wires the two routes of the HTTP transport.
func newMux(client *octavus.Client, agentID string) *http.ServeMux {
	tools := octavus.ToolHandlers{
		// A server tool: it runs here, and its result goes back to the
		// agent without a round trip to the browser.
		"get-user-account": func(ctx context.Context, args map[string]any) (any, error) {
			return map[string]any{"name": "Demo User", "plan": "pro"}, nil
		},
	}

	mux := http.NewServeMux()
	// POST /api/sessions {input?} -> {sessionId}
	mux.HandleFunc("POST /api/sessions", func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			Input map[string]any `json:"input"`
		}
		if r.ContentLength != 0 {
			if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&body); err != nil {
				http.Error(w, `{"error":"body must be JSON"}`, http.StatusBadRequest)
				return
			}
		}
		id, err := client.AgentSessions.Create(r.Context(), agentID, body.Input)
		if err != nil {
			log.Printf("create session: %v", err)
			http.Error(w, `{"error":"could not create a session"}`, http.StatusBadGateway)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]string{"sessionId": id})
	})
	// POST /api/trigger {sessionId, type, ...} -> text/event-stream. In a
	// real app, set HandlerOptions.Authorize to check that the signed-in
	// user owns the session.
	mux.Handle("POST /api/trigger", client.AgentSessions.Handler(octavus.HandlerOptions{Tools: tools}))
	return mux
}

// startFakePlatform starts a scripted platform whose agent looks the user up
// with the get-user-account tool, then answers with what it found.
func startFakePlatform() *octavustest.Server {
	return octavustest.NewServer(octavustest.WithScript(octavustest.Repeat(
		octavustest.Respond(func(req octavustest.TriggerRequest) octavustest.Turn {
			if len(req.ToolResults) == 0 {
				return octavustest.Stream(
					octavustest.Text("Let me look you up."),
					octavustest.ToolCall{Name: "get-user-account"},
				)
			}
			account, _ := req.ToolResults[0].Result.(map[string]any)
			return octavustest.Stream(octavustest.Text(
				"You are ", fmt.Sprint(account["name"]), " on the ", fmt.Sprint(account["plan"]), " plan.",
			))
		}),
	)))
}
