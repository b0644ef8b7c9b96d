package octavus

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/octavus-go/octavus/internal/testproc"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

// HandlerOptions.Hijack: an HTTP/1.x stream is written on the connection
// taken from net/http. These tests run the Handler behind real HTTP
// servers on loopback, against the scripted fakePlatform.

const hijackTrigger = `{"sessionId":"s","type":"trigger","triggerName":"t"}`

// noLeaks checks, once the test's servers are closed (cleanups registered
// later run first), that no goroutine is left.
func noLeaks(t *testing.T) {
	t.Helper()
	ignore := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, ignore) })
}

// startApp serves h over HTTP/1.1 on loopback; at the test's end the
// server is closed and h's hijacked streams are drained.
func startApp(t *testing.T, h *PassthroughHandler, configure ...func(*httptest.Server)) *httptest.Server {
	t.Helper()
	app := httptest.NewUnstartedServer(h)
	for _, c := range configure {
		c(app)
	}
	if app.TLS != nil || app.EnableHTTP2 {
		app.StartTLS()
	} else {
		app.Start()
	}
	t.Cleanup(func() {
		app.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		assert.NoError(t, h.Shutdown(ctx), "hijacked streams still open at the end")
	})
	return app
}

// startAppOver is startApp over TLS (HTTP/1.1) when useTLS is set.
func startAppOver(t *testing.T, h *PassthroughHandler, useTLS bool) *httptest.Server {
	t.Helper()
	if useTLS {
		return startApp(t, h, func(s *httptest.Server) { s.TLS = &tls.Config{} })
	}
	return startApp(t, h)
}

// post posts body to app and returns the response with its whole body.
func post(t *testing.T, client *http.Client, url, body string) (*http.Response, string) {
	t.Helper()
	resp, err := client.Post(url, "application/json", strings.NewReader(body))
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp, string(b)
}

// endlessLeg streams text deltas until its request ends, then closes done.
func endlessLeg(done chan struct{}) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		defer close(done)
		w.Header().Set("Content-Type", "text/event-stream")
		rc := http.NewResponseController(w)
		delta := "data: {\"type\":\"text-delta\",\"id\":\"t\",\"delta\":\"" + strings.Repeat("x", 1000) + "\"}\n\n"
		_, _ = io.WriteString(w, "data: {\"type\":\"start\",\"executionId\":\"e1\"}\n\n")
		for {
			if _, err := io.WriteString(w, delta); err != nil || rc.Flush() != nil || r.Context().Err() != nil {
				return
			}
		}
	}
}

// idleLeg writes a start event, then waits for resume (and finishes the
// stream) or for its request to end; done is closed when it returns.
func idleLeg(resume, done chan struct{}) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		defer close(done)
		w.Header().Set("Content-Type", "text/event-stream")
		_, _ = io.WriteString(w, "data: {\"type\":\"start\",\"executionId\":\"e1\"}\n\n")
		_ = http.NewResponseController(w).Flush()
		select {
		case <-resume:
		case <-r.Context().Done():
			return
		}
		_, _ = io.WriteString(w, "data: {\"type\":\"text-delta\",\"id\":\"t\",\"delta\":\"on\"}\n\n"+
			"data: {\"type\":\"finish\",\"finishReason\":\"stop\"}\n\ndata: [DONE]\n\n")
	}
}

// rawStream posts the trigger on a plain TCP (or TLS) connection and
// returns it with a reader past the response head, and the head.
func rawStream(t *testing.T, conn net.Conn, host string) (*bufio.Reader, string) {
	t.Helper()
	_, err := io.WriteString(conn, "POST / HTTP/1.1\r\nHost: "+host+"\r\nContent-Type: application/json\r\n"+
		"Content-Length: "+strconv.Itoa(len(hijackTrigger))+"\r\n\r\n"+hijackTrigger)
	require.NoError(t, err)
	br := bufio.NewReader(conn)
	var head strings.Builder
	for {
		line, err := br.ReadString('\n')
		require.NoError(t, err)
		head.WriteString(line)
		if line == "\r\n" {
			return br, head.String()
		}
	}
}

