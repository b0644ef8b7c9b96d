package octavus

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// roundTripFunc is an http.RoundTripper made of a function.
type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// captureClient returns a Client whose requests go to a recording
// transport that answers every request with status and body.
func captureClient(t *testing.T, opts ClientOptions, status int, body string) (*Client, func() []*http.Request) {
	t.Helper()
	var mu sync.Mutex
	var got []*http.Request
	opts.HTTPClient = &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		mu.Lock()
		got = append(got, r)
		mu.Unlock()
		return &http.Response{
			StatusCode: status,
			Status:     fmt.Sprintf("%d %s", status, http.StatusText(status)),
			Header:     http.Header{"Content-Type": {"application/json"}},
			Body:       io.NopCloser(strings.NewReader(body)),
			Request:    r,
		}, nil
	})}
	c, err := NewClient(opts)
	require.NoError(t, err)
	return c, func() []*http.Request {
		mu.Lock()
		defer mu.Unlock()
		return append([]*http.Request(nil), got...)
	}
}

func TestNewClientRejectsBadBaseURL(t *testing.T) {
	cases := []struct{ name, base string }{
		{"empty", ""},
		{"unparsable", "http://[::1"},
		{"bad escape", "http://example.com/%zz"},
		{"relative path", "/api"},
		{"no scheme", "example.com"},
		{"host and port without scheme", "localhost:8080"},
		{"scheme without host", "http:///path"},
		{"ftp scheme", "ftp://example.com"},
		{"ws scheme", "ws://example.com"},
		{"query", "https://example.com?x=1"},
		{"query after path", "https://example.com/base?x=1"},
		{"empty query", "https://example.com?"},
		{"fragment", "https://example.com#frag"},
		{"empty fragment", "https://example.com#"},
		{"only slash", "/"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := NewClient(ClientOptions{BaseURL: tc.base, APIKey: "sk-secret-key"})
			require.Error(t, err)
			require.Nil(t, c)
			require.NotContains(t, err.Error(), "sk-secret-key")
		})
	}
}

func TestNewClientAcceptsHTTPAndHTTPS(t *testing.T) {
	for _, base := range []string{"http://localhost:3000", "https://octavus.ai", "HTTPS://octavus.ai", "https://example.com/prefix"} {
		c, err := NewClient(ClientOptions{BaseURL: base})
		require.NoError(t, err, base)
		require.NotNil(t, c.Agents)
		require.NotNil(t, c.AgentSessions)
		require.NotNil(t, c.Files)
	}
}

func TestClientTrimsOneTrailingSlash(t *testing.T) {
	cases := []struct{ base, wantURL string }{
		{"https://octavus.example", "https://octavus.example/api/agents"},
		{"https://octavus.example/", "https://octavus.example/api/agents"},
		{"https://octavus.example/prefix/", "https://octavus.example/prefix/api/agents"},
		// Only one slash goes, as the reference's replace(/\/$/, "").
		{"https://octavus.example//", "https://octavus.example//api/agents"},
		{"https://octavus.example/prefix//", "https://octavus.example/prefix//api/agents"},
	}
	for _, tc := range cases {
		t.Run(tc.base, func(t *testing.T) {
			c, reqs := captureClient(t, ClientOptions{BaseURL: tc.base}, 200, `{"agents":[]}`)
			_, err := c.Agents.List(context.Background())
			require.NoError(t, err)
			require.Len(t, reqs(), 1)
			require.Equal(t, tc.wantURL, reqs()[0].URL.String())
		})
	}
}

// everyCall runs each REST call of c once and returns their errors by name.
func everyCall(c *Client) map[string]error {
	ctx := context.Background()
	out := map[string]error{}
	_, out["Agents.List"] = c.Agents.List(ctx)
	_, out["Agents.Get"] = c.Agents.Get(ctx, "agent_1")
	_, out["AgentSessions.Create"] = c.AgentSessions.Create(ctx, "agent_1", map[string]any{"k": "v"})
	_, out["AgentSessions.Get"] = c.AgentSessions.Get(ctx, "sess_1")
	_, out["AgentSessions.GetMessages"] = c.AgentSessions.GetMessages(ctx, "sess_1")
	_, out["AgentSessions.Restore"] = c.AgentSessions.Restore(ctx, "sess_1", nil, nil)
	_, out["Files.GetUploadURLs"] = c.Files.GetUploadURLs(ctx, "sess_1", []FileUploadRequest{{Filename: "a.txt", MediaType: "text/plain", Size: 1}})
	return out
}

