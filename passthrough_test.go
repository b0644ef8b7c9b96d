package octavus

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func postJSON(body string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/api/trigger", strings.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	return r
}

func TestHandlerRefusesMalformedRequests(t *testing.T) {
	cases := []struct {
		name, body string
		status     int
		message    string
	}{
		{"bad JSON", `{"sessionId":`, 400, "body is not valid JSON"},
		{"not an object", `[1,2]`, 400, "body must be a JSON object"},
		{"missing sessionId", `{"type":"trigger","triggerName":"t"}`, 400, `"sessionId" is required and must be a string`},
		{"sessionId not a string", `{"sessionId":5,"type":"trigger","triggerName":"t"}`, 400, `"sessionId" is required and must be a string`},
		{"empty sessionId", `{"sessionId":"","type":"trigger","triggerName":"t"}`, 400, `"sessionId" must not be empty`},
		{"unknown type", `{"sessionId":"s","type":"restart"}`, 400, `"type" must be "trigger" or "continue"`},
		{"type not a string", `{"sessionId":"s","type":1}`, 400, `"type" must be "trigger" or "continue"`},
		{"missing triggerName", `{"sessionId":"s","type":"trigger"}`, 400, `"triggerName" is required and must be a string`},
		{"empty triggerName", `{"sessionId":"s","type":"trigger","triggerName":""}`, 400, `"triggerName" must not be empty`},
		{"input not an object", `{"sessionId":"s","type":"trigger","triggerName":"t","input":[1]}`, 400, `"input" must be an object`},
		{"rollback a number", `{"sessionId":"s","type":"trigger","triggerName":"t","rollbackAfterMessageId":5}`, 400, `"rollbackAfterMessageId" must be a string or null`},
		{"rollback an object", `{"sessionId":"s","type":"trigger","triggerName":"t","rollbackAfterMessageId":{}}`, 400, `"rollbackAfterMessageId" must be a string or null`},
		{"rollback a boolean", `{"sessionId":"s","type":"trigger","triggerName":"t","rollbackAfterMessageId":false}`, 400, `"rollbackAfterMessageId" must be a string or null`},
		{"missing executionId", `{"sessionId":"s","type":"continue","toolResults":[]}`, 400, `"executionId" is required and must be a string`},
		{"empty executionId", `{"sessionId":"s","type":"continue","executionId":"","toolResults":[]}`, 400, `"executionId" must not be empty`},
		{"missing toolResults", `{"sessionId":"s","type":"continue","executionId":"e"}`, 400, `"toolResults" is required and must be an array`},
		{"toolResults not an array", `{"sessionId":"s","type":"continue","executionId":"e","toolResults":{}}`, 400, `"toolResults" is required and must be an array`},
		{"toolResults item not an object", `{"sessionId":"s","type":"continue","executionId":"e","toolResults":[1]}`, 400, `"toolResults" must be an array of objects`},
		{"toolResult without toolCallId", `{"sessionId":"s","type":"continue","executionId":"e","toolResults":[{"result":1}]}`, 400, `field "toolResults[0].toolCallId": required`},
		{"toolResult error not a string", `{"sessionId":"s","type":"continue","executionId":"e","toolResults":[{"toolCallId":"c","error":5}]}`, 400, `field "toolResults[0].error": want string, got number`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakePlatform(t)
			h := f.client(t).AgentSessions.Handler(HandlerOptions{})
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, postJSON(tc.body))
			assert.Equal(t, tc.status, rec.Code)
			assert.Equal(t, "application/json", rec.Header().Get("Content-Type"))
			assert.JSONEq(t, `{"error":`+jsonString(tc.message)+`}`, rec.Body.String())
			assert.Empty(t, f.reqs(), "nothing reaches the platform")
		})
	}
}

