package conformance

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	octavus "github.com/octavus-go/octavus"
)

// goTool builds the octavus-go handler a scenario describes.
func goTool(spec toolSpec) octavus.ToolHandler {
	return func(ctx context.Context, _ map[string]any) (any, error) {
		if spec.DelayMs > 0 {
			timer := time.NewTimer(time.Duration(spec.DelayMs) * time.Millisecond)
			defer timer.Stop()
			select {
			case <-timer.C:
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
		if spec.Error != nil {
			return nil, errors.New(*spec.Error)
		}
		if spec.Result == nil {
			return nil, nil
		}
		return json.RawMessage(spec.Result), nil
	}
}

// captureWriter is an http.ResponseWriter whose body can be read while the
// handler may still be writing (when it overran the timeout).
type captureWriter struct {
	mu     sync.Mutex
	header http.Header
	status int
	body   bytes.Buffer
}

func (w *captureWriter) Header() http.Header { return w.header }

func (w *captureWriter) WriteHeader(status int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.status == 0 {
		w.status = status
	}
}

func (w *captureWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.body.Write(p)
}

func (w *captureWriter) Flush() {}

func (w *captureWriter) bytes() []byte {
	w.mu.Lock()
	defer w.mu.Unlock()
	return bytes.Clone(w.body.Bytes())
}

// runGo plays the scenario through octavus-go against a fresh platform.
func runGo(t *testing.T, sc *scenario) run {
	t.Helper()
	p := newPlatform(t, sc.Legs)

	// Retries are off: the reference 2.0.0 does not retry, and the
	// scenarios pin its one request per leg.
	client, err := octavus.NewClient(octavus.ClientOptions{BaseURL: p.URL(), APIKey: apiKey, MaxRetries: -1})
	if err != nil {
		t.Fatalf("octavus.NewClient: %v", err)
	}
	tools := octavus.ToolHandlers{}
	for name, spec := range sc.Tools {
		tools[name] = goTool(spec)
	}
	session := client.AgentSessions.Attach(sessionID, octavus.AttachOptions{Tools: tools})
	req, err := octavus.DecodeSessionRequest(sc.Request)
	if err != nil {
		t.Fatalf("octavus.DecodeSessionRequest(%s): %v", sc.Request, err)
	}

	ctx, cancel := context.WithTimeout(t.Context(), runTimeout)
	defer cancel()
	w := &captureWriter{header: http.Header{}}
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		events := session.Execute(ctx, req)
		r := httptest.NewRequestWithContext(ctx, http.MethodPost, "/api/octavus", nil)
		octavus.ToSSEStream(events).ServeHTTP(w, r)
	}()
	select {
	case <-finished:
	case <-time.After(runTimeout + 5*time.Second):
		t.Fatalf("octavus-go did not finish within %v, even after its context was cancelled\nSSE so far:\n%s\nplatform log:\n%s",
			runTimeout, indentRaw(w.bytes()), joinLines(p.requestLog()))
	}
	if ctx.Err() != nil {
		t.Fatalf("octavus-go did not finish within %v\nSSE so far:\n%s\nplatform log:\n%s",
			runTimeout, indentRaw(w.bytes()), joinLines(p.requestLog()))
	}
	return run{
		sse:    w.bytes(),
		bodies: p.triggerBodies(),
		log:    p.requestLog(),
	}
}
