package octavus

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"time"

	"github.com/octavus-go/octavus/internal/wire"
)

// MaxRequestBody is the largest browser request body ReadRequest accepts
// (1 MiB); a larger one is answered 413.
const MaxRequestBody = 1 << 20

// ReadRequest reads the passthrough body the browser posts to your route:
// the session request of DecodeSessionRequest plus "sessionId":
//
//	{"sessionId":"...","type":"trigger","triggerName":"user-message","input":{...},"rollbackAfterMessageId":"..."}
//	{"sessionId":"...","type":"continue","executionId":"...","toolResults":[...]}
//
// Its errors are *RequestError: 405 for a method other than POST, 415 for a
// body that is not application/json, 413 for a body over MaxRequestBody,
// 400 for malformed JSON or a missing or mistyped field (the message names
// it). Answer them with WriteRequestError. It never calls the platform.
func ReadRequest(r *http.Request) (sessionID string, req SessionRequest, err error) {
	return readRequest(r, false)
}

// readRequest is ReadRequest; with optionalSession a trigger without
// "sessionId" is read with sessionID "".
func readRequest(r *http.Request, optionalSession bool) (sessionID string, req SessionRequest, err error) {
	if r.Method != http.MethodPost {
		return "", nil, &RequestError{Status: http.StatusMethodNotAllowed, Message: "method must be POST"}
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		return "", nil, &RequestError{Status: http.StatusUnsupportedMediaType, Message: "Content-Type must be application/json"}
	}
	data, err := io.ReadAll(io.LimitReader(r.Body, MaxRequestBody+1))
	if err != nil {
		return "", nil, badRequest("reading body: %v", err)
	}
	if len(data) > MaxRequestBody {
		return "", nil, &RequestError{Status: http.StatusRequestEntityTooLarge, Message: "body is larger than 1 MiB"}
	}
	if !json.Valid(data) {
		return "", nil, badRequest("body is not valid JSON")
	}
	o, err := wire.Decode(data)
	if err != nil {
		return "", nil, badRequest("body must be a JSON object")
	}
	if optionalSession && o.Kind("sessionId") == 0 {
		req, err = sessionRequestFrom(o)
		if err != nil {
			return "", nil, err
		}
		if _, ok := req.(TriggerRequest); ok {
			return "", req, nil
		}
		// A continue needs the session it continues.
	}
	if o.Kind("sessionId") != '"' {
		return "", nil, badRequest(`"sessionId" is required and must be a string`)
	}
	sessionID = o.String("sessionId")
	if sessionID == "" {
		return "", nil, badRequest(`"sessionId" must not be empty`)
	}
	req, err = sessionRequestFrom(o)
	if err != nil {
		return "", nil, err
	}
	return sessionID, req, nil
}

