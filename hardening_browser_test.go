package octavus

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/octavus-go/octavus/internal/testtool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

// Issue 13, the browser side: what a hostile or merely unusual browser
// still broke in Handler, ServeSocket, the signing of server results and
// the SSE writer.

// waitDone fails the test when done is not closed within a generous bound:
// the unfixed code hangs there, and a failure beats a hung test binary.
func waitDone(t *testing.T, done <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatalf("%s never happened", what)
	}
}

// bigMixedRound runs a round whose server tool (lookup) returns size bytes
// of text while a client tool (confirm) runs, and returns the
// client-tool-request the browser gets.
func bigMixedRound(t *testing.T, c *Client, f *fakePlatform, tools ToolHandlers) *ClientToolRequestEvent {
	t.Helper()
	f.addLegs(eventsLeg(`{"type":"start","executionId":"e1"}`,
		`{"type":"tool-request","toolCalls":[{"toolCallId":"c1","toolName":"lookup","args":{}},{"toolCallId":"c2","toolName":"confirm","args":{}}]}`,
		`{"type":"finish","finishReason":"tool-calls"}`))
	var ctr *ClientToolRequestEvent
	for _, ev := range run(c, AttachOptions{Tools: tools}, userMessage) {
		if e, ok := ev.(*ClientToolRequestEvent); ok {
			ctr = e
		}
	}
	require.NotNil(t, ctr)
	return ctr
}

// Item 1: a mixed round with a 2 MB server result is continued, signed,
// through Handler and through the socket; the limit is configurable.
func TestBrowserLargeMixedRoundContinues(t *testing.T) {
	f := newFakePlatform(t)
	c, _ := clientWith(t, f, ClientOptions{ResultSigningKey: signingKey})
	tools := ToolHandlers{"lookup": constTool(strings.Repeat("x", 2_000_000))}
	ctr := bigMixedRound(t, c, f, tools)
	results := append(ctr.ServerToolResults, ToolResult{ToolCallID: "c2", ToolName: "confirm", Result: true})
	body := continueBody(t, ctr.ExecutionID, results)
	require.Greater(t, len(body), MaxRequestBody)

	t.Run("Handler", func(t *testing.T) {
		f.addLegs(eventsLeg(`{"type":"finish","finishReason":"stop","executionId":"e1"}`))
		rec := httptest.NewRecorder()
		c.AgentSessions.Handler(HandlerOptions{Tools: tools}).ServeHTTP(rec, postJSON(body))
		require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
		bodies := f.triggerBodies()
		assert.Contains(t, bodies[len(bodies)-1], `"executionId":"e1"`)
	})
	t.Run("ServeSocket", func(t *testing.T) {
		f.addLegs(eventsLeg(`{"type":"finish","finishReason":"stop","executionId":"e1"}`))
		conn := newMemConn(t)
		done := serveInBackground(func() error {
			return c.AgentSessions.Attach("sess_1", AttachOptions{Tools: tools}).ServeSocket(t.Context(), conn)
		})
		msg := strings.Replace(body, `"sessionId":"sess_1",`, "", 1)
		conn.send(msg)
		assert.JSONEq(t, `{"type":"finish","finishReason":"stop","executionId":"e1"}`, conn.next())
		close(conn.in)
		require.NoError(t, waitServed(t, done))
	})
	t.Run("the limit is an option", func(t *testing.T) {
		before := len(f.reqs())
		rec := httptest.NewRecorder()
		c.AgentSessions.Handler(HandlerOptions{Tools: tools, MaxRequestBody: 1 << 20}).ServeHTTP(rec, postJSON(body))
		assert.Equal(t, http.StatusRequestEntityTooLarge, rec.Code)
		assert.JSONEq(t, `{"error":"body is larger than 1 MiB"}`, rec.Body.String())
		assert.Len(t, f.reqs(), before)
	})
	t.Run("the default follows MaxContinuationBody", func(t *testing.T) {
		assert.Equal(t, DefaultMaxContinueBody, continueBodyLimit(c, 0))
		c8, _ := clientWith(t, f, ClientOptions{MaxContinuationBody: 8 << 20})
		assert.Equal(t, 8<<20, continueBodyLimit(c8, 0))
		assert.Equal(t, 100, continueBodyLimit(c8, 100))
	})
}