func TestHandlerRefusesWrongMethodTypeAndSize(t *testing.T) {
	f := newFakePlatform(t)
	h := f.client(t).AgentSessions.Handler(HandlerOptions{})

	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/api/trigger", nil))
	assert.Equal(t, http.StatusMethodNotAllowed, rec.Code)
	assert.Equal(t, "POST", rec.Header().Get("Allow"))

	rec = httptest.NewRecorder()
	r := httptest.NewRequest(http.MethodPost, "/api/trigger", strings.NewReader(`{}`))
	r.Header.Set("Content-Type", "text/plain")
	h.ServeHTTP(rec, r)
	assert.Equal(t, http.StatusUnsupportedMediaType, rec.Code)

	rec = httptest.NewRecorder()
	big := `{"sessionId":"s","triggerName":"t","input":{"x":"` + strings.Repeat("a", DefaultMaxContinueBody) + `"}}`
	h.ServeHTTP(rec, postJSON(big))
	assert.Equal(t, http.StatusRequestEntityTooLarge, rec.Code)

	// A charset parameter is fine.
	f.addLegs(eventsLeg(`{"type":"finish","finishReason":"stop"}`))
	rec = httptest.NewRecorder()
	r = postJSON(`{"sessionId":"s","type":"trigger","triggerName":"t"}`)
	r.Header.Set("Content-Type", "application/json; charset=utf-8")
	h.ServeHTTP(rec, r)
	assert.Equal(t, http.StatusOK, rec.Code)

	assert.Len(t, f.reqs(), 1, "only the valid request reached the platform")
}

func TestHandlerStreamsTriggerAndContinue(t *testing.T) {
	f := newFakePlatform(t)
	f.addLegs(
		eventsLeg(
			`{"type":"start","executionId":"e1"}`,
			`{"type":"tool-request","toolCalls":[{"toolCallId":"c1","toolName":"lookup","args":{"q":"x"}},{"toolCallId":"c2","toolName":"confirm","args":{}}]}`,
			`{"type":"finish","finishReason":"tool-calls"}`,
		),
		eventsLeg(`{"type":"text-delta","id":"t","delta":"ok"}`, `{"type":"finish","finishReason":"stop","executionId":"e1"}`),
	)
	h := f.client(t).AgentSessions.Handler(HandlerOptions{Tools: ToolHandlers{"lookup": constTool("found")}})

	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, postJSON(`{"sessionId":"sess/1","type":"trigger","triggerName":"user-message","input":{"USER_MESSAGE":"hi"}}`))
	payloads, done := ssePayloads(t, rec.Body.String())
	assert.True(t, done)
	requireJSONList(t, []string{
		`{"type":"start","executionId":"e1"}`,
		`{"type":"tool-output-available","toolCallId":"c1","output":"found"}`,
		`{"type":"client-tool-request","executionId":"e1","toolCalls":[{"toolCallId":"c2","toolName":"confirm","args":{}}],"serverToolResults":[{"toolCallId":"c1","toolName":"lookup","result":"found"}]}`,
		`{"type":"finish","finishReason":"client-tool-calls","executionId":"e1"}`,
	}, payloads)

	// The browser answers its tool and sends the server result back.
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, postJSON(`{"sessionId":"sess/1","type":"continue","executionId":"e1","toolResults":[{"toolCallId":"c1","toolName":"lookup","result":"found"},{"toolCallId":"c2","toolName":"confirm","result":{"ok":true}}]}`))
	payloads, done = ssePayloads(t, rec.Body.String())
	assert.True(t, done)
	requireJSONList(t, []string{`{"type":"text-delta","id":"t","delta":"ok"}`, `{"type":"finish","finishReason":"stop","executionId":"e1"}`}, payloads)

	requireJSONList(t, []string{
		`{"triggerName":"user-message","input":{"USER_MESSAGE":"hi"}}`,
		`{"executionId":"e1","toolResults":[{"toolCallId":"c1","toolName":"lookup","result":"found"},{"toolCallId":"c2","toolName":"confirm","result":{"ok":true}}]}`,
	}, f.triggerBodies())
	for _, r := range f.reqs() {
		assert.Equal(t, "/api/agent-sessions/sess%2F1/trigger", r.RawPath, "the session id is one escaped path segment")
	}
}

func TestHandlerAuthorize(t *testing.T) {
	f := newFakePlatform(t)
	var gotSession string
	h := f.client(t).AgentSessions.Handler(HandlerOptions{Authorize: func(r *http.Request, sessionID string) error {
		gotSession = sessionID
		if sessionID == "mine" {
			return nil
		}
		if sessionID == "gone" {
			return &RequestError{Status: http.StatusNotFound, Message: "no such chat"}
		}
		return errors.New("user 42 does not own " + sessionID)
	}})

	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, postJSON(`{"sessionId":"theirs","triggerName":"t"}`))
	assert.Equal(t, http.StatusForbidden, rec.Code)
	assert.JSONEq(t, `{"error":"Forbidden"}`, rec.Body.String(), "the error's text stays on the server")
	assert.Equal(t, "theirs", gotSession)

	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, postJSON(`{"sessionId":"gone","triggerName":"t"}`))
	assert.Equal(t, http.StatusNotFound, rec.Code)
	assert.JSONEq(t, `{"error":"no such chat"}`, rec.Body.String())
	assert.Empty(t, f.reqs())

	f.addLegs(eventsLeg(`{"type":"finish","finishReason":"stop"}`))
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, postJSON(`{"sessionId":"mine","triggerName":"t"}`))
	assert.Equal(t, http.StatusOK, rec.Code)
	assert.Len(t, f.reqs(), 1)
}