// everyNewCall runs each REST call 6.4.0 added to the client once and
// returns their errors by name.
func everyNewCall(c *Client) map[string]error {
	ctx := context.Background()
	out := map[string]error{}
	_, out["AgentSessions.Clear"] = c.AgentSessions.Clear(ctx, "sess_1")
	_, out["AgentSessions.GetLogs"] = c.AgentSessions.GetLogs(ctx, "sess_1", GetLogsOptions{})
	_, out["Tokens.Mint"] = c.Tokens.Mint(ctx, MintTokenRequest{AgentID: "agent_1"})
	_, out["Tokens.Revoke"] = c.Tokens.Revoke(ctx, "oct_et_x")
	return out
}

func TestClientHeadersOnEveryRequest(t *testing.T) {
	c, reqs := captureClient(t, ClientOptions{BaseURL: "https://octavus.example", APIKey: "sk-abc"}, 500, `{}`)
	errs := everyCall(c)
	require.Len(t, errs, 7)
	for name, err := range everyNewCall(c) {
		errs[name] = err
	}
	got := reqs()
	require.Len(t, got, 11)
	for _, r := range got {
		require.Equal(t, "Bearer sk-abc", r.Header.Get("Authorization"), r.URL.Path)
		require.Equal(t, []string{"application/json"}, r.Header.Values("Content-Type"), r.URL.Path)
		require.Equal(t, "octavus-go/"+Version, r.Header.Get("User-Agent"), r.URL.Path)
	}
	require.Regexp(t, `^\d+\.\d+\.\d+`, Version)
}

func TestClientNoAuthorizationWithoutKey(t *testing.T) {
	c, reqs := captureClient(t, ClientOptions{BaseURL: "https://octavus.example"}, 500, `{}`)
	everyCall(c)
	everyNewCall(c)
	got := reqs()
	require.Len(t, got, 11)
	for _, r := range got {
		_, has := r.Header["Authorization"]
		require.False(t, has, r.URL.Path)
		require.Equal(t, "application/json", r.Header.Get("Content-Type"), r.URL.Path)
	}
}

func TestClientHeadersOverRealHTTP(t *testing.T) {
	f := newFakePlatform(t)
	f.handle("GET /api/agents", jsonRoute(`{"agents":[]}`))
	_, err := f.client(t).Agents.List(context.Background())
	require.NoError(t, err)
	got := f.reqs()
	require.Len(t, got, 1)
	require.Equal(t, "Bearer "+testKey, got[0].Header.Get("Authorization"))
	require.Equal(t, "application/json", got[0].Header.Get("Content-Type"))
	require.True(t, strings.HasPrefix(got[0].Header.Get("User-Agent"), "octavus-go/"))
}

func TestClientCopiesGivenHTTPClient(t *testing.T) {
	var used bool
	tr := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		used = true
		return &http.Response{StatusCode: 200, Status: "200 OK", Header: http.Header{},
			Body: io.NopCloser(strings.NewReader(`{"agents":[]}`)), Request: r}, nil
	})
	given := &http.Client{Transport: tr}
	c, err := NewClient(ClientOptions{BaseURL: "https://octavus.example", APIKey: "k", HTTPClient: given})
	require.NoError(t, err)
	require.Nil(t, given.CheckRedirect, "the given client must not be modified")
	require.Nil(t, given.Jar)
	require.Zero(t, given.Timeout)
	require.NotSame(t, given, c.hc)
	require.NotNil(t, c.hc.CheckRedirect)

	_, err = c.Agents.List(context.Background())
	require.NoError(t, err)
	require.True(t, used, "the given client's transport must be used")
}