// Item 2: a second result for a signed server call (under a client tool's
// name or none), a duplicate client result or a result for a call never
// handed out is refused before the platform.
func TestBrowserSmuggledResultsRefused(t *testing.T) {
	f := newFakePlatform(t)
	c, _ := clientWith(t, f, ClientOptions{ResultSigningKey: signingKey})
	tools := ToolHandlers{"lookup": constTool("genuine")}
	ctr := signedRound(t, c, f, tools)
	server := ctr.ServerToolResults[0]
	client := ToolResult{ToolCallID: "c2", ToolName: "confirm", Result: true}
	handler := c.AgentSessions.Handler(HandlerOptions{Tools: tools})
	cases := []struct {
		name string
		res  []ToolResult
		want string
	}{
		{"server call answered again under a client tool", []ToolResult{server, client, {ToolCallID: "c1", ToolName: "confirm", Result: "forged"}}, `tool call \"c1\" is answered twice`},
		{"server call answered again without a tool name", []ToolResult{server, {ToolCallID: "c1", Result: "forged"}, client}, `tool call \"c1\" is answered twice`},
		{"client call answered twice", []ToolResult{server, client, client}, `tool call \"c2\" is answered twice`},
		{"unknown client call", []ToolResult{server, client, {ToolCallID: "c9", ToolName: "confirm", Result: 1}}, "tool results do not match the execution (signature check failed)"},
		{"client call left out", []ToolResult{server}, "tool results do not match the execution (signature check failed)"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := len(f.reqs())
			rec := httptest.NewRecorder()
			handler.ServeHTTP(rec, postJSON(continueBody(t, ctr.ExecutionID, tc.res)))
			assert.Equal(t, http.StatusBadRequest, rec.Code)
			assert.JSONEq(t, `{"error":"`+tc.want+`"}`, rec.Body.String())
			s := c.AgentSessions.Attach("sess_1", AttachOptions{Tools: tools})
			req := ContinueRequest{ExecutionID: ctr.ExecutionID, ToolResults: tc.res}
			assert.Error(t, s.CheckRequest(req))
			got := collect(s.Execute(context.Background(), req))
			require.Len(t, got, 1)
			ee, ok := got[0].(*ErrorEvent)
			require.True(t, ok, "%T", got[0])
			assert.Equal(t, ErrorTypeValidation, ee.ErrorType)
			assert.Len(t, f.reqs(), before, "nothing reaches the platform")
		})
	}
	t.Run("reordered client results still pass", func(t *testing.T) {
		f2 := newFakePlatform(t)
		c2, _ := clientWith(t, f2, ClientOptions{ResultSigningKey: signingKey})
		f2.addLegs(eventsLeg(`{"type":"start","executionId":"e1"}`,
			`{"type":"tool-request","toolCalls":[{"toolCallId":"c1","toolName":"lookup","args":{}},{"toolCallId":"c2","toolName":"confirm","args":{}},{"toolCallId":"c3","toolName":"confirm","args":{}}]}`,
			`{"type":"finish","finishReason":"tool-calls"}`))
		var ctr2 *ClientToolRequestEvent
		for _, ev := range run(c2, AttachOptions{Tools: tools}, userMessage) {
			if e, ok := ev.(*ClientToolRequestEvent); ok {
				ctr2 = e
			}
		}
		require.NotNil(t, ctr2)
		req := ContinueRequest{ExecutionID: ctr2.ExecutionID, ToolResults: []ToolResult{{ToolCallID: "c3", ToolName: "confirm"}, ctr2.ServerToolResults[0], {ToolCallID: "c2", ToolName: "confirm"}}}
		assert.NoError(t, c2.AgentSessions.Attach("s", AttachOptions{Tools: tools}).CheckRequest(req))
	})
	t.Run("without a key duplicates are refused too", func(t *testing.T) {
		f3 := newFakePlatform(t)
		h := f3.client(t).AgentSessions.Handler(HandlerOptions{})
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, postJSON(continueBody(t, "e1", []ToolResult{client, client})))
		assert.Equal(t, http.StatusBadRequest, rec.Code)
		assert.Empty(t, f3.reqs())
	})
	t.Run("the socket answers a validation_error", func(t *testing.T) {
		before := len(f.reqs())
		conn := newMemConn(t)
		done := serveInBackground(func() error {
			return c.AgentSessions.Attach("sess_1", AttachOptions{Tools: tools}).ServeSocket(t.Context(), conn)
		})
		b, err := json.Marshal(map[string]any{"type": "continue", "executionId": ctr.ExecutionID, "toolResults": []ToolResult{server, client, {ToolCallID: "c1", ToolName: "confirm"}}})
		require.NoError(t, err)
		conn.send(string(b))
		assert.JSONEq(t, socketValidationError(`tool call "c1" is answered twice`), conn.next())
		close(conn.in)
		require.NoError(t, waitServed(t, done))
		assert.Len(t, f.reqs(), before)
	})
}