func TestDecodeSessionRequest(t *testing.T) {
	req, err := DecodeSessionRequest([]byte(`{"type":"trigger","triggerName":"go","input":{"n":1.5,"s":"x"},"sessionId":"ignored"}`))
	require.NoError(t, err)
	assert.Equal(t, TriggerRequest{TriggerName: "go", Input: map[string]any{"n": 1.5, "s": "x"}}, req)

	req, err = DecodeSessionRequest([]byte(`{"triggerName":"legacy"}`))
	require.NoError(t, err)
	assert.Equal(t, TriggerRequest{TriggerName: "legacy"}, req, "no type means trigger, as in the reference")

	req, err = DecodeSessionRequest([]byte(`{"type":"continue","executionId":"e","toolResults":[{"toolCallId":"c","result":[1,"a"],"blockIndex":3}]}`))
	require.NoError(t, err)
	cr := req.(ContinueRequest)
	assert.Equal(t, "e", cr.ExecutionID)
	require.Len(t, cr.ToolResults, 1)
	assert.Equal(t, "c", cr.ToolResults[0].ToolCallID)
	assert.JSONEq(t, `[1,"a"]`, string(cr.ToolResults[0].Result.(json.RawMessage)))
	assert.Equal(t, 3, *cr.ToolResults[0].BlockIndex)

	_, err = DecodeSessionRequest([]byte(`nope`))
	var re *RequestError
	require.ErrorAs(t, err, &re)
	assert.Equal(t, http.StatusBadRequest, re.Status)
}

func TestSessionRequestMarshal(t *testing.T) {
	b, err := marshalJSON(TriggerRequest{TriggerName: "t", Input: map[string]any{"a": 1}})
	require.NoError(t, err)
	assert.JSONEq(t, `{"type":"trigger","triggerName":"t","input":{"a":1}}`, string(b))
	b, err = marshalJSON(ContinueRequest{ExecutionID: "e"})
	require.NoError(t, err)
	assert.JSONEq(t, `{"type":"continue","executionId":"e","toolResults":[]}`, string(b))
	// A marshalled request decodes back to itself.
	req, err := DecodeSessionRequest(b)
	require.NoError(t, err)
	assert.Equal(t, ContinueRequest{ExecutionID: "e", ToolResults: []ToolResult{}}, req)
}

func TestDecodeRollbackThreeStates(t *testing.T) {
	cases := []struct {
		body   string
		want   Rollback
		id     string
		ok     bool
		marshl string
	}{
		{`{"type":"trigger","triggerName":"t"}`, Rollback{}, "", false, `{"type":"trigger","triggerName":"t"}`},
		{`{"type":"trigger","triggerName":"t","rollbackAfterMessageId":null}`, RollbackAll(), "", false, `{"type":"trigger","triggerName":"t","rollbackAfterMessageId":null}`},
		{`{"type":"trigger","triggerName":"t","rollbackAfterMessageId":"m7"}`, RollbackAfter("m7"), "m7", true, `{"type":"trigger","triggerName":"t","rollbackAfterMessageId":"m7"}`},
		{`{"type":"trigger","triggerName":"t","rollbackAfterMessageId":""}`, RollbackAfter(""), "", true, `{"type":"trigger","triggerName":"t","rollbackAfterMessageId":""}`},
	}
	for _, tc := range cases {
		req, err := DecodeSessionRequest([]byte(tc.body))
		require.NoError(t, err, tc.body)
		tr := req.(TriggerRequest)
		assert.Equal(t, tc.want, tr.Rollback, tc.body)
		assert.Equal(t, tc.want.IsSet(), tr.Rollback.IsSet())
		id, ok := tr.Rollback.AfterMessageID()
		assert.Equal(t, tc.id, id)
		assert.Equal(t, tc.ok, ok)
		b, err := marshalJSON(tr)
		require.NoError(t, err)
		assert.Equal(t, tc.marshl, string(b), "the browser's shape, key for key")
		again, err := DecodeSessionRequest(b)
		require.NoError(t, err)
		assert.Equal(t, tr, again, "a marshalled trigger decodes back to itself")
	}
}

