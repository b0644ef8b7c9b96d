package octavus

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// escapedPath is the path of a recorded request as it was on the wire.
func escapedPath(r recorded) string {
	return (&url.URL{Path: r.Path, RawPath: r.RawPath}).EscapedPath()
}

// oneRequest returns the only request the fake received.
func oneRequest(t *testing.T, f *fakePlatform) recorded {
	t.Helper()
	got := f.reqs()
	require.Len(t, got, 1)
	return got[0]
}

func TestCreateSession(t *testing.T) {
	cases := []struct {
		name     string
		input    map[string]any
		wantBody string
	}{
		{"nil input omits input", nil, `{"agentId":"agent_1"}`},
		{"empty input sends {}", map[string]any{}, `{"agentId":"agent_1","input":{}}`},
		{"input", map[string]any{"userId": "u1", "n": 2, "nested": map[string]any{"ok": true}},
			`{"agentId":"agent_1","input":{"userId":"u1","n":2,"nested":{"ok":true}}}`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakePlatform(t)
			f.handle("POST /api/agent-sessions", statusLeg(http.StatusCreated, `{"sessionId":"sess_1"}`))
			id, err := f.client(t).AgentSessions.Create(context.Background(), "agent_1", tc.input)
			require.NoError(t, err)
			require.Equal(t, "sess_1", id)
			r := oneRequest(t, f)
			require.Equal(t, http.MethodPost, r.Method)
			require.Equal(t, "/api/agent-sessions", r.Path)
			require.Empty(t, r.Query)
			require.JSONEq(t, tc.wantBody, string(r.Body))
		})
	}
}

func TestCreateSessionExactBodyBytes(t *testing.T) {
	f := newFakePlatform(t)
	f.handle("POST /api/agent-sessions", jsonRoute(`{"sessionId":"sess_1"}`))
	_, err := f.client(t).AgentSessions.Create(context.Background(), "a<b>&c", nil)
	require.NoError(t, err)
	// JSON.stringify does not escape <, > and &.
	require.Equal(t, `{"agentId":"a<b>&c"}`, string(oneRequest(t, f).Body))
}

func TestCreateSessionBadAnswers(t *testing.T) {
	for _, answer := range []string{
		`{}`,
		`{"id":"sess_1"}`,
		`{"sessionId":5}`,
		`{"sessionId":null}`,
		`[]`,
		`"sess_1"`,
		`not json`,
		``,
	} {
		t.Run(answer, func(t *testing.T) {
			f := newFakePlatform(t)
			f.handle("POST /api/agent-sessions", jsonRoute(answer))
			id, err := f.client(t).AgentSessions.Create(context.Background(), "agent_1", nil)
			require.Error(t, err)
			require.Empty(t, id)
			var apiErr *APIError
			require.False(t, errors.As(err, &apiErr))
		})
	}
}

const fullSessionState = `{"id":"sess_1","agentId":"agent_1","input":{"userId":"u1"},"variables":{"count":2},"resources":{"NOTES":"hi"},
"messages":[
 {"id":"m1","role":"user","parts":[{"type":"text","visible":true,"content":"Hello"}],"createdAt":"2024-01-15T10:30:00.000Z","content":"Hello"},
 {"id":"m2","role":"assistant","parts":[
   {"type":"reasoning","visible":false,"content":"thinking"},
   {"type":"tool-call","visible":true,"toolCall":{"id":"c1","name":"get-user","description":"Gets a user","arguments":{"id":"u1"},"status":"available","result":{"name":"Ann"}}},
   {"type":"source","visible":true,"source":{"sourceType":"url","id":"s1","url":"https://example.com","title":"Ex"}},
   {"type":"source","visible":true,"source":{"sourceType":"document","id":"s2","mediaType":"application/pdf","title":"Doc","filename":"d.pdf"}},
   {"type":"file","visible":true,"file":{"id":"f1","mediaType":"image/png","url":"https://cdn.example/f1.png","filename":"f1.png","size":2048,"toolCallId":"c1"}},
   {"type":"object","visible":true,"object":{"id":"o1","typeName":"Summary","value":{"title":"T"}}},
   {"type":"text","visible":true,"content":"Done","thread":"side"}
 ],"createdAt":"2024-01-15T10:30:01.000Z","content":"Done",
 "toolCalls":[{"id":"c1","name":"get-user","arguments":{"id":"u1"},"status":"error","error":"boom"}]},
 {"id":"m3","role":"system","parts":[],"createdAt":"2024-01-15T10:29:00.000Z","content":"You are"}
],
"status":"active","createdAt":"2024-01-15T10:29:00.000Z","updatedAt":"2024-01-15T10:31:00.000Z"}`

func ptr[T any](v T) *T { return &v }