// Item 8: a RequestError of a hook with no status, a 2xx or a 5xx is
// answered 403, never a panic nor a success; WriteRequestError answers 400.
func TestBrowserHookStatusNormalised(t *testing.T) {
	f := newFakePlatform(t)
	c := f.client(t)
	for _, status := range []int{0, 200, 302, 500} {
		t.Run(strconv.Itoa(status), func(t *testing.T) {
			h := c.AgentSessions.Handler(HandlerOptions{Authorize: func(*http.Request, string) error {
				return &RequestError{Status: status, Message: "not yours"}
			}})
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, postJSON(`{"sessionId":"s","triggerName":"t"}`))
			assert.Equal(t, http.StatusForbidden, rec.Code)
			assert.JSONEq(t, `{"error":"not yours"}`, rec.Body.String())

			h = c.AgentSessions.Handler(HandlerOptions{Sender: func(*http.Request, string) (*MessageSender, error) {
				return nil, &RequestError{Status: status, Message: "who?"}
			}})
			rec = httptest.NewRecorder()
			h.ServeHTTP(rec, postJSON(`{"sessionId":"s","triggerName":"t"}`))
			assert.Equal(t, http.StatusForbidden, rec.Code)

			rec = httptest.NewRecorder()
			WriteRequestError(rec, &RequestError{Status: status, Message: "bad"})
			assert.Equal(t, http.StatusBadRequest, rec.Code)
		})
	}
	assert.Empty(t, f.reqs())
	rec := httptest.NewRecorder()
	WriteRequestError(rec, &RequestError{Status: http.StatusConflict, Message: "busy"})
	assert.Equal(t, http.StatusConflict, rec.Code, "a 4xx is kept")
}

// Item 12: a server result holding -0, a number out of the double range and
// exponent spellings survives the browser's JSON.parse/JSON.stringify.
func TestBrowserSignedNumbersRoundTrip(t *testing.T) {
	f := newFakePlatform(t)
	c, _ := clientWith(t, f, ClientOptions{ResultSigningKey: signingKey})
	tools := ToolHandlers{
		"lookup": constTool(json.RawMessage(`{"a":-0,"b":1E400,"c":[-0.0,1.0e2,1e21,0.0000001,123456789012345678901234567890],"d":-1e-400}`)),
	}
	ctr := signedRound(t, c, f, tools)
	require.Len(t, ctr.ServerToolResults, 1)
	server := ctr.ServerToolResults[0]
	// What Node's JSON.stringify(JSON.parse(...)) gives for that result.
	server.Result = json.RawMessage(`{"a":0,"b":null,"c":[0,100,1e+21,1e-7,1.2345678901234568e+29],"d":0}`)
	f.addLegs(eventsLeg(`{"type":"finish","finishReason":"stop","executionId":"e1"}`))
	rec := httptest.NewRecorder()
	c.AgentSessions.Handler(HandlerOptions{Tools: tools}).ServeHTTP(rec, postJSON(continueBody(t, ctr.ExecutionID, []ToolResult{server, {ToolCallID: "c2", ToolName: "confirm", Result: true}})))
	assert.Equal(t, http.StatusOK, rec.Code, rec.Body.String())

	// Go's own -0 (a float64 result, which encoding/json writes as -0).
	f2 := newFakePlatform(t)
	c2, _ := clientWith(t, f2, ClientOptions{ResultSigningKey: signingKey})
	tools2 := ToolHandlers{"lookup": constTool(map[string]any{"x": math.Copysign(0, -1)})}
	ctr2 := signedRound(t, c2, f2, tools2)
	server2 := ctr2.ServerToolResults[0]
	server2.Result = json.RawMessage(`{"x":0}`)
	req := ContinueRequest{ExecutionID: ctr2.ExecutionID, ToolResults: []ToolResult{server2, {ToolCallID: "c2", ToolName: "confirm", Result: true}}}
	assert.NoError(t, c2.AgentSessions.Attach("s", AttachOptions{Tools: tools2}).CheckRequest(req))
}

