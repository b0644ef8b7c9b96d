package octavus

import (
	"context"
	"encoding/json"
	"net/http"
	"sync"

	"github.com/google/uuid"
)

// StartOptions configure a deferred session (AgentSessionsAPI.Start): the
// session is created by its first trigger, in the same request, instead of
// by a Create call ahead of time.
type StartOptions struct {
	// AttachOptions are the tools, resources and hooks of the session, as
	// for Attach.
	AttachOptions

	// AgentID is the agent the session is created for. Required.
	AgentID string
	// Input is the session's input, sent with the first trigger (it is
	// encoded when Start is called; later changes to the map are not
	// seen); nil sends none (an empty non-nil map sends {}).
	Input map[string]any
	// IdempotencyKey makes a retried first request resolve to the session
	// the first attempt created instead of creating a second one. Empty
	// means a random UUID (v4), made once per handle and sent on every
	// attempt of the first request.
	IdempotencyKey string
	// OnSessionCreated, when set, is called once with the id the platform
	// assigned, as soon as it is known (from the X-Octavus-Session-Id
	// header of the first answer, before its events are forwarded, else
	// from its first start event): persist your own mapping (chat ->
	// session) there. It runs on the execution's goroutine; keep it quick.
	OnSessionCreated func(sessionID string)
}

// deferredStart is the state of a session made by Start whose id the
// platform assigns.
type deferredStart struct {
	agentID   string
	input     json.RawMessage
	inputErr  error
	key       string
	onCreated func(string)

	mu sync.Mutex
	id string
	// creating is non-nil while an execution posts the first request; it
	// is closed when the id is known or that request is over.
	creating chan struct{}
}

// Start returns a deferred session: a handle on a session that does not
// exist yet. Its first trigger (Execute with a TriggerRequest) creates the
// session and runs the trigger in one request, POST
// /api/agent-sessions/start with the body
//
//	{"agentId":...,"trigger":{"triggerName":...,"input":...,"sender":...,"dynamicToolSchemas":[...]},"input":...,"idempotencyKey":...}
//
// (a trigger's Rollback is not sent: a new session has no messages). The
// session id is taken from the answer's X-Octavus-Session-Id header, else
// from its first start event's sessionId; opts.OnSessionCreated is then
// called once. From then on the handle is an attached session: the later
// legs of that execution, continue requests and later triggers post to
// /api/agent-sessions/{id}/trigger as usual.
//
// SessionID returns "" until the id is known (6.4.0's getSessionId returns
// undefined). A ContinueRequest before then ends at once with the error
// event "Cannot continue a session before it exists. Run a trigger first to
// create the session." and reaches no platform.
//
// Concurrent triggers on a handle whose session does not exist yet do not
// create two sessions: the first one posts the start request, and the
// others wait (or end with finish {stop} when their ctx is cancelled) until
// the id is known, then post to /trigger as a later trigger does. When the
// first request fails without an id, the next waiting trigger posts the
// start request again, with the same idempotency key.
//
// A deferred session can serve the passthrough Handler (see
// HandlerOptions.Start) and the socket transport: return a.Start(opts)
// from ServeSocket's session func when it is called with sessionID "".
func (a *AgentSessionsAPI) Start(opts StartOptions) *AgentSession {
	s := newAgentSession(a.c, "", opts.AttachOptions)
	d := &deferredStart{agentID: opts.AgentID, key: opts.IdempotencyKey, onCreated: opts.OnSessionCreated}
	if d.key == "" {
		d.key = uuid.NewString()
	}
	if opts.Input != nil {
		d.input, d.inputErr = marshalJSON(opts.Input)
	}
	s.start = d
	return s
}

// startBody is the JSON of the first request of a deferred session, in
// the reference's key order.
type startBody struct {
	AgentID        string          `json:"agentId"`
	Trigger        startTrigger    `json:"trigger"`
	Input          json.RawMessage `json:"input,omitempty"`
	IdempotencyKey string          `json:"idempotencyKey"`
}

type startTrigger struct {
	TriggerName        *string         `json:"triggerName,omitempty"`
	Input              json.RawMessage `json:"input,omitempty"`
	Sender             *MessageSender  `json:"sender,omitempty"`
	DynamicToolSchemas json.RawMessage `json:"dynamicToolSchemas,omitempty"`
}

// sessionHeader is the answer header that names a session the start
// request created.
const sessionHeader = "X-Octavus-Session-Id"

// sessionID returns the id, "" while a deferred session has none.
func (d *deferredStart) sessionID() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.id
}

// acquire returns the session id when it is known. Otherwise it makes the
// caller the one that posts the start request (creator is true; it must
// call release when that request is over) or waits until the one that
// does is done, then looks again. ok is false when ctx ended the wait.
func (d *deferredStart) acquire(ctx context.Context) (id string, creator, ok bool) {
	for {
		d.mu.Lock()
		if d.id != "" {
			id := d.id
			d.mu.Unlock()
			return id, false, true
		}
		ch := d.creating
		if ch == nil {
			d.creating = make(chan struct{})
			d.mu.Unlock()
			return "", true, true
		}
		d.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return "", false, false
		}
	}
}

// release ends the creator's turn: waiting triggers look again.
func (d *deferredStart) release() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.creating != nil {
		close(d.creating)
		d.creating = nil
	}
}

// latch records the id the platform assigned, once: the first call with a
// non-empty id wins, and OnSessionCreated is called for it.
func (d *deferredStart) latch(id string) {
	if id == "" {
		return
	}
	d.mu.Lock()
	if d.id != "" {
		d.mu.Unlock()
		return
	}
	d.id = id
	if d.creating != nil {
		close(d.creating)
		d.creating = nil
	}
	d.mu.Unlock()
	if d.onCreated != nil {
		d.onCreated(id)
	}
}

// latchHeader latches the id of a start request's answer header.
func (d *deferredStart) latchHeader(h http.Header) {
	if id := h.Get(sessionHeader); id != "" {
		d.latch(id)
	}
}

// errNoSession is 6.4.0's error for a continue request on a deferred
// session whose first trigger has not created it yet.
const errNoSession = "Cannot continue a session before it exists. Run a trigger first to create the session."