func wantFullSessionState() *SessionState {
	return &SessionState{
		ID:        "sess_1",
		AgentID:   "agent_1",
		Input:     map[string]any{"userId": "u1"},
		Variables: map[string]any{"count": float64(2)},
		Resources: map[string]any{"NOTES": "hi"},
		Messages: []ChatMessage{
			{ID: "m1", Role: RoleUser, Parts: []MessagePart{{Type: "text", Visible: true, Content: "Hello"}},
				CreatedAt: "2024-01-15T10:30:00.000Z", Content: "Hello"},
			{ID: "m2", Role: RoleAssistant, Parts: []MessagePart{
				{Type: "reasoning", Visible: false, Content: "thinking"},
				{Type: "tool-call", Visible: true, ToolCall: &ToolCallInfo{ID: "c1", Name: "get-user", Description: "Gets a user",
					Arguments: json.RawMessage(`{"id":"u1"}`), Status: "available", Result: json.RawMessage(`{"name":"Ann"}`)}},
				{Type: "source", Visible: true, Source: &SourceInfo{SourceType: "url", ID: "s1", URL: "https://example.com", Title: "Ex"}},
				{Type: "source", Visible: true, Source: &SourceInfo{SourceType: "document", ID: "s2", MediaType: "application/pdf", Title: "Doc", Filename: "d.pdf"}},
				{Type: "file", Visible: true, File: &FileInfo{ID: "f1", MediaType: "image/png", URL: "https://cdn.example/f1.png",
					Filename: "f1.png", Size: ptr(2048.0), ToolCallID: "c1"}},
				{Type: "object", Visible: true, Object: &ObjectInfo{ID: "o1", TypeName: "Summary", Value: json.RawMessage(`{"title":"T"}`)}},
				{Type: "text", Visible: true, Content: "Done", Thread: "side"},
			},
				CreatedAt: "2024-01-15T10:30:01.000Z", Content: "Done",
				ToolCalls: []ToolCallInfo{{ID: "c1", Name: "get-user", Arguments: json.RawMessage(`{"id":"u1"}`), Status: "error", Error: "boom"}}},
			{ID: "m3", Role: RoleSystem, Parts: []MessagePart{}, CreatedAt: "2024-01-15T10:29:00.000Z", Content: "You are"},
		},
		Status:    SessionActive,
		CreatedAt: "2024-01-15T10:29:00.000Z",
		UpdatedAt: "2024-01-15T10:31:00.000Z",
	}
}

// editJSON decodes the JSON object doc, applies edit and encodes it again.
func editJSON(t *testing.T, doc string, edit func(m map[string]any)) string {
	t.Helper()
	var m map[string]any
	require.NoError(t, json.Unmarshal([]byte(doc), &m))
	edit(m)
	b, err := json.Marshal(m)
	require.NoError(t, err)
	return string(b)
}

func TestGetSessionActive(t *testing.T) {
	f := newFakePlatform(t)
	f.handle("GET /api/agent-sessions/sess_1", jsonRoute(fullSessionState))
	st, err := f.client(t).AgentSessions.Get(context.Background(), "sess_1")
	require.NoError(t, err)
	want := wantFullSessionState()
	// RawMessage fields keep the answer's bytes; the fixture has no spaces
	// inside them.
	require.Equal(t, want, st)
	require.False(t, st.Expired())

	r := oneRequest(t, f)
	require.Equal(t, http.MethodGet, r.Method)
	require.Equal(t, "/api/agent-sessions/sess_1", r.Path)
	require.Empty(t, r.Query)
	require.Empty(t, r.Body)
}

func TestGetSessionActiveWithoutStatus(t *testing.T) {
	f := newFakePlatform(t)
	f.handle("GET /api/agent-sessions/sess_1", jsonRoute(editJSON(t, fullSessionState, func(m map[string]any) { delete(m, "status") })))
	st, err := f.client(t).AgentSessions.Get(context.Background(), "sess_1")
	require.NoError(t, err)
	require.Equal(t, SessionActive, st.Status)
	require.False(t, st.Expired())
	require.Equal(t, "sess_1", st.ID)
	require.Len(t, st.Messages, 3)
}

func TestGetSessionMinimalActive(t *testing.T) {
	f := newFakePlatform(t)
	f.handle("GET /api/agent-sessions/sess_1", jsonRoute(`{"id":"sess_1","agentId":"agent_1","input":{},"variables":{},"resources":{},"messages":[],"createdAt":"c","updatedAt":"u"}`))
	st, err := f.client(t).AgentSessions.Get(context.Background(), "sess_1")
	require.NoError(t, err)
	require.Equal(t, &SessionState{ID: "sess_1", AgentID: "agent_1", Input: map[string]any{}, Variables: map[string]any{},
		Resources: map[string]any{}, Messages: []ChatMessage{}, Status: SessionActive, CreatedAt: "c", UpdatedAt: "u"}, st)
}

const expiredAnswer = `{"sessionId":"sess_1","agentId":"agent_1","status":"expired","createdAt":"2024-01-15T10:29:00.000Z"}`

func TestGetSessionExpired(t *testing.T) {
	f := newFakePlatform(t)
	f.handle("GET /api/agent-sessions/sess_1", jsonRoute(expiredAnswer))
	st, err := f.client(t).AgentSessions.Get(context.Background(), "sess_1")
	require.NoError(t, err)
	require.Equal(t, &SessionState{ID: "sess_1", AgentID: "agent_1", Status: SessionExpired, CreatedAt: "2024-01-15T10:29:00.000Z"}, st)
	require.True(t, st.Expired())
}