// canonicalCorpus is the corpus of the canonical form's oracle test: fixed
// edge cases, then numbers of every spelling drawn from a seeded source, so
// the file is the same on every run.
func canonicalCorpus() []string {
	lines := []string{
		`[-0,0,-0.0,0e10,-0e-10]`,
		`[1e21,1e20,999999999999999999999,1000000000000000000000,123456789012345678901234567890]`,
		`[1e-6,1e-7,0.000001,0.0000001,1.5e-7,0.00000123]`,
		`[5e-324,2.2250738585072014e-308,1.7976931348623157e308,1e-400,-1e-400]`,
		`[1E400,-1E400,1e309]`,
		`[9007199254740993,9007199254740992,-9007199254740993,18446744073709551616]`,
		`[0.1,0.2,0.30000000000000004,100,1E2,1.0,1.50,-2.5e+3,1e+0,12e-1]`,
		`["plain","<>&","\u2028\u2029","\u00e9\u4e2d\ud83d\ude00","\"\\\/","\b\f\n\r\t\u0001\u001f\u007f"]`,
		`{"b":1,"a":[true,false,null],"10":2,"9":3,"é":4,"":5}`,
		`{"nested":{"z":-0,"y":[{"x":1e21}]},"n":null}`,
		`"just a string"`, `-0`, `1e21`, `true`, `null`,
	}
	r := rand.New(rand.NewPCG(13, 12))
	for range 300 {
		nums := make([]string, 8)
		for i := range nums {
			var f float64
			switch r.IntN(4) {
			case 0:
				f = math.Float64frombits(r.Uint64())
			case 1:
				f = float64(r.Int64()) * math.Pow(10, float64(r.IntN(60)-30))
			case 2:
				f = float64(r.IntN(1_000_000)) / math.Pow(10, float64(r.IntN(12)))
			default:
				f = r.NormFloat64() * math.Pow(10, float64(r.IntN(44)-22))
			}
			if math.IsNaN(f) || math.IsInf(f, 0) {
				f = 0
			}
			switch r.IntN(4) {
			case 0:
				nums[i] = strconv.FormatFloat(f, 'g', -1, 64)
			case 1:
				nums[i] = strconv.FormatFloat(f, 'e', r.IntN(25), 64)
			case 2:
				nums[i] = strings.ToUpper(strconv.FormatFloat(f, 'E', -1, 64))
			default:
				nums[i] = strconv.FormatFloat(f, 'f', -1, 64)
			}
		}
		lines = append(lines, "["+strings.Join(nums, ",")+"]")
	}
	return lines
}

const (
	canonicalCorpusFile = "testdata/canonical-corpus.txt"
	canonicalGolden     = "testdata/canonical-oracle-golden.txt"
	canonicalScript     = "testdata/canonical-oracle.mjs"
)

// TestCanonicalJSONGolden compares the signing canonical form with what
// Node's JSON.stringify(JSON.parse(x)) gave for the corpus (the committed
// golden, so a fresh clone needs no Node).
func TestCanonicalJSONGolden(t *testing.T) {
	corpus, err := os.ReadFile(canonicalCorpusFile)
	require.NoError(t, err)
	assert.Equal(t, strings.Join(canonicalCorpus(), "\n")+"\n", string(corpus), "the corpus is current (OCTAVUS_UPDATE_GOLDEN=1 go test -run TestCanonicalJSONAgainstNode .)")
	golden, err := os.ReadFile(canonicalGolden)
	require.NoError(t, err)
	compareCanonical(t, strings.Split(strings.TrimSuffix(string(corpus), "\n"), "\n"), strings.Split(strings.TrimSuffix(string(golden), "\n"), "\n"))
}

