package octavus

import (
	"net/http"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestClearSession(t *testing.T) {
	for _, tc := range []struct {
		answer string
		want   ClearSessionResult
	}{
		{`{"sessionId":"sess_1","cleared":true}`, ClearSessionResult{SessionID: "sess_1", Cleared: true}},
		{`{"sessionId":"sess_1","cleared":false,"extra":1}`, ClearSessionResult{SessionID: "sess_1"}},
	} {
		t.Run(tc.answer, func(t *testing.T) {
			f := newFakePlatform(t)
			f.handle("DELETE /api/agent-sessions/sess_1", jsonRoute(tc.answer))
			got, err := f.client(t).AgentSessions.Clear(t.Context(), "sess_1")
			require.NoError(t, err)
			require.Equal(t, tc.want, *got)
			r := oneRequest(t, f)
			require.Equal(t, http.MethodDelete, r.Method)
			require.Empty(t, r.Body)
			require.Empty(t, r.Query)
			require.Equal(t, "Bearer "+testKey, r.Header.Get("Authorization"))
		})
	}
}

func TestClearSessionBadAnswers(t *testing.T) {
	for _, answer := range []string{`{}`, `{"sessionId":"s"}`, `{"cleared":true}`, `{"sessionId":1,"cleared":true}`, `{"sessionId":"s","cleared":"yes"}`, `[]`} {
		t.Run(answer, func(t *testing.T) {
			f := newFakePlatform(t)
			f.handle("DELETE /api/agent-sessions/sess_1", jsonRoute(answer))
			_, err := f.client(t).AgentSessions.Clear(t.Context(), "sess_1")
			require.ErrorContains(t, err, "invalid answer")
		})
	}
}

// Clear and GetLogs are idempotent: retried on a 5xx like a GET.
func TestClearAndGetLogsRetried(t *testing.T) {
	for _, call := range []struct {
		route, answer string
		do            func(c *Client) error
	}{
		{"DELETE /api/agent-sessions/sess_1", `{"sessionId":"sess_1","cleared":true}`, func(c *Client) error {
			_, err := c.AgentSessions.Clear(t.Context(), "sess_1")
			return err
		}},
		{"GET /api/agent-sessions/sess_1/logs", `{"sessionId":"sess_1","entries":[]}`, func(c *Client) error {
			_, err := c.AgentSessions.GetLogs(t.Context(), "sess_1", GetLogsOptions{})
			return err
		}},
	} {
		t.Run(call.route, func(t *testing.T) {
			f := newFakePlatform(t)
			var n atomic.Int32
			f.handle(call.route, func(w http.ResponseWriter, r *http.Request) {
				if n.Add(1) == 1 {
					statusLeg(http.StatusServiceUnavailable, `{"error":"down"}`)(w, r)
					return
				}
				jsonRoute(call.answer)(w, r)
			})
			c, waits := clientWith(t, f, ClientOptions{})
			require.NoError(t, call.do(c))
			require.Len(t, f.reqs(), 2)
			require.Len(t, *waits, 1)
		})
	}
}

func TestGetLogsQuery(t *testing.T) {
	for _, tc := range []struct {
		opts  GetLogsOptions
		query string
	}{
		{GetLogsOptions{}, ""},
		{GetLogsOptions{ExcludeModelRequests: true}, "excludeModelRequests=true"},
	} {
		f := newFakePlatform(t)
		f.handle("GET /api/agent-sessions/sess_1/logs", jsonRoute(`{"sessionId":"sess_1","entries":[]}`))
		got, err := f.client(t).AgentSessions.GetLogs(t.Context(), "sess_1", tc.opts)
		require.NoError(t, err)
		r := oneRequest(t, f)
		require.Equal(t, http.MethodGet, r.Method)
		require.Equal(t, tc.query, r.Query)
		require.Equal(t, &ExecutionLogs{SessionID: "sess_1", Entries: []ExecutionLogEntry{}, Status: SessionActive}, got)
		require.False(t, got.Expired())
	}
}

func TestGetLogsExpired(t *testing.T) {
	for _, answer := range []string{
		`{"sessionId":"sess_1","agentId":"agent_1","status":"expired","createdAt":"2026-12-01T00:00:00.000Z"}`,
		// The expired shape is tried first: entries beside it do not matter.
		`{"sessionId":"sess_1","agentId":"agent_1","status":"expired","createdAt":"2026-12-01T00:00:00.000Z","entries":[{"id":"x","timestamp":"t","type":"abort"}]}`,
	} {
		f := newFakePlatform(t)
		f.handle("GET /api/agent-sessions/sess_1/logs", jsonRoute(answer))
		got, err := f.client(t).AgentSessions.GetLogs(t.Context(), "sess_1", GetLogsOptions{})
		require.NoError(t, err)
		require.True(t, got.Expired())
		require.Equal(t, &ExecutionLogs{SessionID: "sess_1", AgentID: "agent_1", Status: SessionExpired, CreatedAt: "2026-12-01T00:00:00.000Z"}, got)
		b, err := got.MarshalJSON()
		require.NoError(t, err)
		require.JSONEq(t, `{"sessionId":"sess_1","agentId":"agent_1","status":"expired","createdAt":"2026-12-01T00:00:00.000Z"}`, string(b))
	}
}

func TestGetLogsTotalAndTruncated(t *testing.T) {
	f := newFakePlatform(t)
	f.handle("GET /api/agent-sessions/sess_1/logs", jsonRoute(`{"sessionId":"sess_1","entries":[{"id":"a","timestamp":"t","type":"abort"}],"total":3001,"truncated":true}`))
	got, err := f.client(t).AgentSessions.GetLogs(t.Context(), "sess_1", GetLogsOptions{})
	require.NoError(t, err)
	require.Equal(t, ptr(3001), got.Total)
	require.True(t, got.Truncated)
	require.Len(t, got.Entries, 1)
	require.Equal(t, LogEntryBase{ID: "a", Timestamp: "t", Type: LogEntryAbort}, got.Entries[0].LogEntryBase)
}

// The answer must fit the reference's executionLogsResponseSchema.
func TestGetLogsBadAnswers(t *testing.T) {
	for name, answer := range map[string]string{
		"no sessionId":                          `{"entries":[]}`,
		"no entries":                            `{"sessionId":"s"}`,
		"entries null":                          `{"sessionId":"s","entries":null}`,
		"entry not object":                      `{"sessionId":"s","entries":["x"]}`,
		"entry without id":                      `{"sessionId":"s","entries":[{"timestamp":"t","type":"abort"}]}`,
		"entry without type":                    `{"sessionId":"s","entries":[{"id":"a","timestamp":"t"}]}`,
		"timestamp a number":                    `{"sessionId":"s","entries":[{"id":"a","timestamp":1,"type":"abort"}]}`,
		"total a string":                        `{"sessionId":"s","entries":[],"total":"3"}`,
		"total null":                            `{"sessionId":"s","entries":[],"total":null}`,
		"truncated null":                        `{"sessionId":"s","entries":[],"truncated":null}`,
		"expired without createdAt, no entries": `{"sessionId":"s","agentId":"a","status":"expired"}`,
		"array":                                 `[]`,
	} {
		t.Run(name, func(t *testing.T) {
			f := newFakePlatform(t)
			f.handle("GET /api/agent-sessions/sess_1/logs", jsonRoute(answer))
			got, err := f.client(t).AgentSessions.GetLogs(t.Context(), "sess_1", GetLogsOptions{})
			require.Error(t, err)
			require.Nil(t, got)
		})
	}
}

func TestClearAndGetLogsAPIError(t *testing.T) {
	f := newFakePlatform(t)
	c := f.client(t)
	_, err := c.AgentSessions.Clear(t.Context(), "sess_1")
	var apiErr *APIError
	require.ErrorAs(t, err, &apiErr)
	require.Equal(t, http.StatusNotFound, apiErr.Status)
	_, err = c.AgentSessions.GetLogs(t.Context(), "sess_1", GetLogsOptions{})
	require.ErrorAs(t, err, &apiErr)
	require.Equal(t, http.StatusNotFound, apiErr.Status)
}

func TestClearAndGetLogsEscapeIDs(t *testing.T) {
	f := newFakePlatform(t)
	f.handle("DELETE /api/agent-sessions/a%2Fb%3F", jsonRoute(`{"sessionId":"a/b?","cleared":true}`))
	f.handle("GET /api/agent-sessions/%2E%2E/logs", jsonRoute(`{"sessionId":"..","entries":[]}`))
	c := f.client(t)
	_, err := c.AgentSessions.Clear(t.Context(), "a/b?")
	require.NoError(t, err)
	_, err = c.AgentSessions.GetLogs(t.Context(), "..", GetLogsOptions{ExcludeModelRequests: true})
	require.NoError(t, err)
	_, err = c.AgentSessions.Clear(t.Context(), "")
	require.ErrorContains(t, err, "empty session id")
	_, err = c.AgentSessions.GetLogs(t.Context(), "", GetLogsOptions{})
	require.ErrorContains(t, err, "empty session id")
	require.Len(t, f.reqs(), 2)
}