func TestClientKeepsGivenCheckRedirect(t *testing.T) {
	var calls int
	var sawAuth []string
	given := &http.Client{CheckRedirect: func(req *http.Request, via []*http.Request) error {
		calls++
		sawAuth = append(sawAuth, req.Header.Get("Authorization"))
		return http.ErrUseLastResponse
	}}
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("the redirect must not be followed: %s", r.URL)
	}))
	defer other.Close()
	first := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.URL+r.URL.Path, http.StatusTemporaryRedirect)
	}))
	defer first.Close()

	c, err := NewClient(ClientOptions{BaseURL: first.URL, APIKey: "sk-redirect", HTTPClient: given})
	require.NoError(t, err)
	_, err = c.Agents.List(context.Background())
	var apiErr *APIError
	require.ErrorAs(t, err, &apiErr)
	require.Equal(t, http.StatusTemporaryRedirect, apiErr.Status)
	require.Equal(t, 1, calls)
	// The user's check sees the request as it would be sent: without the key.
	require.Equal(t, []string{""}, sawAuth)
}

// headerRecorder is a server that records the headers of each request and
// answers an empty agent list.
type headerRecorder struct {
	mu      sync.Mutex
	headers []http.Header
	paths   []string
	bodies  []string
	srv     *httptest.Server
}

func newHeaderRecorder(t *testing.T, answer string) *headerRecorder {
	h := &headerRecorder{}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		h.mu.Lock()
		h.headers = append(h.headers, r.Header.Clone())
		h.paths = append(h.paths, r.URL.Path)
		h.bodies = append(h.bodies, string(b))
		h.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, answer)
	}))
	t.Cleanup(h.srv.Close)
	return h
}

func TestClientRedirectToOtherHostDropsAuthorization(t *testing.T) {
	target := newHeaderRecorder(t, `{"agents":[]}`)
	var firstAuth []string
	first := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		target.mu.Lock()
		firstAuth = append(firstAuth, r.Header.Get("Authorization"))
		target.mu.Unlock()
		http.Redirect(w, r, target.srv.URL+r.URL.Path, http.StatusTemporaryRedirect)
	}))
	defer first.Close()
	// Both servers listen on 127.0.0.1 with different ports: Go's own rule
	// (same domain keeps the header) would forward the key.
	require.NotEqual(t, first.Listener.Addr().String(), target.srv.Listener.Addr().String())

	c, err := NewClient(ClientOptions{BaseURL: first.URL, APIKey: "sk-cross-host"})
	require.NoError(t, err)
	agents, err := c.Agents.List(context.Background())
	require.NoError(t, err)
	require.Empty(t, agents)

	target.mu.Lock()
	defer target.mu.Unlock()
	require.Equal(t, []string{"Bearer sk-cross-host"}, firstAuth)
	require.Len(t, target.headers, 1)
	require.Equal(t, "/api/agents", target.paths[0])
	_, has := target.headers[0]["Authorization"]
	require.False(t, has, "the API key went to another host")
	require.Equal(t, "application/json", target.headers[0].Get("Content-Type"))
}

func TestClientRedirectOfPOSTToOtherHostDropsAuthorization(t *testing.T) {
	target := newHeaderRecorder(t, `{"sessionId":"sess_9"}`)
	first := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, target.srv.URL+r.URL.Path, http.StatusPermanentRedirect)
	}))
	defer first.Close()

	c, err := NewClient(ClientOptions{BaseURL: first.URL, APIKey: "sk-cross-post"})
	require.NoError(t, err)
	id, err := c.AgentSessions.Create(context.Background(), "agent_1", nil)
	require.NoError(t, err)
	require.Equal(t, "sess_9", id)

	target.mu.Lock()
	defer target.mu.Unlock()
	require.Len(t, target.headers, 1)
	require.Empty(t, target.headers[0].Values("Authorization"))
	require.JSONEq(t, `{"agentId":"agent_1"}`, target.bodies[0])
}

func TestClientRedirectToSameHostKeepsAuthorization(t *testing.T) {
	var mu sync.Mutex
	var seen []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.URL.Path+" "+r.Header.Get("Authorization"))
		mu.Unlock()
		if r.URL.Path == "/api/agents" {
			http.Redirect(w, r, "/moved/api/agents", http.StatusTemporaryRedirect)
			return
		}
		_, _ = io.WriteString(w, `{"agents":[]}`)
	}))
	defer srv.Close()

	c, err := NewClient(ClientOptions{BaseURL: srv.URL, APIKey: "sk-same-host"})
	require.NoError(t, err)
	_, err = c.Agents.List(context.Background())
	require.NoError(t, err)
	mu.Lock()
	defer mu.Unlock()
	require.Equal(t, []string{"/api/agents Bearer sk-same-host", "/moved/api/agents Bearer sk-same-host"}, seen)
}