// TestCanonicalJSONAgainstNode reruns Node over the corpus; with
// OCTAVUS_UPDATE_GOLDEN=1 it rewrites the corpus and the golden first.
func TestCanonicalJSONAgainstNode(t *testing.T) {
	node := testtool.Require(t, "node", "the canonical form is checked against the committed golden only")
	corpus := canonicalCorpus()
	if os.Getenv("OCTAVUS_UPDATE_GOLDEN") == "1" {
		require.NoError(t, os.WriteFile(canonicalCorpusFile, []byte(strings.Join(corpus, "\n")+"\n"), 0o644))
	}
	out, err := exec.Command(node, canonicalScript, canonicalCorpusFile).Output()
	require.NoError(t, err)
	if os.Getenv("OCTAVUS_UPDATE_GOLDEN") == "1" {
		require.NoError(t, os.WriteFile(canonicalGolden, out, 0o644))
	}
	compareCanonical(t, corpus, strings.Split(strings.TrimSuffix(string(out), "\n"), "\n"))
}

func compareCanonical(t *testing.T, corpus, want []string) {
	t.Helper()
	require.Len(t, want, len(corpus))
	bad := 0
	for i, line := range corpus {
		got, err := canonicalJSON([]byte(line))
		require.NoError(t, err, line)
		if string(got) != want[i] {
			bad++
			if bad <= 10 {
				t.Errorf("line %d: %s\n  go:   %s\n  node: %s", i+1, line, got, want[i])
			}
		}
	}
}

// jsNumberOracle is Number.prototype.toString by another route:
// encoding/json formats floats as ES6 does, but for -0 (written "-0") and
// the non-finite values it refuses.
func jsNumberOracle(f float64) string {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return "null"
	}
	if f == 0 {
		return "0"
	}
	b, _ := json.Marshal(f)
	return string(b)
}

func FuzzCanonicalJSON(f *testing.F) {
	for _, l := range canonicalCorpus()[:15] {
		f.Add([]byte(l))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if !json.Valid(data) {
			return
		}
		c, err := canonicalJSON(data)
		if err != nil {
			t.Fatalf("canonicalJSON(%q): %v", data, err)
		}
		if !json.Valid(c) {
			t.Fatalf("canonicalJSON(%q) = %q, not JSON", data, c)
		}
		c2, err := canonicalJSON(c)
		if err != nil || !bytes.Equal(c, c2) {
			t.Fatalf("not idempotent: %q -> %q -> %q (%v)", data, c, c2, err)
		}
		// Each number agrees with the oracle.
		d := json.NewDecoder(bytes.NewReader(data))
		d.UseNumber()
		for {
			tok, err := d.Token()
			if err != nil {
				break
			}
			if n, ok := tok.(json.Number); ok {
				v, _ := strconv.ParseFloat(string(n), 64)
				got := string(appendJSNumber(nil, v))
				if want := jsNumberOracle(v); got != want {
					t.Fatalf("%s: got %s, want %s", n, got, want)
				}
			}
		}
	})
}

func FuzzJSNumber(f *testing.F) {
	for _, v := range []float64{0, math.Copysign(0, -1), 1e21, 1e-7, 5e-324, math.MaxFloat64, 123.456, -1e20, 0.000001} {
		f.Add(math.Float64bits(v))
	}
	f.Fuzz(func(t *testing.T, bits uint64) {
		v := math.Float64frombits(bits)
		got := string(appendJSNumber(nil, v))
		if want := jsNumberOracle(v); got != want {
			t.Fatalf("%v: got %s, want %s", v, got, want)
		}
		if got != "null" {
			back, err := strconv.ParseFloat(got, 64)
			if err != nil || (back != v && !(v == 0 && back == 0)) {
				t.Fatalf("%v: %s reads back as %v (%v)", v, got, back, err)
			}
		}
	})
}