func TestGetSessionExpiredWithExtraKeys(t *testing.T) {
	// zod strips unknown keys: the expired schema still matches.
	f := newFakePlatform(t)
	f.handle("GET /api/agent-sessions/sess_1", jsonRoute(`{"sessionId":"sess_1","agentId":"agent_1","status":"expired","createdAt":"c","messages":[],"extra":1}`))
	st, err := f.client(t).AgentSessions.Get(context.Background(), "sess_1")
	require.NoError(t, err)
	require.True(t, st.Expired())
	require.Equal(t, "sess_1", st.ID)
	require.Nil(t, st.Messages)
}

func TestGetSessionBadAnswers(t *testing.T) {
	cases := map[string]string{
		"not json":    `<html>`,
		"array":       `[]`,
		"null":        `null`,
		"empty":       `{}`,
		"bad status":  editJSON(t, fullSessionState, func(m map[string]any) { m["status"] = "paused" }),
		"null status": editJSON(t, fullSessionState, func(m map[string]any) { m["status"] = nil }),
		// An expired answer that lacks createdAt fits neither schema.
		"expired without createdAt": `{"sessionId":"sess_1","agentId":"agent_1","status":"expired"}`,
		"expired without agentId":   `{"sessionId":"sess_1","status":"expired","createdAt":"c"}`,
		"input is an array":         editJSON(t, fullSessionState, func(m map[string]any) { m["input"] = []any{} }),
		"messages is an object":     editJSON(t, fullSessionState, func(m map[string]any) { m["messages"] = map[string]any{} }),
		"id is a number":            editJSON(t, fullSessionState, func(m map[string]any) { m["id"] = 1 }),
		"message with bad role": editJSON(t, fullSessionState, func(m map[string]any) {
			m["messages"].([]any)[0].(map[string]any)["role"] = "tool"
		}),
		"message without content": editJSON(t, fullSessionState, func(m map[string]any) {
			delete(m["messages"].([]any)[0].(map[string]any), "content")
		}),
		"message without parts": editJSON(t, fullSessionState, func(m map[string]any) {
			delete(m["messages"].([]any)[0].(map[string]any), "parts")
		}),
		"part with unknown type": editJSON(t, fullSessionState, func(m map[string]any) {
			m["messages"].([]any)[0].(map[string]any)["parts"].([]any)[0].(map[string]any)["type"] = "image"
		}),
		"part without visible": editJSON(t, fullSessionState, func(m map[string]any) {
			delete(m["messages"].([]any)[0].(map[string]any)["parts"].([]any)[0].(map[string]any), "visible")
		}),
		"tool call with UI status": editJSON(t, fullSessionState, func(m map[string]any) {
			m["messages"].([]any)[1].(map[string]any)["toolCalls"].([]any)[0].(map[string]any)["status"] = "done"
		}),
	}
	for _, key := range []string{"id", "agentId", "input", "variables", "resources", "messages", "createdAt", "updatedAt"} {
		cases["without "+key] = editJSON(t, fullSessionState, func(m map[string]any) { delete(m, key) })
	}
	for name, answer := range cases {
		t.Run(name, func(t *testing.T) {
			f := newFakePlatform(t)
			f.handle("GET /api/agent-sessions/sess_1", jsonRoute(answer))
			st, err := f.client(t).AgentSessions.Get(context.Background(), "sess_1")
			require.Error(t, err)
			require.Nil(t, st)
		})
	}
}

const fullUISession = `{"sessionId":"sess_1","agentId":"agent_1","status":"active","messages":[
 {"id":"m1","role":"user","parts":[{"type":"text","text":"Hello","status":"done"}],"status":"done","createdAt":"2024-01-15T10:30:00.000Z"},
 {"id":"m2","role":"assistant","parts":[
   {"type":"reasoning","text":"hmm","status":"done"},
   {"type":"tool-call","toolCallId":"c1","toolName":"get-user","displayName":"Get user","args":{"id":"u1"},"result":{"name":"Ann"},"status":"done"},
   {"type":"tool-call","toolCallId":"c2","toolName":"fail","args":{},"error":"boom","status":"error","thread":"side"},
   {"type":"operation","operationId":"b1","name":"Summarize","operationType":"generate","status":"running"},
   {"type":"source","sourceType":"url","id":"s1","url":"https://example.com","title":"Ex"},
   {"type":"source","sourceType":"document","id":"s2","mediaType":"application/pdf","title":"Doc","filename":"d.pdf"},
   {"type":"file","id":"f1","mediaType":"image/png","url":"https://cdn.example/f1.png","filename":"f1.png","size":2048,"toolCallId":"c1"},
   {"type":"object","id":"o1","typeName":"Summary","partial":{"title":"T"},"object":{"title":"T"},"status":"done"},
   {"type":"object","id":"o2","typeName":"Summary","status":"error","error":"bad json"},
   {"type":"text","text":"Done","status":"streaming"}
 ],"status":"streaming","createdAt":1705314601000}
]}`

