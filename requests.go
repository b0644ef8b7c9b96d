package octavus

import (
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/octavus-go/octavus/internal/wire"
)

// SessionRequest is what Execute runs: a TriggerRequest or a
// ContinueRequest (values or pointers). Decode the browser's JSON into one
// with DecodeSessionRequest.
type SessionRequest interface {
	isSessionRequest()
}

// TriggerRequest starts an execution with one of the agent's triggers.
type TriggerRequest struct {
	TriggerName string
	// Input is the trigger's input; nil sends none (an empty non-nil map
	// sends {}).
	Input map[string]any
	// Rollback is the trigger's rollbackAfterMessageId: the messages the
	// platform removes before it runs the trigger, as the browser's retry()
	// asks. The zero value removes none and sends no key.
	Rollback Rollback
	// Sender is the author of this turn, stamped on the user message and
	// returned as UIMessage.Sender. Set it on the server from the signed-in
	// user (HandlerOptions.Sender does): DecodeSessionRequest never takes it
	// from the browser. nil sends none.
	Sender *MessageSender

	// nullInput records a decoded "input": null, which is sent on as null
	// while Input stays nil.
	nullInput bool
}

// Rollback is a trigger's rollbackAfterMessageId, which has three states:
// absent (the zero value: nothing is removed and no key is sent),
// [RollbackAll] (JSON null: every message is removed) and [RollbackAfter]
// (a message id: the messages after it are removed).
type Rollback struct {
	set  bool
	id   string
	null bool
}

// RollbackAfter keeps the session's messages up to and including the message
// messageID and removes the ones after it before the trigger runs.
func RollbackAfter(messageID string) Rollback { return Rollback{set: true, id: messageID} }

// RollbackAll removes every message of the session before the trigger runs
// (rollbackAfterMessageId: null).
func RollbackAll() Rollback { return Rollback{set: true, null: true} }

// IsSet reports whether the rollback is sent at all.
func (r Rollback) IsSet() bool { return r.set }

// AfterMessageID returns the id of the last message kept; ok is false when
// the rollback is absent or removes every message.
func (r Rollback) AfterMessageID() (id string, ok bool) { return r.id, r.set && !r.null }

// ContinueRequest continues an execution after the browser ran its client
// tools: ToolResults holds the results of the client tools and the
// serverToolResults of the client-tool-request.
type ContinueRequest struct {
	ExecutionID string
	ToolResults []ToolResult
}

func (TriggerRequest) isSessionRequest()  {}
func (ContinueRequest) isSessionRequest() {}

// MarshalJSON encodes the request as the browser sends it:
// {"type":"trigger","triggerName":...,"input":...,"rollbackAfterMessageId":...},
// the rollback only when set (a message id, or null for RollbackAll).
// Sender is not encoded: the browser never sends it.
func (r TriggerRequest) MarshalJSON() ([]byte, error) {
	return marshalJSON(struct {
		Type        string          `json:"type"`
		TriggerName string          `json:"triggerName"`
		Input       map[string]any  `json:"input,omitempty"`
		Rollback    json.RawMessage `json:"rollbackAfterMessageId,omitempty"`
	}{"trigger", r.TriggerName, r.Input, r.Rollback.raw()})
}

// raw is the rollback's JSON value: nil when absent, null, or the id.
func (r Rollback) raw() json.RawMessage {
	switch {
	case !r.set:
		return nil
	case r.null:
		return json.RawMessage("null")
	}
	b, _ := marshalJSON(r.id)
	return b
}

// MarshalJSON encodes the request as the browser sends it:
// {"type":"continue","executionId":...,"toolResults":[...]}.
func (r ContinueRequest) MarshalJSON() ([]byte, error) {
	results := r.ToolResults
	if results == nil {
		results = []ToolResult{}
	}
	return marshalJSON(struct {
		Type        string       `json:"type"`
		ExecutionID string       `json:"executionId"`
		ToolResults []ToolResult `json:"toolResults"`
	}{"continue", r.ExecutionID, results})
}