// deadlineWriter is a ResponseWriter whose connection deadlines
// http.ResponseController sets; it records them.
type deadlineWriter struct {
	*httptest.ResponseRecorder
	mu sync.Mutex
	// read is called with each read deadline.
	read func(time.Time)
	// writes holds, for each Write, the write deadline in force.
	writes   []time.Time
	deadline time.Time
	failAll  bool
}

func (w *deadlineWriter) SetReadDeadline(d time.Time) error {
	if w.read != nil {
		w.read(d)
	}
	return nil
}

func (w *deadlineWriter) SetWriteDeadline(d time.Time) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.deadline = d
	return nil
}

func (w *deadlineWriter) Write(b []byte) (int, error) {
	w.mu.Lock()
	w.writes = append(w.writes, w.deadline)
	fail := w.failAll
	w.mu.Unlock()
	if fail {
		return 0, errors.New("writer broke")
	}
	return w.ResponseRecorder.Write(b)
}

// deadlineBody is a request body that trickles: it blocks until a read
// deadline is set, then fails as the connection would once it passes.
type deadlineBody struct{ set chan struct{} }

func (b deadlineBody) Read([]byte) (int, error) {
	<-b.set
	return 0, fmt.Errorf("read tcp: %w", os.ErrDeadlineExceeded)
}

// Item 14: Handler bounds the body read with its own read deadline (and
// clears it for the stream); a trickled body is answered 408.
func TestBrowserTrickledBodyTimesOut(t *testing.T) {
	// Over HTTP/2 the 408 says nothing of the connection: Connection:
	// close there would end the browser's whole connection (a GOAWAY),
	// and the stream's reset is all it takes.
	for _, proto := range []int{1, 2} {
		t.Run(fmt.Sprintf("HTTP/%d", proto), func(t *testing.T) {
			f := newFakePlatform(t)
			set := make(chan struct{})
			var once sync.Once
			var deadlines []time.Time
			w := &deadlineWriter{ResponseRecorder: httptest.NewRecorder(), read: func(d time.Time) {
				deadlines = append(deadlines, d)
				if !d.IsZero() {
					once.Do(func() { close(set) })
				}
			}}
			r := httptest.NewRequest(http.MethodPost, "/api/trigger", deadlineBody{set})
			if proto == 2 { // httptest.NewRequest's is HTTP/1.1
				r.ProtoMajor, r.ProtoMinor, r.Proto = 2, 0, "HTTP/2.0"
			}
			r.Header.Set("Content-Type", "application/json")
			done := make(chan struct{})
			go func() {
				defer close(done)
				f.client(t).AgentSessions.Handler(HandlerOptions{}).ServeHTTP(w, r)
			}()
			waitDone(t, done, "the handler's return")
			assert.Equal(t, http.StatusRequestTimeout, w.Code)
			assert.JSONEq(t, `{"error":"body was not received in time"}`, w.Body.String())
			require.Len(t, deadlines, 1, "the passed deadline stays: net/http's read of the rest of the body then fails at once")
			assert.WithinDuration(t, time.Now().Add(defaultBodyReadTimeout), deadlines[0], defaultBodyReadTimeout/2, "the default bound is 30 s")
			if proto == 1 {
				assert.Equal(t, "close", w.Header().Get("Connection"))
			} else {
				assert.Empty(t, w.Header().Get("Connection"))
			}
			assert.Empty(t, f.reqs())
		})
	}
}