// readUntil reads br until a line holding s.
func readUntil(t *testing.T, br *bufio.Reader, s string) {
	t.Helper()
	for {
		line, err := br.ReadString('\n')
		require.NoError(t, err, "the stream ended before %q", s)
		if strings.Contains(line, s) {
			return
		}
	}
}

// pings matches runs of heartbeat comments: how many fit in a quiet spell
// is timing, where they come is not.
var pings = regexp.MustCompile(`(: heartbeat\n\n)+`)

// The hijacked stream's body is the usual path's, byte for byte, for the
// same platform script: text, a server tool round, a client tool request,
// a platform error answer, an error event, a stream cut short, heartbeats
// while the platform is quiet.
func TestHijackWritesTheUsualBytes(t *testing.T) {
	noLeaks(t)
	toolLeg := eventsLeg(`{"type":"start","executionId":"e1"}`,
		`{"type":"tool-request","toolCalls":[{"toolCallId":"c1","toolName":"lookup","args":{"q":1}}]}`,
		`{"type":"finish","finishReason":"tool-calls"}`)
	textLeg := eventsLeg(`{"type":"text-start","id":"t"}`, `{"type":"text-delta","id":"t","delta":"hé\"llo"}`,
		`{"type":"text-delta","id":"t","delta":" world"}`, `{"type":"text-end","id":"t"}`, `{"type":"finish","finishReason":"stop"}`)
	scripts := map[string]func() []http.HandlerFunc{
		"text":        func() []http.HandlerFunc { return []http.HandlerFunc{textLeg} },
		"server tool": func() []http.HandlerFunc { return []http.HandlerFunc{toolLeg, textLeg} },
		"client tool": func() []http.HandlerFunc {
			return []http.HandlerFunc{eventsLeg(`{"type":"start","executionId":"e1"}`,
				`{"type":"tool-request","toolCalls":[{"toolCallId":"c1","toolName":"browser-only","args":{}}]}`,
				`{"type":"finish","finishReason":"tool-calls"}`)}
		},
		"platform error": func() []http.HandlerFunc {
			return []http.HandlerFunc{statusLeg(http.StatusTooManyRequests, `{"error":"busy","code":"SESSION_BUSY"}`)}
		},
		"error event": func() []http.HandlerFunc {
			return []http.HandlerFunc{eventsLeg(`{"type":"start","executionId":"e1"}`,
				`{"type":"error","errorType":"internal_error","message":"boom","source":"platform","retryable":false}`)}
		},
		"cut short": func() []http.HandlerFunc {
			return []http.HandlerFunc{rawLeg("data: {\"type\":\"start\",\"executionId\":\"e1\"}\n\ndata: {\"type\":\"text-delta\",\"id\":\"t\",\"delta\":\"x\"}\n\n")}
		},
	}
	tools := ToolHandlers{"lookup": func(context.Context, map[string]any) (any, error) { return map[string]any{"ok": true}, nil }}
	f := newFakePlatform(t)
	c := f.client(t)
	usual := startApp(t, c.AgentSessions.Handler(HandlerOptions{Tools: tools}))
	hijacked := startApp(t, c.AgentSessions.Handler(HandlerOptions{Tools: tools, Hijack: true}))
	for name, legs := range scripts {
		t.Run(name, func(t *testing.T) {
			f.addLegs(legs()...)
			usualResp, want := post(t, usual.Client(), usual.URL, hijackTrigger)
			f.addLegs(legs()...)
			resp, got := post(t, hijacked.Client(), hijacked.URL, hijackTrigger)
			require.NotEmpty(t, want)
			assert.Equal(t, want, got)
			assert.Equal(t, []string{"chunked"}, usualResp.TransferEncoding, "the usual path")
			assert.False(t, usualResp.Close, "the usual path")
			assert.Empty(t, resp.TransferEncoding, "close-delimited")
			assert.True(t, resp.Close, "Connection: close")
			assert.Equal(t, http.StatusOK, resp.StatusCode)
		})
	}

	t.Run("heartbeats", func(t *testing.T) {
		run := func(app *httptest.Server) string {
			resume, done := make(chan struct{}), make(chan struct{})
			f.addLegs(idleLeg(resume, done))
			resp, err := app.Client().Post(app.URL, "application/json", strings.NewReader(hijackTrigger))
			require.NoError(t, err)
			defer resp.Body.Close()
			br := bufio.NewReader(resp.Body)
			var body strings.Builder
			for {
				line, err := br.ReadString('\n')
				body.WriteString(line)
				if err == io.EOF {
					break
				}
				require.NoError(t, err)
				if line == ": heartbeat\n" && resume != nil {
					close(resume) // the platform goes on once a heartbeat came
					resume = nil
				}
			}
			require.Nil(t, resume, "no heartbeat while the platform was quiet")
			waitDone(t, done, "the platform's answer")
			return body.String()
		}
		hb := HandlerOptions{Heartbeat: 5 * time.Millisecond, Hijack: true}
		got := run(startApp(t, c.AgentSessions.Handler(hb)))
		hb.Hijack = false
		want := run(startApp(t, c.AgentSessions.Handler(hb)))
		assert.Contains(t, want, ": heartbeat\n\n")
		assert.Equal(t, pings.ReplaceAllString(want, ": heartbeat\n\n"), pings.ReplaceAllString(got, ": heartbeat\n\n"))
	})
}