// RequestError is a browser request that octavus-go refuses before anything
// reaches the platform. Status is the HTTP status to answer with (400 for a
// malformed request) and Message says what is wrong; the passthrough
// helpers answer {"error": Message}.
type RequestError struct {
	Status  int
	Message string
}

func (e *RequestError) Error() string { return "octavus: bad request: " + e.Message }

func badRequest(format string, args ...any) *RequestError {
	return &RequestError{Status: http.StatusBadRequest, Message: fmt.Sprintf(format, args...)}
}

// DecodeSessionRequest decodes the JSON the browser's @octavus/client-sdk
// sends, discriminated by "type":
//
//	{"type":"trigger","triggerName":"user-message","input":{...},"rollbackAfterMessageId":"..."}
//	{"type":"continue","executionId":"...","toolResults":[...]}
//
// A body without "type" is a trigger, as the reference treats it. A
// trigger's rollbackAfterMessageId (sent by the browser's retry()) is a
// message id or null (see Rollback). Other keys (such as sessionId) are
// ignored, and so is "sender": the author of a turn is set on the server
// (TriggerRequest.Sender), never taken from the browser. A continue that
// answers one tool call id twice is refused. Errors are
// *RequestError (status 400) naming the field that is wrong.
func DecodeSessionRequest(data []byte) (SessionRequest, error) {
	o, err := wire.Decode(data)
	if err != nil {
		return nil, badRequest("body must be a JSON object")
	}
	return sessionRequestFrom(o)
}

func sessionRequestFrom(o *wire.Object) (SessionRequest, error) {
	typ := "trigger"
	if o.Has("type") {
		t, _ := o.OptString("type")
		if o.Err() != nil || (t != "trigger" && t != "continue") {
			return nil, badRequest(`"type" must be "trigger" or "continue"`)
		}
		typ = t
	}
	if typ == "trigger" {
		if o.Kind("triggerName") != '"' {
			return nil, badRequest(`"triggerName" is required and must be a string`)
		}
		req := TriggerRequest{TriggerName: o.String("triggerName")}
		if req.TriggerName == "" {
			return nil, badRequest(`"triggerName" must not be empty`)
		}
		switch o.Kind("input") {
		case 0:
		case 'n':
			req.nullInput = true
		case '{':
			if err := json.Unmarshal(o.Unknown("input"), &req.Input); err != nil {
				return nil, badRequest(`"input": %v`, err)
			}
		default:
			return nil, badRequest(`"input" must be an object`)
		}
		switch o.Kind("rollbackAfterMessageId") {
		case 0:
		case 'n':
			req.Rollback = RollbackAll()
		case '"':
			req.Rollback = RollbackAfter(o.String("rollbackAfterMessageId"))
		default:
			return nil, badRequest(`"rollbackAfterMessageId" must be a string or null`)
		}
		return req, nil
	}
	if o.Kind("executionId") != '"' {
		return nil, badRequest(`"executionId" is required and must be a string`)
	}
	req := ContinueRequest{ExecutionID: o.String("executionId")}
	if req.ExecutionID == "" {
		return nil, badRequest(`"executionId" must not be empty`)
	}
	if o.Kind("toolResults") != '[' {
		return nil, badRequest(`"toolResults" is required and must be an array`)
	}
	items, _ := o.OptArray("toolResults")
	if o.Err() != nil {
		return nil, badRequest(`"toolResults" must be an array of objects`)
	}
	req.ToolResults = make([]ToolResult, 0, len(items))
	for _, it := range items {
		tr, err := toolResultFrom(it, true)
		if err != nil {
			return nil, badRequest("%v", err)
		}
		req.ToolResults = append(req.ToolResults, tr)
	}
	if err := checkCallIDs(req.ToolResults); err != nil {
		return nil, err
	}
	return req, nil
}