// Over real HTTP, a browser that sends part of its body and then nothing
// gets its answer, and the connection is closed: net/http does not wait,
// with no deadline, for the rest of the body before it answers. So for
// the answers given before the body was read: the wrong method, the wrong
// Content-Type, a body over the limit, the body read's deadline.
func TestBrowserTrickledBodyTimesOutOverHTTP(t *testing.T) {
	for _, tc := range []struct {
		name, method, contentType, sent string
		status                          int
		message                         string
	}{
		{"408", "POST", "application/json", `{"sessionId":`, http.StatusRequestTimeout, `{"error":"body was not received in time"}`},
		{"405", "GET", "application/json", `{"se`, http.StatusMethodNotAllowed, `{"error":"method must be POST"}`},
		{"415", "POST", "text/plain", `{"se`, http.StatusUnsupportedMediaType, `{"error":"Content-Type must be application/json"}`},
		{"413", "POST", "application/json", strings.Repeat(" ", 40), http.StatusRequestEntityTooLarge, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakePlatform(t)
			app := httptest.NewServer(f.client(t).AgentSessions.Handler(HandlerOptions{BodyReadTimeout: 20 * time.Millisecond, MaxRequestBody: 32}))
			defer app.Close()
			conn, err := net.Dial("tcp", app.Listener.Addr().String())
			require.NoError(t, err)
			defer conn.Close()
			// A bound for the whole test, so that the old behaviour fails
			// it instead of hanging: the answer is due at once (408:
			// after 20 ms).
			require.NoError(t, conn.SetDeadline(time.Now().Add(20*time.Second)))
			_, err = io.WriteString(conn, tc.method+" /api/trigger HTTP/1.1\r\nHost: app\r\nContent-Type: "+tc.contentType+"\r\nContent-Length: 100\r\n\r\n"+tc.sent)
			require.NoError(t, err)
			br := bufio.NewReader(conn)
			resp, err := http.ReadResponse(br, nil)
			require.NoError(t, err, "the answer arrives while the rest of the body is still due")
			body, err := io.ReadAll(resp.Body)
			require.NoError(t, err)
			assert.Equal(t, tc.status, resp.StatusCode)
			if tc.message != "" {
				assert.JSONEq(t, tc.message, string(body))
			}
			assert.True(t, resp.Close, "Connection: close")
			_, err = br.ReadByte()
			assert.ErrorIs(t, err, io.EOF, "the server closed the connection")
			assert.Empty(t, f.reqs())
		})
	}
}

// Item 14: the SSE writer gives every write its own deadline, so a server
// WriteTimeout does not cut the stream and a stuck browser does not hold a
// write forever.
func TestBrowserSSEExtendsItsWriteDeadline(t *testing.T) {
	w := &deadlineWriter{ResponseRecorder: httptest.NewRecorder()}
	events := make(chan StreamEvent)
	done := make(chan struct{})
	go func() {
		defer close(done)
		ToSSEStream(events).ServeHTTP(w, httptest.NewRequest("POST", "/", nil))
	}()
	start := time.Now()
	for i := range 3 {
		events <- &TextDeltaEvent{ID: "t", Delta: strconv.Itoa(i)}
	}
	close(events)
	waitDone(t, done, "the stream's end")
	require.NotEmpty(t, w.writes)
	for i, d := range w.writes {
		assert.False(t, d.Before(start.Add(defaultWriteTimeout)), "write %d has a deadline of now+30 s (%v)", i, d)
	}
	assert.True(t, w.deadline.IsZero(), "the deadline is lifted at the end, for the next response on the connection")
}

// Item 15: a session id with a control character is refused 400 (Handler)
// and with a validation_error (socket init); so is a body or a message that
// is not UTF-8.
func TestBrowserInputHygiene(t *testing.T) {
	f := newFakePlatform(t)
	h := f.client(t).AgentSessions.Handler(HandlerOptions{})
	for _, body := range []string{
		`{"sessionId":"s\n1","triggerName":"t"}`,
		`{"sessionId":"s\u0000","triggerName":"t"}`,
		`{"sessionId":"s\u007f","triggerName":"t"}`,
		`{"sessionId":"s\u0085","triggerName":"t"}`,
	} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, postJSON(body))
		assert.Equal(t, http.StatusBadRequest, rec.Code, body)
		assert.JSONEq(t, `{"error":"\"sessionId\" must not contain control characters"}`, rec.Body.String())
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, postJSON("{\"sessionId\":\"s\",\"type\":\"continue\",\"executionId\":\"e1\",\"toolResults\":[{\"toolCallId\":\"c1\",\"toolName\":\"t\",\"result\":\"\xff\xfe\"}]}"))
	assert.Equal(t, http.StatusBadRequest, rec.Code)
	assert.JSONEq(t, `{"error":"body is not valid UTF-8"}`, rec.Body.String())
	_, _, err := ReadRequest(postJSON("{\"sessionId\":\"s\",\"triggerName\":\"t\",\"input\":{\"x\":\"\xc3\"}}"))
	assert.Error(t, err)

	conn := newMemConn(t)
	done := serveInBackground(func() error {
		return ServeSocket(t.Context(), conn, func(context.Context, string) (*AgentSession, error) {
			return nil, errors.New("not reached")
		})
	})
	conn.send(`{"type":"init","sessionId":"a\rb"}`)
	assert.JSONEq(t, socketValidationError(`"sessionId" must not contain control characters`), conn.next())
	conn.send("{\"type\":\"trigger\",\"triggerName\":\"t\",\"input\":{\"x\":\"\xff\"}}")
	assert.JSONEq(t, socketValidationError("message is not valid UTF-8"), conn.next())
	close(conn.in)
	require.NoError(t, waitServed(t, done))
	assert.Empty(t, f.reqs())
}

