// Command replica is one app-server replica of the multi-replica tests of
// redisstore: an octavus.Executions on a Redis store, served by
// octavus.NewPollingHandler under /api/chat/, and the plain HTTP
// transport's POST /api/trigger, with one server tool, "record", that
// reports each of its runs to the test and answers {"name": "Ada"}.
//
// It is configured by its environment:
//
//	OCTAVUS_API_URL, OCTAVUS_API_KEY  the platform (an octavustest server)
//	REDIS_SOCKET                      the unix socket of redis-server
//	REDIS_PREFIX                      the store's key prefix
//	REPLICA_OWNER                     the replica's name in the store
//	REPLICA_LEASE                     the executions' lease (a Go duration)
//	RECORD_URL                        where "record" POSTs each run
//	OCTAVUS_AGENT_ID                  optional: POST /api/sessions creates
//	                                  a session of this agent
//
// It prints "Listening on http://127.0.0.1:<port>" once it accepts
// requests, and shuts down on SIGINT or SIGTERM.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/octavus-go/octavus"
	"github.com/octavus-go/octavus/redisstore"
	"github.com/redis/go-redis/v9"
)

func main() {
	if err := run(); err != nil {
		log.Fatal(err)
	}
}

// Record is what the record tool POSTs to RECORD_URL.
type Record struct {
	Owner string         `json:"owner"`
	Args  map[string]any `json:"args"`
}

func run() error {
	owner := os.Getenv("REPLICA_OWNER")
	lease, err := time.ParseDuration(os.Getenv("REPLICA_LEASE"))
	if err != nil {
		return fmt.Errorf("REPLICA_LEASE: %w", err)
	}
	recordURL := os.Getenv("RECORD_URL")

	rdb := redis.NewClient(&redis.Options{Network: "unix", Addr: os.Getenv("REDIS_SOCKET")})
	defer rdb.Close()
	store := redisstore.New(rdb, redisstore.Options{Prefix: os.Getenv("REDIS_PREFIX")})
	defer store.Close()

	client, err := octavus.NewClient(octavus.ClientOptions{BaseURL: os.Getenv("OCTAVUS_API_URL"), APIKey: os.Getenv("OCTAVUS_API_KEY")})
	if err != nil {
		return err
	}
	tools := octavus.ToolHandlers{
		"record": func(ctx context.Context, args map[string]any) (any, error) {
			body, err := json.Marshal(Record{Owner: owner, Args: args})
			if err != nil {
				return nil, err
			}
			req, err := http.NewRequestWithContext(ctx, http.MethodPost, recordURL, bytes.NewReader(body))
			if err != nil {
				return nil, err
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				return nil, fmt.Errorf("record: %w", err)
			}
			resp.Body.Close()
			// The same on every replica: the browser's messages must not
			// tell which ran it.
			return map[string]any{"name": "Ada"}, nil
		},
	}
	execs := octavus.NewExecutions(client, octavus.ExecutionsOptions{
		Store: store,
		Owner: owner,
		Lease: lease,
		Tools: tools,
	})

	mux := http.NewServeMux()
	mux.Handle("/api/chat/", octavus.NewPollingHandler(execs, octavus.PollingOptions{PollWait: 2 * time.Second}))
	mux.Handle("POST /api/trigger", client.AgentSessions.Handler(octavus.HandlerOptions{Tools: tools}))
	if agentID := os.Getenv("OCTAVUS_AGENT_ID"); agentID != "" {
		mux.HandleFunc("POST /api/sessions", func(w http.ResponseWriter, r *http.Request) {
			id, err := client.AgentSessions.Create(r.Context(), agentID, map[string]any{})
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadGateway)
				return
			}
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(map[string]string{"sessionId": id})
		})
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	fmt.Printf("Listening on http://%s\n", ln.Addr())

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	select {
	case <-sig:
	case err := <-served:
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		return err
	}
	if err := execs.Shutdown(ctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return nil
}
