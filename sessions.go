package octavus

import (
	"context"
	"encoding/json"
	"net/http"

	"github.com/octavus-go/octavus/internal/wire"
)

// AgentSessionsAPI creates, reads and restores agent sessions, and attaches
// to them to run executions. Get it from Client.AgentSessions.
type AgentSessionsAPI struct{ c *Client }

// SessionStatus says whether a session is active or expired.
type SessionStatus string

// The session statuses.
const (
	SessionActive  SessionStatus = "active"
	SessionExpired SessionStatus = "expired"
)

// SessionState is a session's full state (for your server, not the
// browser: it holds hidden content). For an expired session only ID,
// AgentID, Status and CreatedAt are set; check Status (or Expired).
//
// Like its messages, a decoded state is written back by json.Marshal as it
// was received (keys octavus-go has no field for, the exact numbers of
// input and variables, empty maps).
type SessionState struct {
	ID        string         `json:"id"`
	AgentID   string         `json:"agentId"`
	Input     map[string]any `json:"input,omitzero"`
	Variables map[string]any `json:"variables,omitzero"`
	Resources map[string]any `json:"resources,omitzero"`
	Messages  []ChatMessage  `json:"messages,omitempty"`
	// Status is SessionActive or SessionExpired (an active answer without a
	// status reads as SessionActive).
	Status    SessionStatus `json:"status"`
	CreatedAt string        `json:"createdAt"`
	UpdatedAt string        `json:"updatedAt,omitempty"`

	raw *rawKeys
}

var sessionStateKeys = []string{"id", "agentId", "input", "variables", "resources", "messages", "status", "createdAt", "updatedAt"}

// MarshalJSON encodes the state, with what a decoded state held beyond its
// fields.
func (s SessionState) MarshalJSON() ([]byte, error) {
	type plain SessionState
	return marshalKept(plain(s), s.raw)
}

// UnmarshalJSON decodes a state, keeping what its fields do not express.
func (s *SessionState) UnmarshalJSON(data []byte) error {
	type plain SessionState
	var p plain
	return unmarshalKept(data, fixedKeys(sessionStateKeys), &p, func() json.Marshaler {
		*s = SessionState(p)
		shallow := *s
		shallow.Messages = nil
		return shallow
	}, &s.raw, keepSpec{self: []string{"messages"}})
}

// Expired reports whether the session's state has expired; Restore it from
// stored UIMessages to continue.
func (s *SessionState) Expired() bool { return s.Status == SessionExpired }

// UISessionState is a session's messages as the browser shows them. For an
// expired session Messages is empty and CreatedAt is set; check Status (or
// Expired). Its messages are written back as they were received (see
// UIMessage): pass them to Restore as they are.
type UISessionState struct {
	SessionID string        `json:"sessionId"`
	AgentID   string        `json:"agentId"`
	Messages  []UIMessage   `json:"messages"`
	Status    SessionStatus `json:"status"`
	// CreatedAt is set for an expired session only.
	CreatedAt string `json:"createdAt,omitempty"`

	raw *rawKeys
}

var uiSessionStateKeys = []string{"sessionId", "agentId", "messages", "status", "createdAt"}

// MarshalJSON encodes the state, with what a decoded state held beyond its
// fields.
func (s UISessionState) MarshalJSON() ([]byte, error) {
	type plain UISessionState
	return marshalKept(plain(s), s.raw)
}

// UnmarshalJSON decodes a state, keeping what its fields do not express.
func (s *UISessionState) UnmarshalJSON(data []byte) error {
	type plain UISessionState
	var p plain
	return unmarshalKept(data, fixedKeys(uiSessionStateKeys), &p, func() json.Marshaler {
		*s = UISessionState(p)
		shallow := *s
		shallow.Messages = nil
		return shallow
	}, &s.raw, keepSpec{self: []string{"messages"}})
}

// Expired reports whether the session's state has expired.
func (s *UISessionState) Expired() bool { return s.Status == SessionExpired }

// RestoreSessionResult is the answer of Restore.
type RestoreSessionResult struct {
	SessionID string `json:"sessionId"`
	// Restored is true when the session was restored from the messages,
	// false when it was still active (and nothing changed).
	Restored bool `json:"restored"`
}