func TestClientRedirectLoopStops(t *testing.T) {
	var mu sync.Mutex
	n := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		n++
		mu.Unlock()
		http.Redirect(w, r, r.URL.Path, http.StatusFound)
	}))
	defer srv.Close()
	c, err := NewClient(ClientOptions{BaseURL: srv.URL, APIKey: "sk-loop-key"})
	require.NoError(t, err)
	_, err = c.Agents.List(context.Background())
	require.Error(t, err)
	require.NotContains(t, err.Error(), "sk-loop-key")
	mu.Lock()
	defer mu.Unlock()
	require.Equal(t, 10, n)
}

const secretKey = "sk-live-SECRET-0123456789"

func TestAPIKeyNotInErrorsConnectionRefused(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	base := srv.URL
	srv.Close() // nothing listens there any more

	c, err := NewClient(ClientOptions{BaseURL: base, APIKey: secretKey})
	require.NoError(t, err)
	c.sleep = func(context.Context, time.Duration) error { return nil } // connection refused is retried
	errs := everyCall(c)
	require.Len(t, errs, 7)
	for name, err := range errs {
		require.Error(t, err, name)
		var apiErr *APIError
		require.False(t, errors.As(err, &apiErr), name)
		require.NotContains(t, err.Error(), secretKey, name)
		require.NotContains(t, err.Error(), "SECRET", name)
	}
}

func TestAPIKeyNotInErrorsNon2xx(t *testing.T) {
	bodies := []string{`{"error":"Invalid API key"}`, `not json`, ``, `{"message":"nope","code":"AUTH"}`}
	for _, body := range bodies {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = io.WriteString(w, body)
		}))
		c, err := NewClient(ClientOptions{BaseURL: srv.URL, APIKey: secretKey})
		require.NoError(t, err)
		errs := everyCall(c)
		srv.Close()
		require.Len(t, errs, 7)
		for name, err := range errs {
			var apiErr *APIError
			require.ErrorAs(t, err, &apiErr, name)
			require.Equal(t, 401, apiErr.Status)
			require.NotContains(t, err.Error(), secretKey, name)
			require.NotContains(t, apiErr.Message, secretKey, name)
		}
	}
}

func TestAPIKeyNotInErrorsBadAnswer(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, `<html>proxy page</html>`)
	}))
	defer srv.Close()
	c, err := NewClient(ClientOptions{BaseURL: srv.URL, APIKey: secretKey})
	require.NoError(t, err)
	for name, err := range everyCall(c) {
		require.Error(t, err, name)
		require.NotContains(t, err.Error(), secretKey, name)
	}
}

func TestInvalidAPIKeyHeaderValueNotInError(t *testing.T) {
	f := newFakePlatform(t)
	key := "sk-bad\nSECRET"
	c, err := NewClient(ClientOptions{BaseURL: f.srv.URL, APIKey: key})
	require.NoError(t, err)
	for name, err := range everyCall(c) {
		require.Error(t, err, name)
		require.NotContains(t, err.Error(), "SECRET", name)
	}
	require.Empty(t, f.reqs())
}

func TestClientContextCancelledBeforeRequest(t *testing.T) {
	f := newFakePlatform(t)
	f.handle("GET /api/agents", jsonRoute(`{"agents":[]}`))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := f.client(t).Agents.List(ctx)
	require.ErrorIs(t, err, context.Canceled)
	require.Empty(t, f.reqs())
}

// redirectingClient returns a Client for https://octavus.example whose
// transport redirects the first request (307) to location and records the
// Authorization header of every request by URL.
func redirectingClient(t *testing.T, location string) (*Client, func() map[string]string) {
	t.Helper()
	var mu sync.Mutex
	seen := map[string]string{}
	tr := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		mu.Lock()
		first := len(seen) == 0
		seen[r.URL.String()] = r.Header.Get("Authorization")
		mu.Unlock()
		if first {
			return &http.Response{StatusCode: 307, Status: "307 Temporary Redirect",
				Header: http.Header{"Location": {location}}, Body: http.NoBody, Request: r}, nil
		}
		return &http.Response{StatusCode: 200, Status: "200 OK", Header: http.Header{},
			Body: io.NopCloser(strings.NewReader(`{"agents":[]}`)), Request: r}, nil
	})
	c, err := NewClient(ClientOptions{BaseURL: "https://octavus.example", APIKey: "sk-origin", HTTPClient: &http.Client{Transport: tr}})
	require.NoError(t, err)
	return c, func() map[string]string {
		mu.Lock()
		defer mu.Unlock()
		out := map[string]string{}
		for k, v := range seen {
			out[k] = v
		}
		return out
	}
}