func wantFullUIMessages() []UIMessage {
	return []UIMessage{
		{ID: "m1", Role: RoleUser, Parts: []UIMessagePart{{Type: "text", Text: "Hello", Status: "done"}},
			Status: "done", CreatedAt: time.Date(2024, 1, 15, 10, 30, 0, 0, time.UTC)},
		{ID: "m2", Role: RoleAssistant, Parts: []UIMessagePart{
			{Type: "reasoning", Text: "hmm", Status: "done"},
			{Type: "tool-call", ToolCallID: "c1", ToolName: "get-user", DisplayName: "Get user",
				Args: json.RawMessage(`{"id":"u1"}`), Result: json.RawMessage(`{"name":"Ann"}`), Status: "done"},
			{Type: "tool-call", ToolCallID: "c2", ToolName: "fail", Args: json.RawMessage(`{}`), Error: "boom", Status: "error", Thread: "side"},
			{Type: "operation", OperationID: "b1", Name: "Summarize", OperationType: "generate", Status: "running"},
			{Type: "source", SourceType: "url", ID: "s1", URL: "https://example.com", Title: "Ex"},
			{Type: "source", SourceType: "document", ID: "s2", MediaType: "application/pdf", Title: "Doc", Filename: "d.pdf"},
			{Type: "file", ID: "f1", MediaType: "image/png", URL: "https://cdn.example/f1.png", Filename: "f1.png", Size: ptr(2048.0), ToolCallID: "c1"},
			{Type: "object", ID: "o1", TypeName: "Summary", Partial: json.RawMessage(`{"title":"T"}`), Object: json.RawMessage(`{"title":"T"}`), Status: "done"},
			{Type: "object", ID: "o2", TypeName: "Summary", Status: "error", Error: "bad json"},
			{Type: "text", Text: "Done", Status: "streaming"},
		}, Status: "streaming", CreatedAt: time.Date(2024, 1, 15, 10, 30, 1, 0, time.UTC)},
	}
}

func TestGetMessagesActive(t *testing.T) {
	f := newFakePlatform(t)
	f.handle("GET /api/agent-sessions/sess_1", jsonRoute(fullUISession))
	st, err := f.client(t).AgentSessions.GetMessages(context.Background(), "sess_1")
	require.NoError(t, err)
	require.Equal(t, "sess_1", st.SessionID)
	require.Equal(t, "agent_1", st.AgentID)
	require.Equal(t, SessionActive, st.Status)
	require.False(t, st.Expired())
	require.Empty(t, st.CreatedAt)
	want := wantFullUIMessages()
	require.Len(t, st.Messages, len(want))
	for i := range want {
		require.True(t, want[i].CreatedAt.Equal(st.Messages[i].CreatedAt), "message %d createdAt %v", i, st.Messages[i].CreatedAt)
		st.Messages[i].CreatedAt = want[i].CreatedAt
		// m2's createdAt is a number: it is kept to be written back as such.
		require.Equal(t, want[i], withoutRaw(st.Messages[i]))
	}

	r := oneRequest(t, f)
	require.Equal(t, http.MethodGet, r.Method)
	require.Equal(t, "/api/agent-sessions/sess_1", r.Path)
	require.Equal(t, "format=ui", r.Query)
	require.Empty(t, r.Body)
}

func TestGetMessagesWithoutStatus(t *testing.T) {
	f := newFakePlatform(t)
	f.handle("GET /api/agent-sessions/sess_1", jsonRoute(`{"sessionId":"sess_1","agentId":"agent_1","messages":[]}`))
	st, err := f.client(t).AgentSessions.GetMessages(context.Background(), "sess_1")
	require.NoError(t, err)
	require.Equal(t, &UISessionState{SessionID: "sess_1", AgentID: "agent_1", Messages: []UIMessage{}, Status: SessionActive}, st)
}

func TestGetMessagesActiveWithCreatedAt(t *testing.T) {
	// An active answer that happens to carry createdAt is not expired.
	f := newFakePlatform(t)
	f.handle("GET /api/agent-sessions/sess_1", jsonRoute(`{"sessionId":"sess_1","agentId":"agent_1","status":"active","createdAt":"c",
		"messages":[{"id":"m1","role":"user","parts":[],"status":"done","createdAt":0}]}`))
	st, err := f.client(t).AgentSessions.GetMessages(context.Background(), "sess_1")
	require.NoError(t, err)
	require.Equal(t, SessionActive, st.Status)
	require.False(t, st.Expired())
	require.Len(t, st.Messages, 1)
	require.Empty(t, st.CreatedAt)
}

func TestGetMessagesExpired(t *testing.T) {
	f := newFakePlatform(t)
	f.handle("GET /api/agent-sessions/sess_1", jsonRoute(expiredAnswer))
	st, err := f.client(t).AgentSessions.GetMessages(context.Background(), "sess_1")
	require.NoError(t, err)
	require.Equal(t, &UISessionState{SessionID: "sess_1", AgentID: "agent_1", Status: SessionExpired, CreatedAt: "2024-01-15T10:29:00.000Z"}, st)
	require.True(t, st.Expired())
	require.Empty(t, st.Messages)
	require.Equal(t, "format=ui", oneRequest(t, f).Query)
}