func TestDecodeIgnoresTheBrowsersSender(t *testing.T) {
	req, err := DecodeSessionRequest([]byte(`{"type":"trigger","triggerName":"t","sender":{"id":"admin","name":"Root"}}`))
	require.NoError(t, err)
	assert.Nil(t, req.(TriggerRequest).Sender)
	// MarshalJSON never writes one either: the browser does not send it.
	b, err := marshalJSON(TriggerRequest{TriggerName: "t", Sender: &MessageSender{ID: "u"}})
	require.NoError(t, err)
	assert.Equal(t, `{"type":"trigger","triggerName":"t"}`, string(b))
}

func TestReadRequestRollback(t *testing.T) {
	_, req, err := ReadRequest(postJSON(`{"sessionId":"s","type":"trigger","triggerName":"t","rollbackAfterMessageId":null}`))
	require.NoError(t, err)
	assert.Equal(t, RollbackAll(), req.(TriggerRequest).Rollback)
}

// TestHandlerRollbackAndSender: the browser's retry() rollback reaches the
// platform through Handler, and the sender comes from the hook, never from
// the browser.
func TestHandlerRollbackAndSender(t *testing.T) {
	cases := []struct {
		name   string
		hook   func(r *http.Request, sessionID string) (*MessageSender, error)
		body   string
		want   string
		status int
		answer string
	}{
		{"hook sets the sender; the browser's is ignored",
			func(r *http.Request, sessionID string) (*MessageSender, error) {
				return &MessageSender{ID: r.Header.Get("X-User") + "@" + sessionID, Name: "Ada"}, nil
			},
			`{"sessionId":"s1","type":"trigger","triggerName":"user-message","input":{"USER_MESSAGE":"hi"},"rollbackAfterMessageId":"m3","sender":{"id":"forged"}}`,
			`{"triggerName":"user-message","input":{"USER_MESSAGE":"hi"},"rollbackAfterMessageId":"m3","sender":{"id":"u1@s1","name":"Ada"}}`, 200, ""},
		{"no hook: no sender even when the browser sends one",
			nil,
			`{"sessionId":"s1","type":"trigger","triggerName":"user-message","rollbackAfterMessageId":null,"sender":{"id":"forged"}}`,
			`{"triggerName":"user-message","rollbackAfterMessageId":null}`, 200, ""},
		{"hook returns nil: no sender",
			func(*http.Request, string) (*MessageSender, error) { return nil, nil },
			`{"sessionId":"s1","type":"trigger","triggerName":"user-message"}`,
			`{"triggerName":"user-message"}`, 200, ""},
		{"hook not called for a continue",
			func(*http.Request, string) (*MessageSender, error) { panic("called for a continue") },
			`{"sessionId":"s1","type":"continue","executionId":"e1","toolResults":[]}`,
			`{"executionId":"e1","toolResults":[]}`, 200, ""},
		{"hook error: 403, nothing sent",
			func(*http.Request, string) (*MessageSender, error) { return nil, errors.New("db down at 10.0.0.3") },
			`{"sessionId":"s1","type":"trigger","triggerName":"user-message"}`,
			"", 403, `{"error":"Forbidden"}`},
		{"hook RequestError: its status and message",
			func(*http.Request, string) (*MessageSender, error) {
				return nil, &RequestError{Status: http.StatusUnauthorized, Message: "sign in first"}
			},
			`{"sessionId":"s1","type":"trigger","triggerName":"user-message"}`,
			"", 401, `{"error":"sign in first"}`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakePlatform(t)
			f.addLegs(eventsLeg(`{"type":"finish","finishReason":"stop"}`))
			srv := httptest.NewServer(f.client(t).AgentSessions.Handler(HandlerOptions{Sender: tc.hook}))
			defer srv.Close()
			req, err := http.NewRequest(http.MethodPost, srv.URL, strings.NewReader(tc.body))
			require.NoError(t, err)
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("X-User", "u1")
			resp, err := srv.Client().Do(req)
			require.NoError(t, err)
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			assert.Equal(t, tc.status, resp.StatusCode)
			if tc.want == "" {
				assert.JSONEq(t, tc.answer, string(body))
				assert.Empty(t, f.triggerBodies())
				return
			}
			assert.Equal(t, []string{tc.want}, f.triggerBodies())
		})
	}
}