// WriteRequestError answers err as JSON {"error": "..."}: with its status
// when it is a *RequestError, 400 otherwise.
func WriteRequestError(w http.ResponseWriter, err error) {
	status, msg := http.StatusBadRequest, err.Error()
	var re *RequestError
	if errors.As(err, &re) {
		status, msg = re.Status, re.Message
	}
	if status == http.StatusMethodNotAllowed {
		w.Header().Set("Allow", http.MethodPost)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	b, _ := marshalJSON(struct {
		Error string `json:"error"`
	}{msg})
	_, _ = w.Write(b)
}

// HandlerOptions configure AgentSessionsAPI.Handler.
type HandlerOptions struct {
	// Tools and Resources are attached to the session of every request.
	Tools     ToolHandlers
	Resources []Resource
	// Authorize, when set, is called before anything is sent to the
	// platform: check there that the signed-in user owns sessionID. A
	// *RequestError is answered with its status and message; any other
	// error with 403 {"error":"Forbidden"}.
	Authorize func(r *http.Request, sessionID string) error
	// Sender, when set, returns the author of a trigger: the signed-in
	// user, stamped on the user message and returned as UIMessage.Sender.
	// It is called after Authorize, for trigger requests only (a continue
	// carries no sender). The browser's own "sender" key is never used. A
	// nil sender sends none; an error is answered as Authorize's (a
	// *RequestError with its status and message, any other with 403).
	Sender func(r *http.Request, sessionID string) (*MessageSender, error)

	// Start, when set, serves deferred sessions: a trigger whose body has
	// no "sessionId" runs on AgentSessionsAPI.Start(opts) with the
	// StartOptions it returns (AgentID, session Input, OnSessionCreated to
	// persist the new id, ...), instead of being refused 400. Check the
	// signed-in user there: Authorize is not called for it (there is no
	// session to own yet), Sender is, with sessionID "". An error is
	// answered as Authorize's. The returned AttachOptions fields left
	// zero are taken from these options (Tools, Resources, ToolTimeout,
	// MaxConcurrentTools, OnToolResults; RejectClientTools when either
	// sets it). The browser learns the id from the stream's start event
	// (its sessionId) when the platform sends it, and from you otherwise.
	// A continue without "sessionId" is still refused.
	Start func(r *http.Request) (StartOptions, error)

	// ToolTimeout, MaxConcurrentTools, RejectClientTools and
	// OnToolResults are the AttachOptions of the same names.
	ToolTimeout        time.Duration
	MaxConcurrentTools int
	RejectClientTools  bool
	OnToolResults      func(ctx context.Context, results []ToolResult) error
	// Heartbeat is SSEOptions.Heartbeat of the response stream.
	Heartbeat time.Duration
}

// writeHookError answers the error of a HandlerOptions hook: a
// *RequestError with its status and message, any other error with 403
// {"error":"Forbidden"} (its text may hold details the browser must not
// see).
func writeHookError(w http.ResponseWriter, err error) {
	var re *RequestError
	if !errors.As(err, &re) {
		err = &RequestError{Status: http.StatusForbidden, Message: "Forbidden"}
	}
	WriteRequestError(w, err)
}

// withDefaults returns o with its zero fields taken from d.
func (o AttachOptions) withDefaults(d AttachOptions) AttachOptions {
	if o.Tools == nil {
		o.Tools = d.Tools
	}
	if o.Resources == nil {
		o.Resources = d.Resources
	}
	if o.ToolTimeout == 0 {
		o.ToolTimeout = d.ToolTimeout
	}
	if o.MaxConcurrentTools == 0 {
		o.MaxConcurrentTools = d.MaxConcurrentTools
	}
	o.RejectClientTools = o.RejectClientTools || d.RejectClientTools
	if o.OnToolResults == nil {
		o.OnToolResults = d.OnToolResults
	}
	return o
}

// Handler returns the passthrough route of the HTTP transport in one call:
// it reads the browser's request (ReadRequest; malformed ones are answered
// 4xx without calling the platform), checks it with opts.Authorize, sets a
// trigger's sender from opts.Sender, attaches to its session with opts'
// tools and resources, refuses a continue request whose signed results
// were changed (AgentSession.CheckRequest, 400), and streams Execute's
// events back with ToSSEStream, cancelling the execution when the browser
// goes away. With opts.Start set, a trigger without "sessionId" creates
// its session (a deferred session, see HandlerOptions.Start).
//
//	http.Handle("POST /api/trigger", client.AgentSessions.Handler(octavus.HandlerOptions{Tools: tools}))
func (a *AgentSessionsAPI) Handler(opts HandlerOptions) http.Handler {
	attach := AttachOptions{
		Tools:              opts.Tools,
		Resources:          opts.Resources,
		ToolTimeout:        opts.ToolTimeout,
		MaxConcurrentTools: opts.MaxConcurrentTools,
		RejectClientTools:  opts.RejectClientTools,
		OnToolResults:      opts.OnToolResults,
	}
	sse := SSEOptions{Heartbeat: opts.Heartbeat}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sessionID, req, err := readRequest(r, opts.Start != nil)
		if err != nil {
			WriteRequestError(w, err)
			return
		}
		var start *StartOptions
		if sessionID == "" {
			so, err := opts.Start(r)
			if err != nil {
				writeHookError(w, err)
				return
			}
			so.AttachOptions = so.AttachOptions.withDefaults(attach)
			start = &so
		} else if opts.Authorize != nil {
			if err := opts.Authorize(r, sessionID); err != nil {
				writeHookError(w, err)
				return
			}
		}
		if tr, ok := req.(TriggerRequest); ok && opts.Sender != nil {
			sender, err := opts.Sender(r, sessionID)
			if err != nil {
				writeHookError(w, err)
				return
			}
			tr.Sender = sender
			req = tr
		}
		var session *AgentSession
		if start != nil {
			session = a.Start(*start)
		} else {
			session = a.Attach(sessionID, attach)
		}
		if err := session.CheckRequest(req); err != nil {
			WriteRequestError(w, err)
			return
		}
		ToSSEStream(session.Execute(r.Context(), req), sse).ServeHTTP(w, r)
	})
}