func TestGetMessagesBadAnswers(t *testing.T) {
	msg := func(m map[string]any) map[string]any { return m["messages"].([]any)[1].(map[string]any) }
	part := func(m map[string]any, i int) map[string]any { return msg(m)["parts"].([]any)[i].(map[string]any) }
	cases := map[string]string{
		"not json":                  `nope`,
		"empty object":              `{}`,
		"without sessionId":         `{"agentId":"agent_1","messages":[]}`,
		"without agentId":           `{"sessionId":"sess_1","messages":[]}`,
		"without messages":          `{"sessionId":"sess_1","agentId":"agent_1"}`,
		"messages null":             `{"sessionId":"sess_1","agentId":"agent_1","messages":null}`,
		"bad status":                `{"sessionId":"sess_1","agentId":"agent_1","messages":[],"status":"paused"}`,
		"expired without createdAt": `{"sessionId":"sess_1","agentId":"agent_1","status":"expired"}`,
		"message bad role":          editJSON(t, fullUISession, func(m map[string]any) { msg(m)["role"] = "system" }),
		"message bad status":        editJSON(t, fullUISession, func(m map[string]any) { msg(m)["status"] = "pending" }),
		"message without id":        editJSON(t, fullUISession, func(m map[string]any) { delete(msg(m), "id") }),
		"message without createdAt": editJSON(t, fullUISession, func(m map[string]any) { delete(msg(m), "createdAt") }),
		"message bad createdAt":     editJSON(t, fullUISession, func(m map[string]any) { msg(m)["createdAt"] = "not a date" }),
		"unknown part type":         editJSON(t, fullUISession, func(m map[string]any) { part(m, 0)["type"] = "image" }),
		"text part without text":    editJSON(t, fullUISession, func(m map[string]any) { delete(part(m, 9), "text") }),
		"tool-call args array":      editJSON(t, fullUISession, func(m map[string]any) { part(m, 1)["args"] = []any{} }),
		"tool-call bad status":      editJSON(t, fullUISession, func(m map[string]any) { part(m, 1)["status"] = "available" }),
		"source bad sourceType":     editJSON(t, fullUISession, func(m map[string]any) { part(m, 4)["sourceType"] = "video" }),
		"document without title":    editJSON(t, fullUISession, func(m map[string]any) { delete(part(m, 5), "title") }),
		"file without url":          editJSON(t, fullUISession, func(m map[string]any) { delete(part(m, 6), "url") }),
		"object bad status":         editJSON(t, fullUISession, func(m map[string]any) { part(m, 7)["status"] = "running" }),
	}
	for name, answer := range cases {
		t.Run(name, func(t *testing.T) {
			f := newFakePlatform(t)
			f.handle("GET /api/agent-sessions/sess_1", jsonRoute(answer))
			st, err := f.client(t).AgentSessions.GetMessages(context.Background(), "sess_1")
			require.Error(t, err)
			require.Nil(t, st)
		})
	}
}

func TestRestoreSession(t *testing.T) {
	msgs := []UIMessage{
		{ID: "m1", Role: RoleUser, Parts: []UIMessagePart{{Type: "text", Text: "Hi", Status: "done"}}, Status: "done",
			CreatedAt: time.Date(2024, 1, 15, 12, 30, 0, 123456789, time.FixedZone("CEST", 2*3600))},
		{ID: "m2", Role: RoleAssistant, Parts: []UIMessagePart{
			{Type: "tool-call", ToolCallID: "c1", ToolName: "t", Status: "done", Result: json.RawMessage(`null`)},
		}, Status: "done", CreatedAt: time.Date(2024, 1, 15, 10, 30, 1, 0, time.UTC)},
	}
	const wantMsgs = `[{"id":"m1","role":"user","parts":[{"type":"text","text":"Hi","status":"done"}],"status":"done","createdAt":"2024-01-15T10:30:00.123Z"},
		{"id":"m2","role":"assistant","parts":[{"type":"tool-call","toolCallId":"c1","toolName":"t","args":{},"result":null,"status":"done"}],"status":"done","createdAt":"2024-01-15T10:30:01.000Z"}]`
	cases := []struct {
		name     string
		msgs     []UIMessage
		input    map[string]any
		wantBody string
	}{
		{"no input", msgs, nil, `{"messages":` + wantMsgs + `}`},
		{"empty input", msgs, map[string]any{}, `{"messages":` + wantMsgs + `,"input":{}}`},
		{"input", msgs, map[string]any{"userId": "u1"}, `{"messages":` + wantMsgs + `,"input":{"userId":"u1"}}`},
		{"nil messages", nil, nil, `{"messages":[]}`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakePlatform(t)
			f.handle("POST /api/agent-sessions/sess_1/restore", jsonRoute(`{"sessionId":"sess_1","restored":true}`))
			res, err := f.client(t).AgentSessions.Restore(context.Background(), "sess_1", tc.msgs, tc.input)
			require.NoError(t, err)
			require.Equal(t, &RestoreSessionResult{SessionID: "sess_1", Restored: true}, res)
			r := oneRequest(t, f)
			require.Equal(t, http.MethodPost, r.Method)
			require.Equal(t, "/api/agent-sessions/sess_1/restore", r.Path)
			require.Empty(t, r.Query)
			require.JSONEq(t, tc.wantBody, string(r.Body))
		})
	}
}