// The head of a hijacked stream: 200, the usual path's headers (those set
// before the Handler by a middleware included) but Connection: close, no
// Transfer-Encoding and no Content-Length.
func TestHijackResponseHead(t *testing.T) {
	noLeaks(t)
	f := newFakePlatform(t)
	c := f.client(t)
	cors := func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Access-Control-Allow-Origin", "https://app.example")
			h.ServeHTTP(w, r)
		})
	}
	heads := map[bool]string{}
	headers := map[bool]http.Header{}
	for _, hijack := range []bool{false, true} {
		h := c.AgentSessions.Handler(HandlerOptions{Hijack: hijack})
		app := startApp(t, h, func(s *httptest.Server) { s.Config.Handler = cors(h) })
		f.addLegs(eventsLeg(`{"type":"start","executionId":"e1"}`, `{"type":"finish","finishReason":"stop"}`))
		conn, err := net.Dial("tcp", app.Listener.Addr().String())
		require.NoError(t, err)
		br, head := rawStream(t, conn, app.Listener.Addr().String())
		if hijack {
			// Close-delimited: the body runs to the end of the connection.
			rest, err := io.ReadAll(br)
			require.NoError(t, err)
			assert.True(t, strings.HasSuffix(string(rest), "data: [DONE]\n\n"), string(rest))
		}
		require.NoError(t, conn.Close())
		assert.True(t, strings.HasPrefix(head, "HTTP/1.1 200 OK\r\n"), head)
		resp, err := http.ReadResponse(bufio.NewReader(strings.NewReader(head)), nil)
		require.NoError(t, err)
		assert.Equal(t, http.StatusOK, resp.StatusCode)
		assert.NotEmpty(t, resp.Header.Get("Date"))
		heads[hijack], headers[hijack] = head, resp.Header
	}
	assert.Contains(t, heads[false], "\r\nConnection: keep-alive\r\n")
	assert.Contains(t, heads[false], "\r\nTransfer-Encoding: chunked\r\n")
	assert.Contains(t, heads[true], "\r\nConnection: close\r\n")
	assert.NotContains(t, heads[true], "Transfer-Encoding")
	assert.NotContains(t, heads[true], "Content-Length")
	usual, hijacked := headers[false], headers[true]
	for _, h := range []http.Header{usual, hijacked} {
		h.Del("Connection")
		h.Del("Date")
	}
	assert.Equal(t, usual, hijacked)
	assert.Equal(t, "https://app.example", hijacked.Get("Access-Control-Allow-Origin"))
	assert.Equal(t, "text/event-stream", hijacked.Get("Content-Type"))
}