func TestClientRedirectKeepsAuthorizationOnlyForSameOrigin(t *testing.T) {
	cases := []struct {
		location string
		keep     bool
	}{
		{"https://octavus.example/v2/api/agents", true},
		{"https://octavus.example:443/v2/api/agents", true},
		{"/v2/api/agents", true},
		// A downgrade to http is another origin: the key would travel in clear.
		{"http://octavus.example/v2/api/agents", false},
		{"https://octavus.example:8443/v2/api/agents", false},
		{"https://evil.example/v2/api/agents", false},
		{"https://api.octavus.example/v2/api/agents", false},
	}
	for _, tc := range cases {
		t.Run(tc.location, func(t *testing.T) {
			c, seen := redirectingClient(t, tc.location)
			_, err := c.Agents.List(context.Background())
			require.NoError(t, err)
			got := seen()
			require.Len(t, got, 2)
			require.Equal(t, "Bearer sk-origin", got["https://octavus.example/api/agents"])
			var second string
			for u, auth := range got {
				if u != "https://octavus.example/api/agents" {
					second = auth
				}
			}
			if tc.keep {
				require.Equal(t, "Bearer sk-origin", second)
			} else {
				require.Empty(t, second)
			}
		})
	}
}

// keyCounter is an APIKeyFunc that returns "tok-1", "tok-2", ... and counts
// its calls.
type keyCounter struct {
	mu sync.Mutex
	n  int
}

func (k *keyCounter) key(context.Context) (string, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.n++
	return fmt.Sprintf("tok-%d", k.n), nil
}

func (k *keyCounter) calls() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.n
}

func authHeaders(reqs []recorded) []string {
	out := make([]string, len(reqs))
	for i, r := range reqs {
		out[i] = r.Header.Get("Authorization")
	}
	return out
}

func TestAPIKeyFuncCalledPerRESTAttempt(t *testing.T) {
	f := newFakePlatform(t)
	var mu sync.Mutex
	n := 0
	f.handle("GET /api/agents", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		n++
		first := n == 1
		mu.Unlock()
		if first {
			statusLeg(http.StatusServiceUnavailable, `{"error":"busy"}`)(w, r)
			return
		}
		jsonRoute(`{"agents":[]}`)(w, r)
	})
	var k keyCounter
	c, waits := clientWith(t, f, ClientOptions{APIKeyFunc: k.key})
	_, err := c.Agents.List(t.Context())
	require.NoError(t, err)
	require.Len(t, *waits, 1, "the 503 was retried once")
	// APIKeyFunc wins over APIKey (clientWith sets APIKey too), and each
	// attempt asks it again.
	require.Equal(t, []string{"Bearer tok-1", "Bearer tok-2"}, authHeaders(f.reqs()))

	_, err = c.Agents.List(t.Context())
	require.NoError(t, err)
	require.Equal(t, "Bearer tok-3", authHeaders(f.reqs())[2], "each call asks again")
	require.Equal(t, 3, k.calls())
}

func TestAPIKeyFuncCalledPerStreamLegAndAttempt(t *testing.T) {
	f := newFakePlatform(t)
	f.addLegs(
		statusLeg(http.StatusBadGateway, `{"error":"gateway"}`),
		eventsLeg(
			`{"type":"start","messageId":"m1","executionId":"e1"}`,
			`{"type":"tool-request","toolCalls":[{"toolCallId":"c1","toolName":"get-user","args":{}}]}`,
			`{"type":"finish","finishReason":"tool-calls"}`,
		),
		eventsLeg(`{"type":"finish","finishReason":"stop","executionId":"e1"}`),
	)
	var k keyCounter
	c, _ := clientWith(t, f, ClientOptions{APIKeyFunc: k.key})
	events := run(c, AttachOptions{Tools: ToolHandlers{"get-user": constTool("Ada")}}, userMessage)
	require.Equal(t, "finish", string(events[len(events)-1].EventType()))
	require.Equal(t, []string{"Bearer tok-1", "Bearer tok-2", "Bearer tok-3"}, authHeaders(f.reqs()),
		"the retried first leg and the continuation each ask for the key")
}