func TestRestoreSessionCreatedAtExactText(t *testing.T) {
	f := newFakePlatform(t)
	f.handle("POST /api/agent-sessions/sess_1/restore", jsonRoute(`{"sessionId":"sess_1","restored":false}`))
	msgs := []UIMessage{{ID: "m1", Role: RoleUser, Status: "done", CreatedAt: time.Date(2024, 1, 15, 10, 30, 0, 0, time.UTC)}}
	res, err := f.client(t).AgentSessions.Restore(context.Background(), "sess_1", msgs, nil)
	require.NoError(t, err)
	require.False(t, res.Restored)
	require.Equal(t, `{"messages":[{"id":"m1","role":"user","parts":[],"status":"done","createdAt":"2024-01-15T10:30:00.000Z"}]}`,
		string(oneRequest(t, f).Body))
}

func TestRestoreSessionBadAnswers(t *testing.T) {
	for _, answer := range []string{
		`{}`,
		`{"sessionId":"sess_1"}`,
		`{"restored":true}`,
		`{"sessionId":"sess_1","restored":"yes"}`,
		`{"sessionId":"sess_1","restored":null}`,
		`{"sessionId":1,"restored":true}`,
		`[]`,
	} {
		t.Run(answer, func(t *testing.T) {
			f := newFakePlatform(t)
			f.handle("POST /api/agent-sessions/sess_1/restore", jsonRoute(answer))
			res, err := f.client(t).AgentSessions.Restore(context.Background(), "sess_1", nil, nil)
			require.Error(t, err)
			require.Nil(t, res)
		})
	}
}

// idCases are ids that must stay one path segment, with their escaped form
// written by hand.
var idCases = []struct{ id, escaped string }{
	{"sess_1", "sess_1"},
	{"a/b", "a%2Fb"},
	{"../agents", "..%2Fagents"},
	{"sess_1/restore", "sess_1%2Frestore"},
	{"a?b", "a%3Fb"},
	{"x?format=ui", "x%3Fformat=ui"},
	{"a#b", "a%23b"},
	{"100%", "100%25"},
	{"%2F", "%252F"},
	{"a b", "a%20b"},
	{"..", "%2E%2E"},
	{".", "%2E"},
	{"...", "..."},
	{"ü", "%C3%BC"},
}

func TestSessionIDsAreEscaped(t *testing.T) {
	calls := []struct {
		name   string
		method string
		prefix string
		suffix string
		query  string
		answer func(id string) string
		call   func(c *Client, id string) error
	}{
		{"Get", http.MethodGet, "/api/agent-sessions/", "", "",
			func(id string) string {
				return `{"id":` + jsonString(id) + `,"agentId":"a","input":{},"variables":{},"resources":{},"messages":[],"createdAt":"c","updatedAt":"u"}`
			},
			func(c *Client, id string) error {
				st, err := c.AgentSessions.Get(context.Background(), id)
				if err == nil && st.ID != id {
					return errors.New("wrong session")
				}
				return err
			}},
		{"GetMessages", http.MethodGet, "/api/agent-sessions/", "", "format=ui",
			func(id string) string { return `{"sessionId":` + jsonString(id) + `,"agentId":"a","messages":[]}` },
			func(c *Client, id string) error {
				_, err := c.AgentSessions.GetMessages(context.Background(), id)
				return err
			}},
		{"Restore", http.MethodPost, "/api/agent-sessions/", "/restore", "",
			func(id string) string { return `{"sessionId":` + jsonString(id) + `,"restored":true}` },
			func(c *Client, id string) error {
				_, err := c.AgentSessions.Restore(context.Background(), id, nil, nil)
				return err
			}},
	}
	for _, call := range calls {
		for _, tc := range idCases {
			t.Run(call.name+" "+tc.id, func(t *testing.T) {
				f := newFakePlatform(t)
				want := call.prefix + tc.escaped + call.suffix
				f.handle(call.method+" "+want, jsonRoute(call.answer(tc.id)))
				require.NoError(t, call.call(f.client(t), tc.id))
				r := oneRequest(t, f)
				require.Equal(t, call.method, r.Method)
				require.Equal(t, want, escapedPath(r))
				require.Equal(t, call.prefix+tc.id+call.suffix, r.Path)
				require.Equal(t, call.query, r.Query)
			})
		}
	}
}

func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func TestClientEmptyIDsMakeNoRequest(t *testing.T) {
	f := newFakePlatform(t)
	c := f.client(t)
	ctx := context.Background()
	_, err := c.AgentSessions.Create(ctx, "", nil)
	require.Error(t, err)
	_, err = c.AgentSessions.Get(ctx, "")
	require.Error(t, err)
	_, err = c.AgentSessions.GetMessages(ctx, "")
	require.Error(t, err)
	_, err = c.AgentSessions.Restore(ctx, "", []UIMessage{}, nil)
	require.Error(t, err)
	_, err = c.Agents.Get(ctx, "")
	require.Error(t, err)
	_, err = c.Files.GetUploadURLs(ctx, "", []FileUploadRequest{{Filename: "a", MediaType: "text/plain", Size: 1}})
	require.Error(t, err)
	require.Empty(t, f.reqs())
}