// hidingWriter wraps a ResponseWriter and hides everything else of it
// (no Hijack, no Unwrap), as some middleware does.
type hidingWriter struct{ w http.ResponseWriter }

func (h hidingWriter) Header() http.Header         { return h.w.Header() }
func (h hidingWriter) Write(b []byte) (int, error) { return h.w.Write(b) }
func (h hidingWriter) WriteHeader(code int)        { h.w.WriteHeader(code) }
func (h hidingWriter) Flush()                      { h.w.(http.Flusher).Flush() }

// What cannot be hijacked is served the usual way: an HTTP/2 request, an
// httptest.ResponseRecorder, a middleware's writer that hides
// http.Hijacker.
func TestHijackFallsBackToTheUsualPath(t *testing.T) {
	noLeaks(t)
	f := newFakePlatform(t)
	c := f.client(t)
	leg := eventsLeg(`{"type":"start","executionId":"e1"}`, `{"type":"text-delta","id":"t","delta":"a"}`, `{"type":"finish","finishReason":"stop"}`)
	const want = "data: {\"type\":\"start\",\"executionId\":\"e1\"}\n\ndata: {\"type\":\"text-delta\",\"id\":\"t\",\"delta\":\"a\"}\n\n" +
		"data: {\"type\":\"finish\",\"finishReason\":\"stop\"}\n\ndata: [DONE]\n\n"
	h := c.AgentSessions.Handler(HandlerOptions{Hijack: true})

	t.Run("HTTP/2", func(t *testing.T) {
		app := startApp(t, h, func(s *httptest.Server) { s.EnableHTTP2 = true })
		f.addLegs(leg)
		resp, body := post(t, app.Client(), app.URL, hijackTrigger)
		assert.Equal(t, 2, resp.ProtoMajor)
		assert.Equal(t, want, body)
		assert.Equal(t, "text/event-stream", resp.Header.Get("Content-Type"))
	})
	t.Run("ResponseRecorder", func(t *testing.T) {
		f.addLegs(leg)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, postJSON(hijackTrigger))
		assert.Equal(t, want, rec.Body.String())
		assert.Equal(t, "keep-alive", rec.Header().Get("Connection"))
	})
	t.Run("a writer that hides Hijacker", func(t *testing.T) {
		app := startApp(t, h, func(s *httptest.Server) {
			s.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.ServeHTTP(hidingWriter{w}, r) })
		})
		f.addLegs(leg)
		resp, body := post(t, app.Client(), app.URL, hijackTrigger)
		assert.Equal(t, want, body)
		assert.Equal(t, []string{"chunked"}, resp.TransferEncoding)
		assert.False(t, resp.Close)
	})
}

