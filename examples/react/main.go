// Command react serves a React chat app, built on the official
// @octavus/react hook and its HTTP transport, with its API on a Go backend
// built with octavus-go.
//
//	cd examples/react && npm ci && npm run build   # the app, into dist/
//	go run ./examples/react                        # then open http://localhost:8080/
//	go run ./examples/react -addr :9000 -dist path/to/dist
//
// The app (src/App.jsx) is built with Vite into dist/, which is not
// committed: build it first. Without -dist the server looks for
// examples/react/dist from the directory it runs in (the repository, the
// examples module or examples/react itself).
//
// With OCTAVUS_API_URL and OCTAVUS_API_KEY unset it runs against a built-in
// fake platform (octavustest) with a scripted order assistant: ask "Can I
// get a refund for order 1042?" and it looks the order up with the get-order
// server tool (Go, agent.go), then asks you to confirm the refund with the
// confirm-refund client tool (the browser). Set OCTAVUS_API_URL,
// OCTAVUS_API_KEY and OCTAVUS_AGENT_ID to talk to a real agent that has
// those two tools: get-order {orderId} and confirm-refund {question}.
//
// Routes:
//
//	GET  /              the built app (dist/)
//	POST /api/sessions  creates a session of the agent -> {"sessionId": "..."}
//	POST /api/trigger   the HTTP transport's route -> SSE (octavus.AgentSessionsAPI.Handler)
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
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/octavus-go/octavus"
	"github.com/octavus-go/octavus/octavustest"
)

func main() {
	addr := flag.String("addr", envOr("ADDR", "localhost:8080"), "address to listen on (also $ADDR)")
	dist := flag.String("dist", "", "the built app (default: examples/react/dist, looked for from the working directory)")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cfg, err := configFromEnv()
	if err == nil {
		cfg.dist, err = findDist(*dist)
	}
	if err == nil {
		err = serve(ctx, cfg, *addr, os.Stdout, nil)
	}
	if err != nil {
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

// config says what the server serves and which platform it talks to. A zero
// baseURL and apiKey mean the built-in demo platform.
type config struct {
	dist                     string // the built app's directory
	baseURL, apiKey, agentID string
	pace                     time.Duration // the demo agent's pause before each word
	// hold, when not nil, stops the first text of each demo answer after
	// its first word until hold is closed: a test sees the page show a
	// partial text, whatever the machine's speed, then lets it go on.
	hold <-chan struct{}
}

// configFromEnv reads the platform from OCTAVUS_API_URL, OCTAVUS_API_KEY
// and OCTAVUS_AGENT_ID: all three, or none of the first two for the demo.
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
	if cfg.baseURL == "" || cfg.apiKey == "" || cfg.agentID == "" {
		return config{}, errors.New("set all of OCTAVUS_API_URL, OCTAVUS_API_KEY and OCTAVUS_AGENT_ID to use the Octavus platform, or unset the first two for the built-in demo")
	}
	return cfg, nil
}

// findDist returns the directory of the built app: dir when given, else the
// first of dist, react/dist and examples/react/dist (from examples/react,
// examples or the repository) that holds an index.html.
func findDist(dir string) (string, error) {
	candidates := []string{dir}
	if dir == "" {
		candidates = []string{"dist", filepath.Join("react", "dist"), filepath.Join("examples", "react", "dist")}
	}
	for _, c := range candidates {
		if _, err := os.Stat(filepath.Join(c, "index.html")); err == nil {
			return c, nil
		}
	}
	return "", fmt.Errorf("no built app (index.html) in %s: run `npm ci && npm run build` in examples/react first, or pass -dist",
		strings.Join(candidates, ", "))
}

// serve serves the app for cfg on addr until ctx is done. Once it listens it
// prints the URL to out and calls ready, when not nil, with the app and the
// URL. It returns after every request has ended.
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
	host, _, _ := net.SplitHostPort(addr)
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "localhost"
	}
	url := "http://" + net.JoinHostPort(host, fmt.Sprint(ln.Addr().(*net.TCPAddr).Port)) + "/"
	if a.fake != nil {
		fmt.Fprintf(out, "No OCTAVUS_API_URL or OCTAVUS_API_KEY set: using the built-in demo platform at %s\n", a.fake.URL)
	}
	fmt.Fprintf(out, "Serving %s at %s\n", cfg.dist, url)
	if ready != nil {
		ready(a, url)
	}
	// No WriteTimeout: it would cut the event streams, whose writer sets
	// a deadline per write itself. Close cuts open streams; their handlers
	// see their request context end, which cancels the execution.
	srv := &http.Server{Handler: a.routes(), ReadHeaderTimeout: 10 * time.Second, ReadTimeout: time.Minute}
	stop := context.AfterFunc(ctx, func() { _ = srv.Close() })
	defer stop()
	err = srv.Serve(ln)
	a.mu.Lock()
	a.closed = true // requests still arriving on open connections get 503
	a.mu.Unlock()
	a.requests.Wait()
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// app is the backend: the SDK client, the agent and, on the demo platform,
// the fake platform itself.
type app struct {
	dist    string
	client  *octavus.Client
	agentID string
	// fake is the built-in demo platform; nil against the real one.
	fake *octavustest.Server
	// done is closed by Close; the demo agent's pacing stops.
	done      chan struct{}
	closeOnce sync.Once
	// requests counts the requests being handled, for serve to wait on
	// once closed.
	mu       sync.Mutex
	closed   bool
	requests sync.WaitGroup
}