func TestSessionCallsPassContext(t *testing.T) {
	f := newFakePlatform(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	c := f.client(t)
	_, err := c.AgentSessions.Create(ctx, "agent_1", nil)
	require.ErrorIs(t, err, context.Canceled)
	_, err = c.AgentSessions.Get(ctx, "s")
	require.ErrorIs(t, err, context.Canceled)
	_, err = c.AgentSessions.GetMessages(ctx, "s")
	require.ErrorIs(t, err, context.Canceled)
	_, err = c.AgentSessions.Restore(ctx, "s", nil, nil)
	require.ErrorIs(t, err, context.Canceled)
	require.Empty(t, f.reqs())
}

// requireSameJSON fails unless want and got are the same JSON value: equal
// objects in any key order, and numbers with the same digits (require.JSONEq
// compares numbers as float64, which hides a lost digit).
func requireSameJSON(t *testing.T, want, got []byte, msgAndArgs ...any) {
	t.Helper()
	w, ok := decodeAny(want)
	require.True(t, ok, "want is not JSON: %s", want)
	g, ok := decodeAny(got)
	require.True(t, ok, "got is not JSON: %s", got)
	require.Equal(t, w, g, msgAndArgs...)
}

// v4Platform is a plain httptest platform that serves one session's
// answers and records the bodies of restore requests.
type v4Platform struct {
	srv      *httptest.Server
	mu       sync.Mutex
	restores [][]byte
	headers  []http.Header
}

func newV4Platform(t *testing.T, uiAnswer, chatAnswer []byte) *v4Platform {
	t.Helper()
	p := &v4Platform{}
	p.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		p.mu.Lock()
		p.headers = append(p.headers, r.Header.Clone())
		p.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		switch {
		case r.Method == http.MethodGet && r.URL.Path == "/api/agent-sessions/sess_v4" && r.URL.RawQuery == "format=ui":
			_, _ = w.Write(uiAnswer)
		case r.Method == http.MethodGet && r.URL.Path == "/api/agent-sessions/sess_v4" && r.URL.RawQuery == "":
			_, _ = w.Write(chatAnswer)
		case r.Method == http.MethodPost && r.URL.Path == "/api/agent-sessions/sess_v4/restore":
			p.mu.Lock()
			p.restores = append(p.restores, body)
			p.mu.Unlock()
			_, _ = io.WriteString(w, `{"sessionId":"sess_v4","restored":true}`)
		default:
			http.Error(w, `{"error":"no route"}`, http.StatusNotFound)
		}
	}))
	t.Cleanup(p.srv.Close)
	return p
}

func (p *v4Platform) client(t *testing.T) *Client {
	t.Helper()
	c, err := NewClient(ClientOptions{BaseURL: p.srv.URL, APIKey: testKey, HTTPClient: p.srv.Client(), MaxRetries: -1})
	require.NoError(t, err)
	return c
}

func readTestdata(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "messages", name))
	require.NoError(t, err)
	return b
}

// field returns the raw value of key in the JSON object doc.
func field(t *testing.T, doc []byte, key string) json.RawMessage {
	t.Helper()
	var m map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(doc, &m))
	v, ok := m[key]
	require.True(t, ok, "no %q in %s", key, doc)
	return v
}