// The errors answered before a stream starts are answered as on the usual
// path, and net/http keeps the connection: nothing was hijacked.
func TestHijackPreStreamErrorsAsUsual(t *testing.T) {
	noLeaks(t)
	f := newFakePlatform(t)
	c := f.client(t)
	opts := HandlerOptions{
		MaxRequestBody: 200,
		Authorize: func(_ *http.Request, id string) error {
			if id == "theirs" {
				return errors.New("not yours")
			}
			return nil
		},
	}
	usual := startApp(t, c.AgentSessions.Handler(opts))
	opts.Hijack = true
	hijacked := startApp(t, c.AgentSessions.Handler(opts))
	cases := map[string]struct {
		body   string
		status int
	}{
		"bad JSON":  {`{"sessionId":`, http.StatusBadRequest},
		"forbidden": {`{"sessionId":"theirs","type":"trigger","triggerName":"t"}`, http.StatusForbidden},
		"too large": {`{"sessionId":"s","type":"trigger","triggerName":"t","input":{"x":"` + strings.Repeat("a", 300) + `"}}`, http.StatusRequestEntityTooLarge},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			wantResp, want := post(t, usual.Client(), usual.URL, tc.body)
			resp, got := post(t, hijacked.Client(), hijacked.URL, tc.body)
			assert.Equal(t, tc.status, wantResp.StatusCode)
			assert.Equal(t, wantResp.StatusCode, resp.StatusCode)
			assert.Equal(t, want, got)
			assert.Equal(t, wantResp.Header.Get("Content-Type"), resp.Header.Get("Content-Type"))
			assert.Equal(t, wantResp.Close, resp.Close, "the connection is kept as usual")
			assert.Empty(t, resp.TransferEncoding, "an error, not a stream")
		})
	}
	assert.Empty(t, f.triggerBodies(), "nothing reached the platform")
}

// A browser that closes its connection while the stream is idle is
// noticed (on Linux by the Handler's watcher at once, elsewhere at a
// heartbeat tick): the platform request is cancelled.
func TestHijackIdleDisconnectCancelsThePlatform(t *testing.T) {
	for _, useTLS := range []bool{false, true} {
		name := "TCP"
		if useTLS {
			name = "TLS"
		}
		t.Run(name, func(t *testing.T) {
			noLeaks(t)
			f := newFakePlatform(t)
			resume, done := make(chan struct{}), make(chan struct{})
			defer close(resume)
			f.addLegs(idleLeg(resume, done))
			h := f.client(t).AgentSessions.Handler(HandlerOptions{Heartbeat: 5 * time.Millisecond, Hijack: true})
			var app *httptest.Server
			var conn net.Conn
			if useTLS {
				app = startApp(t, h, func(s *httptest.Server) { s.TLS = &tls.Config{} })
				tc, err := tls.Dial("tcp", app.Listener.Addr().String(), app.Client().Transport.(*http.Transport).TLSClientConfig)
				require.NoError(t, err)
				conn = tc
			} else {
				app = startApp(t, h)
				var err error
				conn, err = net.Dial("tcp", app.Listener.Addr().String())
				require.NoError(t, err)
			}
			br, head := rawStream(t, conn, "x")
			assert.Contains(t, head, "Connection: close\r\n")
			readUntil(t, br, `"type":"start"`)
			require.NoError(t, conn.Close())
			waitDone(t, done, "the platform request's end")
		})
	}
}

// A browser that leaves while events stream is noticed at the failed
// write: the platform request is cancelled (no heartbeat here).
func TestHijackDisconnectWhileStreaming(t *testing.T) {
	noLeaks(t)
	f := newFakePlatform(t)
	done := make(chan struct{})
	f.addLegs(endlessLeg(done))
	app := startApp(t, f.client(t).AgentSessions.Handler(HandlerOptions{Heartbeat: -1, Hijack: true}))
	conn, err := net.Dial("tcp", app.Listener.Addr().String())
	require.NoError(t, err)
	br, _ := rawStream(t, conn, "x")
	readUntil(t, br, `"type":"text-delta"`)
	require.NoError(t, conn.Close())
	waitDone(t, done, "the platform request's end")
}