// Create starts a session of agent agentID and returns its id. input
// fills the agent's declared inputs (nil sends none).
func (a *AgentSessionsAPI) Create(ctx context.Context, agentID string, input map[string]any) (string, error) {
	if err := checkID("agent id", agentID); err != nil {
		return "", err
	}
	// omitzero, not omitempty: an empty (non-nil) input is sent as {}.
	body := struct {
		AgentID string         `json:"agentId"`
		Input   map[string]any `json:"input,omitzero"`
	}{agentID, input}
	var out struct {
		SessionID string `json:"sessionId"`
	}
	const path = "/api/agent-sessions"
	check := func(o *wire.Object) error {
		o.String("sessionId")
		return o.Err()
	}
	if err := a.c.doChecked(ctx, http.MethodPost, path, body, check, &out); err != nil {
		return "", err
	}
	if out.SessionID == "" {
		return "", errMissing(http.MethodPost, path, "sessionId")
	}
	return out.SessionID, nil
}

// expiredState reads the expired-session answer {sessionId, agentId,
// status: "expired", createdAt}; ok is false when raw does not fit it (the
// reference's expiredSessionResponseSchema.safeParse).
func expiredState(raw []byte) (sessionID, agentID, createdAt string, ok bool) {
	o, err := wire.Decode(raw)
	if err != nil {
		return "", "", "", false
	}
	sessionID = o.String("sessionId")
	agentID = o.String("agentId")
	o.Literal("status", string(SessionExpired))
	createdAt = o.String("createdAt")
	return sessionID, agentID, createdAt, o.Err() == nil
}

// checkSessionState checks an active session's state as the reference's
// sessionStateSchema.
func checkSessionState(o *wire.Object) error {
	o.String("id")
	o.String("agentId")
	o.Record("input")
	o.Record("variables")
	o.Record("resources")
	for _, m := range o.Array("messages") {
		if err := checkChatMessage(m); err != nil {
			return err
		}
	}
	o.OptEnum("status", string(SessionActive))
	o.String("createdAt")
	o.String("updatedAt")
	return o.Err()
}

// checkUISessionState checks an active session's UI messages as the
// reference's uiSessionResponseSchema.
func checkUISessionState(o *wire.Object) error {
	o.String("sessionId")
	o.String("agentId")
	for _, m := range o.Array("messages") {
		if err := checkUIMessage(m); err != nil {
			return err
		}
	}
	o.OptEnum("status", string(SessionActive))
	return o.Err()
}

// Get returns the session's full state, active or expired (Status says
// which). It is for your server's own use: it includes hidden content. The
// answer must fit the 6.4.0 (wire version 4) schema.
func (a *AgentSessionsAPI) Get(ctx context.Context, sessionID string) (*SessionState, error) {
	if err := checkID("session id", sessionID); err != nil {
		return nil, err
	}
	path := "/api/agent-sessions/" + escapeID(sessionID)
	var raw json.RawMessage
	if err := a.c.do(ctx, http.MethodGet, path, nil, &raw); err != nil {
		return nil, err
	}
	if id, agentID, createdAt, ok := expiredState(raw); ok {
		return &SessionState{ID: id, AgentID: agentID, Status: SessionExpired, CreatedAt: createdAt}, nil
	}
	var st SessionState
	if err := decodeChecked(http.MethodGet, path, raw, checkSessionState, &st); err != nil {
		return nil, err
	}
	if st.Status == "" {
		st.Status = SessionActive
	}
	return &st, nil
}

// GetMessages returns the session's messages as the browser shows them
// (hidden content filtered out), or, for an expired session, Status
// SessionExpired and no messages: Restore it before continuing. The answer
// must fit the 6.4.0 (wire version 4) schema; the messages keep what their
// fields do not express (unknown keys, exact numbers), so that Restore, or
// json.Marshal for your store, gives the platform back what it sent.
func (a *AgentSessionsAPI) GetMessages(ctx context.Context, sessionID string) (*UISessionState, error) {
	if err := checkID("session id", sessionID); err != nil {
		return nil, err
	}
	path := "/api/agent-sessions/" + escapeID(sessionID) + "?format=ui"
	var raw json.RawMessage
	if err := a.c.do(ctx, http.MethodGet, path, nil, &raw); err != nil {
		return nil, err
	}
	if id, agentID, createdAt, ok := expiredState(raw); ok {
		return &UISessionState{SessionID: id, AgentID: agentID, Status: SessionExpired, CreatedAt: createdAt}, nil
	}
	var st UISessionState
	if err := decodeChecked(http.MethodGet, path, raw, checkUISessionState, &st); err != nil {
		return nil, err
	}
	st.Status = SessionActive
	st.CreatedAt = ""
	return &st, nil
}