// newApp connects to the platform cfg names, starting the demo platform
// when it names none. The caller must Close the app.
func newApp(cfg config) (*app, error) {
	a := &app{dist: cfg.dist, done: make(chan struct{})}
	if cfg.baseURL == "" && cfg.apiKey == "" {
		a.fake = octavustest.NewServer()
		cfg.baseURL, cfg.apiKey = a.fake.URL, a.fake.APIKey
		cfg.agentID = a.fake.AddAgent(octavustest.Agent{
			Name:   "Order assistant",
			Script: []octavustest.Turn{newDemoAgent(cfg.pace, cfg.hold, a.done).turn()},
		})
	}
	client, err := octavus.NewClient(octavus.ClientOptions{BaseURL: cfg.baseURL, APIKey: cfg.apiKey})
	if err != nil {
		a.Close()
		return nil, fmt.Errorf("creating the octavus client: %w", err)
	}
	a.client, a.agentID = client, cfg.agentID
	return a, nil
}

// Close stops the demo platform, if any.
func (a *app) Close() {
	a.closeOnce.Do(func() {
		close(a.done)
		if a.fake != nil {
			a.fake.Close()
		}
	})
}

// routes returns the server's handler: the built app and the API.
func (a *app) routes() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /", http.FileServer(http.Dir(a.dist)))
	mux.HandleFunc("POST /api/sessions", a.createSession)
	// The HTTP transport's route: triggers and continuations alike. In a
	// real app, set Authorize to check that the signed-in user owns the
	// session.
	mux.Handle("POST /api/trigger", a.client.AgentSessions.Handler(octavus.HandlerOptions{Tools: serverTools()}))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a.mu.Lock()
		if a.closed {
			a.mu.Unlock()
			http.Error(w, "shutting down", http.StatusServiceUnavailable)
			return
		}
		a.requests.Add(1)
		a.mu.Unlock()
		defer a.requests.Done()
		// Vite's build loads its script and stylesheet from this server
		// and runs no inline code, so a strict policy fits.
		w.Header().Set("Content-Security-Policy", "default-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		mux.ServeHTTP(w, r)
	})
}

// createSession answers POST /api/sessions with {sessionId}.
func (a *app) createSession(w http.ResponseWriter, r *http.Request) {
	id, err := a.client.AgentSessions.Create(r.Context(), a.agentID, nil)
	if err != nil {
		log.Printf("react: creating a session: %v", err)
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