// A browser that stops reading is cut by WriteTimeout, as on the usual
// path: the write blocks past it and the platform request ends.
func TestHijackWriteTimeoutCutsAStalledBrowser(t *testing.T) {
	noLeaks(t)
	f := newFakePlatform(t)
	done := make(chan struct{})
	f.addLegs(endlessLeg(done))
	app := startApp(t, f.client(t).AgentSessions.Handler(HandlerOptions{Heartbeat: -1, WriteTimeout: 50 * time.Millisecond, Hijack: true}))
	conn, err := net.Dial("tcp", app.Listener.Addr().String())
	require.NoError(t, err)
	defer conn.Close()
	require.NoError(t, conn.(*net.TCPConn).SetReadBuffer(4096))
	br, _ := rawStream(t, conn, "x")
	readUntil(t, br, `"type":"text-delta"`)
	// The browser reads no more: the socket buffers fill, a write blocks.
	waitDone(t, done, "the platform request's end")
}

// HTTP/1.1 over TLS is hijacked too (the *tls.Conn is written), with the
// usual bytes.
func TestHijackTLS(t *testing.T) {
	noLeaks(t)
	f := newFakePlatform(t)
	app := startApp(t, f.client(t).AgentSessions.Handler(HandlerOptions{Hijack: true}), func(s *httptest.Server) { s.TLS = &tls.Config{} })
	f.addLegs(eventsLeg(`{"type":"start","executionId":"e1"}`, `{"type":"finish","finishReason":"stop"}`))
	resp, body := post(t, app.Client(), app.URL, hijackTrigger)
	assert.Equal(t, 1, resp.ProtoMajor)
	assert.NotNil(t, resp.TLS)
	assert.True(t, resp.Close, "Connection: close: hijacked")
	assert.Equal(t, "data: {\"type\":\"start\",\"executionId\":\"e1\"}\n\ndata: {\"type\":\"finish\",\"finishReason\":\"stop\"}\n\ndata: [DONE]\n\n", body)
}

// panickyLogs is a slog.Handler that panics on records at Error level: a
// logger that is itself broken, the way a panic can leave the execution.
type panickyLogs struct{}

func (panickyLogs) Enabled(context.Context, slog.Level) bool { return true }
func (panickyLogs) Handle(_ context.Context, r slog.Record) error {
	if r.Level >= slog.LevelError {
		panic("logger broken: " + r.Message)
	}
	return nil
}
func (h panickyLogs) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h panickyLogs) WithGroup(string) slog.Handler      { return h }

// A panicking tool handler does not take the server down: the call fails,
// the round goes on and the stream ends. A panic that leaves the execution
// (here OnToolResults' panic, then the logger's) is logged to the server's
// ErrorLog as net/http logs a handler's, and the connection is closed
// without [DONE].
func TestHijackPanics(t *testing.T) {
	noLeaks(t)
	toolLeg := eventsLeg(`{"type":"start","executionId":"e1"}`,
		`{"type":"tool-request","toolCalls":[{"toolCallId":"c1","toolName":"boom","args":{}}]}`,
		`{"type":"finish","finishReason":"tool-calls"}`)
	tools := ToolHandlers{"boom": func(context.Context, map[string]any) (any, error) { panic("tool broken") }}

	t.Run("tool handler", func(t *testing.T) {
		f := newFakePlatform(t)
		f.addLegs(toolLeg, eventsLeg(`{"type":"finish","finishReason":"stop"}`))
		c, err := NewClient(ClientOptions{BaseURL: f.srv.URL, APIKey: testKey, HTTPClient: f.srv.Client(), MaxRetries: -1, Logger: slog.New(slog.DiscardHandler)})
		require.NoError(t, err)
		app := startApp(t, c.AgentSessions.Handler(HandlerOptions{Tools: tools, Hijack: true}))
		resp, body := post(t, app.Client(), app.URL, hijackTrigger)
		assert.True(t, resp.Close, "hijacked")
		assert.True(t, strings.HasSuffix(body, "data: {\"type\":\"finish\",\"finishReason\":\"stop\"}\n\ndata: [DONE]\n\n"), body)
		bodies := f.triggerBodies()
		require.Len(t, bodies, 2)
		assert.Contains(t, bodies[1], `"toolCallId":"c1"`)
		assert.Contains(t, bodies[1], `"error":`)
	})

	t.Run("out of the execution", func(t *testing.T) {
		f := newFakePlatform(t)
		f.addLegs(toolLeg)
		c, err := NewClient(ClientOptions{BaseURL: f.srv.URL, APIKey: testKey, HTTPClient: f.srv.Client(), MaxRetries: -1, Logger: slog.New(panickyLogs{})})
		require.NoError(t, err)
		onResults := func(context.Context, []ToolResult) error { panic("hook broken") }
		var errorLog testproc.SyncBuffer
		app := startApp(t, c.AgentSessions.Handler(HandlerOptions{Tools: ToolHandlers{"boom": func(context.Context, map[string]any) (any, error) { return 1, nil }},
			OnToolResults: onResults, Hijack: true}), func(s *httptest.Server) { s.Config.ErrorLog = log.New(&errorLog, "", 0) })
		resp, body := post(t, app.Client(), app.URL, hijackTrigger)
		assert.True(t, resp.Close, "hijacked")
		assert.Contains(t, body, `"type":"start"`)
		assert.NotContains(t, body, "[DONE]")
		// The stream's goroutine logs before it closes the connection.
		assert.Contains(t, errorLog.String(), "http: panic serving 127.0.0.1:")
		assert.Contains(t, errorLog.String(), "logger broken: octavus: execution panicked")
		assert.Contains(t, errorLog.String(), "goroutine ")
	})
}