// Restore brings an expired session back from the UIMessages you stored
// (from GetMessages or the browser). input is the session input, as for
// Create (nil sends none). Restored is false when the session was still
// active. Messages decoded from JSON are posted as they were received,
// keys octavus-go has no field for and providerMetadata (the provider's
// reasoning signatures) included; fields you changed are posted from
// their Go values.
func (a *AgentSessionsAPI) Restore(ctx context.Context, sessionID string, messages []UIMessage, input map[string]any) (*RestoreSessionResult, error) {
	if err := checkID("session id", sessionID); err != nil {
		return nil, err
	}
	if messages == nil {
		messages = []UIMessage{}
	}
	body := struct {
		Messages []UIMessage    `json:"messages"`
		Input    map[string]any `json:"input,omitzero"`
	}{messages, input}
	path := "/api/agent-sessions/" + escapeID(sessionID) + "/restore"
	var out RestoreSessionResult
	check := func(o *wire.Object) error {
		o.String("sessionId")
		o.Bool("restored")
		return o.Err()
	}
	if err := a.c.doChecked(ctx, http.MethodPost, path, body, check, &out); err != nil {
		return nil, err
	}
	if out.SessionID == "" {
		return nil, errMissing(http.MethodPost, path, "sessionId")
	}
	return &out, nil
}

// Attach returns a handle on session sessionID with your tool handlers and
// resources; call Execute on it. Attaching makes no request and is cheap:
// attach per HTTP request, with the tools of that request's user.
func (a *AgentSessionsAPI) Attach(sessionID string, opts AttachOptions) *AgentSession {
	return newAgentSession(a.c, sessionID, opts)
}

// ClearSessionResult is the answer of Clear.
type ClearSessionResult struct {
	SessionID string `json:"sessionId"`
	// Cleared reports what the platform says it did; Clear succeeds
	// whether or not there was state left to clear.
	Cleared bool `json:"cleared"`
}

// Clear deletes the session's state on the platform
// (DELETE /api/agent-sessions/{id}): the session becomes expired, and can
// be brought back with Restore from the UIMessages you stored. It is
// idempotent: clearing a session already cleared or expired succeeds, so
// it is retried like a GET (see ClientOptions.MaxRetries).
func (a *AgentSessionsAPI) Clear(ctx context.Context, sessionID string) (*ClearSessionResult, error) {
	if err := checkID("session id", sessionID); err != nil {
		return nil, err
	}
	path := "/api/agent-sessions/" + escapeID(sessionID)
	var out ClearSessionResult
	check := func(o *wire.Object) error {
		o.String("sessionId")
		o.Bool("cleared")
		return o.Err()
	}
	if err := a.c.doChecked(ctx, http.MethodDelete, path, nil, check, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// GetLogsOptions choose what GetLogs returns. The zero value returns every
// entry.
type GetLogsOptions struct {
	// ExcludeModelRequests leaves out the model-request entries: small
	// markers by default, but each carries the provider's whole request
	// body when the executions ran with ClientOptions.TraceModelRequests.
	ExcludeModelRequests bool
}

// GetLogs returns the session's execution log
// (GET /api/agent-sessions/{id}/logs): the chronological trace of what
// its executions did, for debugging. The platform returns the most recent
// 3000 entries at most (ExecutionLogs.Truncated says so). For an expired
// session it returns Status SessionExpired and no entries. Each entry only
// needs an id, a timestamp and a type: entries of types added after 6.4.0
// are returned too, kept whole (see ExecutionLogEntry).
func (a *AgentSessionsAPI) GetLogs(ctx context.Context, sessionID string, opts GetLogsOptions) (*ExecutionLogs, error) {
	if err := checkID("session id", sessionID); err != nil {
		return nil, err
	}
	path := "/api/agent-sessions/" + escapeID(sessionID) + "/logs"
	if opts.ExcludeModelRequests {
		path += "?excludeModelRequests=true"
	}
	var raw json.RawMessage
	if err := a.c.do(ctx, http.MethodGet, path, nil, &raw); err != nil {
		return nil, err
	}
	if id, agentID, createdAt, ok := expiredState(raw); ok {
		return &ExecutionLogs{SessionID: id, AgentID: agentID, Status: SessionExpired, CreatedAt: createdAt}, nil
	}
	var w struct {
		SessionID string              `json:"sessionId"`
		Entries   []ExecutionLogEntry `json:"entries"`
		Total     *float64            `json:"total"`
		Truncated bool                `json:"truncated"`
	}
	if err := decodeChecked(http.MethodGet, path, raw, checkExecutionLogs, &w); err != nil {
		return nil, err
	}
	logs := &ExecutionLogs{SessionID: w.SessionID, Entries: w.Entries, Truncated: w.Truncated, Status: SessionActive}
	if w.Total != nil {
		n := int(*w.Total)
		logs.Total = &n
	}
	return logs, nil
}