// Item 15: ToSSEStream(nil) is an empty stream, not a goroutine parked for
// good.
func TestBrowserToSSEStreamNilChannel(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	rec := httptest.NewRecorder()
	done := make(chan struct{})
	go func() {
		defer close(done)
		ToSSEStream(nil).ServeHTTP(rec, httptest.NewRequest("POST", "/", nil))
	}()
	waitDone(t, done, "the handler's return")
	assert.Equal(t, "data: [DONE]\n\n", rec.Body.String())
}

// Item 15: a writer that fails stops the execution although the request's
// context lives on: the platform request is cancelled and the handler
// returns, through ToSSEStream and through Handler.
func TestBrowserFailedWriterStopsTheExecution(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	f := newFakePlatform(t)
	c := f.client(t)
	serve := map[string]func(w http.ResponseWriter, r *http.Request){
		"ToSSEStream": func(w http.ResponseWriter, r *http.Request) {
			ToSSEStream(c.AgentSessions.Attach("s", AttachOptions{}).Execute(r.Context(), userMessage)).ServeHTTP(w, r)
		},
		"Handler": func(w http.ResponseWriter, r *http.Request) {
			c.AgentSessions.Handler(HandlerOptions{}).ServeHTTP(w, r)
		},
	}
	for _, name := range []string{"ToSSEStream", "Handler"} {
		t.Run(name, func(t *testing.T) {
			aborted := make(chan struct{})
			f.addLegs(stallLeg(nil, aborted, `{"type":"start","executionId":"e"}`))
			w := &deadlineWriter{ResponseRecorder: httptest.NewRecorder(), failAll: true}
			done := make(chan struct{})
			go func() {
				defer close(done)
				serve[name](w, postJSON(`{"sessionId":"s","triggerName":"user-message"}`))
			}()
			waitDone(t, aborted, "the platform request's cancellation")
			waitDone(t, done, "the handler's return")
		})
	}
	f.srv.Close()
	c.hc.CloseIdleConnections()
}

// Item 14/15 together: a real server with a short WriteTimeout streams
// past it, since each write moves the deadline.
func TestBrowserStreamOutlivesServerWriteTimeout(t *testing.T) {
	events := make(chan StreamEvent)
	srv := httptest.NewUnstartedServer(ToSSEStream(events, SSEOptions{WriteTimeout: time.Minute}))
	srv.Config.WriteTimeout = 50 * time.Millisecond
	srv.Start()
	defer srv.Close()
	resp, err := srv.Client().Post(srv.URL, "application/json", nil)
	require.NoError(t, err)
	defer resp.Body.Close()
	// The server's WriteTimeout passes before the events are written: the
	// stream would be cut there without the writer's own deadline.
	time.Sleep(100 * time.Millisecond)
	events <- &TextDeltaEvent{ID: "t", Delta: "late"}
	close(events)
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	assert.Equal(t, "data: {\"type\":\"text-delta\",\"id\":\"t\",\"delta\":\"late\"}\n\ndata: [DONE]\n\n", string(b))
}