// Shutdown drains the hijacked streams: it returns nil at once with none
// open, waits for an open one to end, and at its context's end closes the
// connections still open, cancelling their executions.
func TestHijackShutdown(t *testing.T) {
	noLeaks(t)
	f := newFakePlatform(t)
	h := f.client(t).AgentSessions.Handler(HandlerOptions{Hijack: true})
	require.NoError(t, h.Shutdown(context.Background()), "nothing open")
	require.NoError(t, f.client(t).AgentSessions.Handler(HandlerOptions{}).Shutdown(context.Background()), "not hijacking")
	app := startApp(t, h)

	t.Run("waits", func(t *testing.T) {
		resume, done := make(chan struct{}), make(chan struct{})
		f.addLegs(idleLeg(resume, done))
		resp, err := app.Client().Post(app.URL, "application/json", strings.NewReader(hijackTrigger))
		require.NoError(t, err)
		defer resp.Body.Close()
		br := bufio.NewReader(resp.Body)
		readUntil(t, br, `"type":"start"`)
		shut := make(chan error, 1)
		go func() { shut <- h.Shutdown(context.Background()) }()
		select {
		case err := <-shut:
			t.Fatalf("Shutdown returned %v with a stream open", err)
		default:
		}
		close(resume)
		require.NoError(t, <-shut)
		h.hijacked.mu.Lock()
		open := len(h.hijacked.open)
		h.hijacked.mu.Unlock()
		assert.Zero(t, open, "Shutdown returned once the stream had ended")
		rest, err := io.ReadAll(br)
		require.NoError(t, err)
		assert.True(t, strings.HasSuffix(string(rest), "data: [DONE]\n\n"), string(rest))
	})

	t.Run("cuts at the deadline", func(t *testing.T) {
		resume, done := make(chan struct{}), make(chan struct{})
		defer close(resume)
		f.addLegs(idleLeg(resume, done))
		resp, err := app.Client().Post(app.URL, "application/json", strings.NewReader(hijackTrigger))
		require.NoError(t, err)
		defer resp.Body.Close()
		br := bufio.NewReader(resp.Body)
		readUntil(t, br, `"type":"start"`)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		require.ErrorIs(t, h.Shutdown(ctx), context.Canceled)
		waitDone(t, done, "the platform request's end")
		rest, _ := io.ReadAll(br)
		assert.NotContains(t, string(rest), "[DONE]")
	})
}