func TestGetMessagesRestoreLossless(t *testing.T) {
	// A v4 session with every part type and status, unknown keys at every
	// depth, optional strings present as "", numbers Go would write with
	// other digits, and createdAt as a number and without milliseconds.
	ui := readTestdata(t, "ui-session-v4.json")
	p := newV4Platform(t, ui, nil)
	c := p.client(t)
	st, err := c.AgentSessions.GetMessages(t.Context(), "sess_v4")
	require.NoError(t, err)
	require.Len(t, st.Messages, 3)

	// What the fields hold is what the platform sent.
	m1, m3 := st.Messages[0], st.Messages[2]
	require.Equal(t, &MessageSender{ID: "u1", Name: "Ann", Image: "https://img.example/ann.png"}, m1.Sender)
	require.Equal(t, "step-start", m3.Parts[0].Type)
	require.JSONEq(t, `{"anthropic":{"signature":"sig==","redacted":false}}`, string(m3.Parts[2].ProviderMetadata))
	require.Equal(t, DisplayMode("title"), m3.Parts[10].Display)
	require.Equal(t, "cancelled", m3.Parts[10].Status)
	todo := m3.Parts[23]
	require.Equal(t, "todo", todo.Type)
	require.Equal(t, []UITodoItem{{ID: "t1", Content: "Book flights", Status: "pending"}, {ID: "t2", Content: "Hotel", Status: "in_progress"}},
		partsWithoutRaw([]UIMessagePart{todo})[0].Todos)
	w := m3.Parts[26]
	require.Equal(t, "worker", w.Type)
	require.Equal(t, "w1", w.WorkerID)
	require.Equal(t, "researcher", w.WorkerSlug)
	require.Equal(t, "Finds hotels", w.Description)
	require.JSONEq(t, `{"city":"Lisbon","nights":3}`, string(w.Input))
	require.JSONEq(t, `{"hotels":["A","B"]}`, string(w.Output))
	require.Len(t, w.Parts, 10)
	require.Equal(t, "todo", w.Parts[9].Type)
	require.Equal(t, "worker failed", m3.Parts[28].Error)

	// Restore posts back exactly what GetMessages read.
	res, err := c.AgentSessions.Restore(t.Context(), "sess_v4", st.Messages, nil)
	require.NoError(t, err)
	require.True(t, res.Restored)
	require.Len(t, p.restores, 1)
	requireSameJSON(t, field(t, ui, "messages"), field(t, p.restores[0], "messages"))

	// So does a store in between: the messages marshalled to JSON (as an
	// app saves them) and read back.
	saved, err := json.Marshal(st.Messages)
	require.NoError(t, err)
	requireSameJSON(t, field(t, ui, "messages"), saved)
	var back []UIMessage
	require.NoError(t, json.Unmarshal(saved, &back))
	_, err = c.AgentSessions.Restore(t.Context(), "sess_v4", back, map[string]any{"userId": "u1"})
	require.NoError(t, err)
	requireSameJSON(t, field(t, ui, "messages"), field(t, p.restores[1], "messages"))
	requireSameJSON(t, []byte(`{"userId":"u1"}`), field(t, p.restores[1], "input"))

	// The answer as a whole marshals back to what was served, but for the
	// status GetMessages sets (it was already "active" here).
	whole, err := json.Marshal(st)
	require.NoError(t, err)
	requireSameJSON(t, ui, whole)

	for _, h := range p.headers {
		require.Equal(t, "4", h.Get("X-Octavus-Sdk-Version"))
	}
}

func TestGetChatMessagesLossless(t *testing.T) {
	chat := readTestdata(t, "chat-session-v4.json")
	p := newV4Platform(t, nil, chat)
	st, err := p.client(t).AgentSessions.Get(t.Context(), "sess_v4")
	require.NoError(t, err)
	require.Len(t, st.Messages, 3)
	m2 := st.Messages[2]
	require.Equal(t, &MessageSender{ID: "u1", Name: "Ann"}, st.Messages[0].Sender)
	require.Equal(t, "step-start", m2.Parts[0].Type)
	require.JSONEq(t, `{"anthropic":{"signature":"sig=="}}`, string(m2.Parts[1].ProviderMetadata))
	require.Equal(t, DisplayMode("title"), m2.Parts[4].ToolCall.Display)
	require.Equal(t, DisplayMode("name"), m2.ToolCalls[0].Display)
	require.Equal(t, "op1", m2.Parts[7].Operation.ID)
	require.Equal(t, "generate", m2.Parts[7].Operation.OperationType)
	require.Len(t, m2.Parts[13].Todo.Todos, 4)
	require.Equal(t, TodoInProgress, m2.Parts[13].Todo.Todos[1].Status)
	wk := m2.Parts[14].Worker
	require.Equal(t, "w1", wk.WorkerID)
	require.Equal(t, "researcher", wk.WorkerSlug)
	require.Len(t, wk.NestedParts, 8)
	require.Equal(t, ptr(false), wk.Cancelled)
	require.Equal(t, ptr(true), m2.Parts[15].Worker.Cancelled)

	b, err := json.Marshal(st.Messages)
	require.NoError(t, err)
	requireSameJSON(t, field(t, chat, "messages"), b)
	// The whole state too ("variables":{"n":1.0} keeps its digits).
	b, err = json.Marshal(st)
	require.NoError(t, err)
	requireSameJSON(t, chat, b)
	require.Equal(t, "4", p.headers[0].Get("X-Octavus-Sdk-Version"))
}

func TestSdkVersionHeader(t *testing.T) {
	// Every request, REST or trigger, advertises wire version 4.
	f := newFakePlatform(t)
	f.handle("POST /api/agent-sessions", jsonRoute(`{"sessionId":"s"}`))
	f.addLegs(eventsLeg(`{"type":"start","messageId":"m"}`, `{"type":"finish","finishReason":"stop"}`))
	c := f.client(t)
	_, err := c.AgentSessions.Create(t.Context(), "agent_1", nil)
	require.NoError(t, err)
	collect(c.AgentSessions.Attach("s", AttachOptions{}).Execute(t.Context(), TriggerRequest{TriggerName: "user-message"}))
	got := f.reqs()
	require.Len(t, got, 2)
	require.Equal(t, "/api/agent-sessions", got[0].Path)
	require.True(t, strings.HasSuffix(got[1].Path, "/trigger"), got[1].Path)
	for _, r := range got {
		require.Equal(t, []string{"4"}, r.Header.Values("X-Octavus-Sdk-Version"), r.Path)
	}
}