func TestAPIKeyFuncGetsRequestContext(t *testing.T) {
	type ctxKey struct{}
	f := newFakePlatform(t)
	f.handle("GET /api/agents", jsonRoute(`{"agents":[]}`))
	var got any
	c, _ := clientWith(t, f, ClientOptions{APIKeyFunc: func(ctx context.Context) (string, error) {
		got = ctx.Value(ctxKey{})
		return "k", nil
	}})
	_, err := c.Agents.List(context.WithValue(t.Context(), ctxKey{}, "caller's"))
	require.NoError(t, err)
	require.Equal(t, "caller's", got)
}

func TestAPIKeyFuncErrorSendsNothing(t *testing.T) {
	errNoToken := errors.New("token source down")
	f := newFakePlatform(t)
	f.handle("GET /api/agents", jsonRoute(`{"agents":[]}`))
	c, waits := clientWith(t, f, ClientOptions{APIKeyFunc: func(context.Context) (string, error) { return "", errNoToken }})

	_, err := c.Agents.List(t.Context())
	require.ErrorIs(t, err, errNoToken)
	var kfe *KeyFuncError
	require.ErrorAs(t, err, &kfe)
	require.Equal(t, errNoToken, kfe.Err)
	require.Contains(t, err.Error(), "token source down")

	_, err = c.Tokens.Mint(t.Context(), MintTokenRequest{AgentID: "agent_1"})
	require.ErrorIs(t, err, errNoToken)

	events := run(c, AttachOptions{}, userMessage)
	require.Len(t, events, 1)
	ev, ok := events[0].(*ErrorEvent)
	require.True(t, ok, "%T", events[0])
	// The reference turns a throwing apiKey callback into an internal error
	// event too (createInternalErrorEvent in session.ts).
	require.Equal(t, ErrorTypeInternal, ev.ErrorType)

	require.Empty(t, f.reqs(), "no request is sent without a key")
	require.Empty(t, *waits, "a failed APIKeyFunc is not retried")
}

func TestAPIKeyFuncEmptyKeySendsNoAuthorization(t *testing.T) {
	f := newFakePlatform(t)
	f.handle("GET /api/agents", jsonRoute(`{"agents":[]}`))
	c, _ := clientWith(t, f, ClientOptions{APIKeyFunc: func(context.Context) (string, error) { return "", nil }})
	_, err := c.Agents.List(t.Context())
	require.NoError(t, err)
	_, has := f.reqs()[0].Header["Authorization"]
	require.False(t, has)
}

func TestAPIKeyFuncKeyKeptOffOtherOrigins(t *testing.T) {
	for _, tc := range []struct {
		location string
		keep     bool
	}{
		{"https://octavus.example/v2/api/agents", true},
		{"https://evil.example/v2/api/agents", false},
		{"http://octavus.example/v2/api/agents", false},
	} {
		t.Run(tc.location, func(t *testing.T) {
			var mu sync.Mutex
			var auths []string
			tr := roundTripFunc(func(r *http.Request) (*http.Response, error) {
				mu.Lock()
				defer mu.Unlock()
				auths = append(auths, r.Header.Get("Authorization"))
				if len(auths) == 1 {
					return &http.Response{StatusCode: 307, Status: "307 Temporary Redirect",
						Header: http.Header{"Location": {tc.location}}, Body: http.NoBody, Request: r}, nil
				}
				return &http.Response{StatusCode: 200, Status: "200 OK", Header: http.Header{},
					Body: io.NopCloser(strings.NewReader(`{"agents":[]}`)), Request: r}, nil
			})
			c, err := NewClient(ClientOptions{BaseURL: "https://octavus.example", HTTPClient: &http.Client{Transport: tr},
				APIKeyFunc: func(context.Context) (string, error) { return "rotating-secret", nil }})
			require.NoError(t, err)
			_, err = c.Agents.List(t.Context())
			require.NoError(t, err)
			require.Len(t, auths, 2)
			require.Equal(t, "Bearer rotating-secret", auths[0])
			if tc.keep {
				require.Equal(t, "Bearer rotating-secret", auths[1])
			} else {
				require.Empty(t, auths[1])
			}
		})
	}
}

