package octavus

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

// fakePlatform is a scripted platform over real HTTP for this package's
// tests: each POST to /trigger is answered by the next leg, and every
// request is recorded. REST routes are added with handle.
type fakePlatform struct {
	t   *testing.T
	srv *httptest.Server

	mu       sync.Mutex
	legs     []http.HandlerFunc
	requests []recorded
	routes   map[string]http.HandlerFunc
}

// recorded is one request the fake received.
type recorded struct {
	Method, Path, RawPath, Query string
	Header                       http.Header
	Body                         []byte
}

const testKey = "test-key"

func newFakePlatform(t *testing.T) *fakePlatform {
	t.Helper()
	f := &fakePlatform{t: t, routes: map[string]http.HandlerFunc{}}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakePlatform) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	f.requests = append(f.requests, recorded{r.Method, r.URL.Path, r.URL.RawPath, r.URL.RawQuery, r.Header.Clone(), body})
	var h http.HandlerFunc
	if r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/trigger") {
		if len(f.legs) > 0 {
			h, f.legs = f.legs[0], f.legs[1:]
		} else {
			h = statusLeg(500, `{"error":"unexpected request"}`)
		}
	} else {
		h = f.routes[r.Method+" "+r.URL.EscapedPath()]
	}
	f.mu.Unlock()
	if h == nil {
		http.Error(w, `{"error":"no route"}`, http.StatusNotFound)
		return
	}
	h(w, r)
}

// client returns a Client for the fake with the test key.
func (f *fakePlatform) client(t *testing.T) *Client {
	t.Helper()
	c, err := NewClient(ClientOptions{BaseURL: f.srv.URL, APIKey: testKey, HTTPClient: f.srv.Client(), MaxRetries: -1})
	require.NoError(t, err)
	return c
}

// addLegs queues answers for the next POSTs to /trigger.
func (f *fakePlatform) addLegs(legs ...http.HandlerFunc) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.legs = append(f.legs, legs...)
}

// handle answers "METHOD /escaped/path" with h.
func (f *fakePlatform) handle(route string, h http.HandlerFunc) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.routes[route] = h
}

// reqs returns a copy of the recorded requests.
func (f *fakePlatform) reqs() []recorded {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]recorded(nil), f.requests...)
}

// triggerBodies returns the JSON bodies of the POSTs to /trigger, in order.
func (f *fakePlatform) triggerBodies() []string {
	var out []string
	for _, r := range f.reqs() {
		if r.Method == http.MethodPost && strings.HasSuffix(r.Path, "/trigger") {
			out = append(out, string(r.Body))
		}
	}
	return out
}

// eventsLeg answers with the events (JSON texts) as SSE, then [DONE].
func eventsLeg(events ...string) http.HandlerFunc {
	var b strings.Builder
	for _, e := range events {
		b.WriteString("data: " + e + "\n\n")
	}
	b.WriteString("data: [DONE]\n\n")
	return rawLeg(b.String())
}

// rawLeg answers 200 with body verbatim as an event stream.
func rawLeg(body string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		_, _ = io.WriteString(w, body)
	}
}

// statusLeg answers status with a JSON body.
func statusLeg(status int, body string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}
}

// jsonRoute answers 200 with body as JSON.
func jsonRoute(body string) http.HandlerFunc {
	return statusLeg(http.StatusOK, body)
}

// collect reads every event of ch.
func collect(ch <-chan StreamEvent) []StreamEvent {
	var out []StreamEvent
	for ev := range ch {
		out = append(out, ev)
	}
	return out
}

// wireJSON marshals events to their wire JSON texts.
func wireJSON(t *testing.T, events []StreamEvent) []string {
	t.Helper()
	out := make([]string, len(events))
	for i, ev := range events {
		b, err := json.Marshal(ev)
		require.NoError(t, err)
		out[i] = string(b)
	}
	return out
}

// requireJSONList compares two lists of JSON texts item by item, semantically.
func requireJSONList(t *testing.T, want, got []string) {
	t.Helper()
	require.Len(t, got, len(want), "got:\n%s", strings.Join(got, "\n"))
	for i := range want {
		require.JSONEq(t, want[i], got[i], "item %d", i)
	}
}