// The server's ReadTimeout, which a negative BodyReadTimeout leaves on the
// connection, does not end a hijacked stream that stays open past it (the
// hijack clears it): the heartbeat's look for the browser's end does not
// take it for one.
func TestHijackOutlivesTheServersReadTimeout(t *testing.T) {
	noLeaks(t)
	f := newFakePlatform(t)
	resume, done := make(chan struct{}), make(chan struct{})
	f.addLegs(idleLeg(resume, done))
	const readTimeout, heartbeat = 20 * time.Millisecond, 5 * time.Millisecond
	h := f.client(t).AgentSessions.Handler(HandlerOptions{Heartbeat: heartbeat, BodyReadTimeout: -1, Hijack: true})
	app := startApp(t, h, func(s *httptest.Server) { s.Config.ReadTimeout = readTimeout })
	resp, err := app.Client().Post(app.URL, "application/json", strings.NewReader(hijackTrigger))
	require.NoError(t, err)
	defer resp.Body.Close()
	br := bufio.NewReader(resp.Body)
	// The ticks are a heartbeat apart at least: this many pings take
	// longer than the read timeout.
	for n := 0; n < int(2*readTimeout/heartbeat); {
		line, err := br.ReadString('\n')
		require.NoError(t, err)
		if line == ": heartbeat\n" {
			n++
		}
	}
	close(resume)
	rest, err := io.ReadAll(br)
	require.NoError(t, err)
	assert.True(t, strings.HasSuffix(string(rest), "data: [DONE]\n\n"), string(rest))
}

// A stream whose response a middleware means to compress (it set
// Content-Encoding and will compress what its writer is given) is not
// hijacked: the usual path writes through the middleware's writer.
func TestHijackLeavesEncodedResponsesAlone(t *testing.T) {
	noLeaks(t)
	f := newFakePlatform(t)
	f.addLegs(eventsLeg(`{"type":"start","executionId":"e1"}`, `{"type":"finish","finishReason":"stop"}`))
	h := f.client(t).AgentSessions.Handler(HandlerOptions{Hijack: true})
	var hijacks atomic.Int32
	app := startApp(t, h, func(s *httptest.Server) {
		s.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Encoding", "x-test") // the writer passes Hijack through
			h.ServeHTTP(w, r)
		})
		s.Config.ConnState = func(_ net.Conn, st http.ConnState) {
			if st == http.StateHijacked {
				hijacks.Add(1)
			}
		}
	})
	resp, body := post(t, app.Client(), app.URL, hijackTrigger)
	assert.False(t, resp.Close, "the usual path keeps the connection")
	assert.Equal(t, "x-test", resp.Header.Get("Content-Encoding"))
	assert.True(t, strings.HasSuffix(body, "data: [DONE]\n\n"), body)
	assert.Zero(t, hijacks.Load())
}

// A Shutdown whose context ends while a stream is between its hijack and
// its start (net/http no longer sees it, the Handler's list not yet) cuts
// that stream too: it reports it, and the stream never reaches the
// platform.
func TestHijackShutdownSeesAStartingStream(t *testing.T) {
	noLeaks(t)
	f := newFakePlatform(t)
	h := f.client(t).AgentSessions.Handler(HandlerOptions{Hijack: true})
	shut := make(chan error, 1)
	app := startApp(t, h, func(s *httptest.Server) {
		s.Config.ConnState = func(_ net.Conn, st http.ConnState) {
			if st == http.StateHijacked {
				// Inside the hijack: the stream is starting.
				ctx, cancel := context.WithCancel(context.Background())
				cancel()
				shut <- h.Shutdown(ctx)
			}
		}
	})
	resp, body := post(t, app.Client(), app.URL, hijackTrigger)
	assert.True(t, resp.Close)
	assert.ErrorIs(t, <-shut, context.Canceled, "a stream was starting")
	assert.NotContains(t, body, "data:", "cut before it started")
	assert.Empty(t, f.triggerBodies(), "never sent to the platform")
}