func TestAPIKeyFuncKeyNotLogged(t *testing.T) {
	f := newFakePlatform(t)
	f.addLegs(statusLeg(http.StatusServiceUnavailable, `{"error":"busy"}`), eventsLeg(`{"type":"finish","finishReason":"stop"}`))
	f.handle("GET /api/agents", statusLeg(http.StatusServiceUnavailable, `{"error":"busy"}`))
	var logs strings.Builder
	var mu sync.Mutex
	logger := slog.New(slog.NewTextHandler(lockedWriter{&mu, &logs}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	c, _ := clientWith(t, f, ClientOptions{Logger: logger, APIKeyFunc: func(context.Context) (string, error) { return "federated-secret-123", nil }})
	_, err := c.Agents.List(t.Context())
	require.Error(t, err)
	run(c, AttachOptions{}, userMessage)
	mu.Lock()
	defer mu.Unlock()
	require.Contains(t, logs.String(), "retrying", "the retries were logged")
	require.NotContains(t, logs.String(), "federated-secret-123")
	require.NotContains(t, err.Error(), "federated-secret-123")
}

// lockedWriter serialises writes to w.
type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func TestTraceModelRequestsHeader(t *testing.T) {
	for _, on := range []bool{false, true} {
		t.Run(fmt.Sprint(on), func(t *testing.T) {
			f := newFakePlatform(t)
			f.handle("GET /api/agents", jsonRoute(`{"agents":[]}`))
			f.addLegs(eventsLeg(`{"type":"finish","finishReason":"stop"}`))
			c, _ := clientWith(t, f, ClientOptions{TraceModelRequests: on})
			_, err := c.Agents.List(t.Context())
			require.NoError(t, err)
			run(c, AttachOptions{}, userMessage)
			reqs := f.reqs()
			require.Len(t, reqs, 2)
			for _, r := range reqs {
				if on {
					require.Equal(t, []string{"true"}, r.Header.Values("X-Octavus-Trace"), r.Path)
				} else {
					_, has := r.Header["X-Octavus-Trace"]
					require.False(t, has, r.Path)
				}
				require.Equal(t, "Bearer "+testKey, r.Header.Get("Authorization"))
				require.Equal(t, "4", r.Header.Get("X-Octavus-Sdk-Version"))
			}
		})
	}
}

// The new calls report a non-2xx answer as an *APIError whose message is
// the answer's, and never carry the key into an error.
func TestNewCallsAPIErrorWithoutKey(t *testing.T) {
	c, _ := captureClient(t, ClientOptions{BaseURL: "https://octavus.example", APIKey: "sk-secret-key", MaxRetries: -1}, 401, `{"error":"Invalid API key","code":"UNAUTHORIZED"}`)
	errs := everyNewCall(c)
	require.Len(t, errs, 4)
	for name, err := range errs {
		var apiErr *APIError
		require.ErrorAs(t, err, &apiErr, name)
		require.Equal(t, &APIError{Status: 401, Message: "Invalid API key", Code: "UNAUTHORIZED"}, apiErr, name)
		require.NotContains(t, err.Error(), "sk-secret-key", name)
	}
}

func TestSessionURLAndAgentURL(t *testing.T) {
	c, err := NewClient(ClientOptions{BaseURL: "https://octavus.example/"})
	require.NoError(t, err)
	// The reference's getSessionUrl and getAgentUrl, with the id escaped
	// as one path segment.
	require.Equal(t, "https://octavus.example/platform/sessions/sess_1", c.SessionURL("sess_1"))
	require.Equal(t, "https://octavus.example/platform/agents/agent_1", c.AgentURL("agent_1"))
	require.Equal(t, "https://octavus.example/platform/sessions/a%2Fb%3Fc", c.SessionURL("a/b?c"))
	require.Equal(t, "https://octavus.example/platform/agents/%2E%2E", c.AgentURL(".."))

	c, err = NewClient(ClientOptions{BaseURL: "http://localhost:3000/prefix"})
	require.NoError(t, err)
	require.Equal(t, "http://localhost:3000/prefix/platform/sessions/s", c.SessionURL("s"))
}
