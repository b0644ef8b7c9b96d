package octavus

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"path"
	"strconv"
	"strings"
	"time"
)

// PollingOptions configure NewPollingHandler. The zero value works (every
// session may be read and triggered by anyone: set Authorize).
type PollingOptions struct {
	// Authorize, when set, is called on every route before anything is
	// read or run: check there that the signed-in user owns sessionID.
	// Its errors are answered as HandlerOptions.Authorize's: a
	// *RequestError with its status and message, any other with 403.
	Authorize func(r *http.Request, sessionID string) error
	// Sender, when set, returns the author of a trigger (see
	// HandlerOptions.Sender).
	Sender func(r *http.Request, sessionID string) (*MessageSender, error)
	// PollWait is how long a poll waits for a new event while the
	// execution runs and the log has nothing past its cursor (a long
	// poll); zero or negative answers at once.
	PollWait time.Duration
	// MaxPollEvents bounds the events of one poll answer and of one
	// read of the SSE route (the poll after it goes on from its cursor).
	// Zero or negative means 1000.
	MaxPollEvents int
	// Heartbeat and WriteTimeout are those of the SSE route, as in
	// SSEOptions: a ": heartbeat" comment after a quiet spell (zero
	// means 15 s, negative none), and each write's deadline (zero means
	// 30 s, negative none).
	Heartbeat    time.Duration
	WriteTimeout time.Duration
	// BodyReadTimeout bounds the read of a trigger's body, as
	// HandlerOptions.BodyReadTimeout (zero means 30 s, negative no
	// bound).
	BodyReadTimeout time.Duration
	// CrossOrigin guards the routes that change state (trigger, stop)
	// against cross-site requests a browser sends with the user's cookies
	// (a form posted from another site). Nil means
	// http.NewCrossOriginProtection(): a cross-origin POST from a browser
	// is answered 403. A page served from another origin than this handler
	// needs its origin trusted: pass a CrossOriginProtection with
	// AddTrustedOrigin. Requests that are not from a browser (no
	// Sec-Fetch-Site or Origin header) pass.
	CrossOrigin *http.CrossOriginProtection
}

const defaultMaxPollEvents = 1000

// PollResult is the answer of a poll, in the shape of @octavus/client-sdk's
// PollResult: the events from the cursor on, the cursor to poll from next,
// and the execution's status: "streaming" while it runs (or while the log
// has more past this answer), "idle" once it ended (done or stopped, and
// before any execution), "error" once it failed (the answer then holds its
// error event, unless the cursor was past it).
type PollResult struct {
	Events []json.RawMessage `json:"events"`
	Cursor int               `json:"cursor"`
	Status string            `json:"status"`
	// ExecutionID is the id of the execution read (absent before any),
	// for the page's stop to name (see NewPollingHandler).
	ExecutionID string `json:"executionId,omitempty"`
}

// The statuses of a PollResult.
const (
	PollIdle      = "idle"
	PollStreaming = "streaming"
	PollError     = "error"
)

// NewPollingHandler serves execs over HTTP for the browser: the three calls
// of @octavus/client-sdk's createPollingTransport, a status call for the
// page to know whether to observe(), and an SSE stream that resumes from
// Last-Event-ID. Mount it under a prefix; it routes on the last path
// element:
//
//	POST .../trigger  {"sessionId","triggerName","input"?}: starts an execution
//	                  (Executions.Start); answers {"executionId"} once it
//	                  runs, or {"error": "..."} (429 SESSION_BUSY while
//	                  another runs, 4xx for a malformed request)
//	GET  .../poll?sessionId=&cursor=N&executionId=: a PollResult; cursor N
//	                  is one of execution executionId (optional): when
//	                  another execution is the session's current one, the
//	                  answer is from its cursor 0, and its executionId
//	                  differs from the one sent: the page's cursor was
//	                  not of this execution
//	POST .../stop?sessionId=&executionId=: stops that execution
//	                  (Executions.StopExecution; without executionId,
//	                  whichever runs); {}
//	GET  .../status?sessionId=: {"status": "idle|streaming|error",
//	                  "cursor": N, "executionId"} (N: the log's length)
//	GET  .../events?sessionId=&cursor=N: the log as Server-Sent Events
//
// The SSE route writes each event as
// "id: <executionId>:<cursor>\ndata: <JSON>\n\n", the cursor being the one
// after it, from the cursor of the Last-Event-ID header (an EventSource
// sends it when it reconnects), else of ?cursor=, else 0; an id that names
// another execution than the session's current one starts at its cursor 0,
// and a bare cursor is one of the current execution:
// first what the browser missed, then the live tail, then "data: [DONE]"
// once the execution ended (done or stopped; after a failure its error
// event is the last, as ToSSEStream writes it). A session without an
// execution, and a cursor at or past the end of an execution that ended,
// are answered 204, which ends an EventSource's reconnects.
//
// The browser side, with the official client (cursor 0 is the start of the
// session's current or latest execution, so observe() after a reload
// replays it from its start; leave that in-progress assistant message out
// of initialMessages). OctavusChat.send calls onStop before every trigger,
// and a stop without executionId could arrive after the new trigger and
// stop it: name the execution the page watches.
//
//	const base = '/api/chat';
//	const q = `sessionId=${encodeURIComponent(sessionId)}`;
//	let executionId = null; // the execution this page watches
//	const transport = createPollingTransport({
//	  onTrigger: async (triggerName, input) => {
//	    const res = await (await fetch(`${base}/trigger`, {
//	      method: 'POST',
//	      headers: { 'Content-Type': 'application/json' },
//	      body: JSON.stringify({ sessionId, triggerName, input }),
//	    })).json();
//	    executionId = res.executionId ?? null;
//	    return res;
//	  },
//	  onPoll: async (cursor) => {
//	    const exec = executionId === null ? '' : `&executionId=${encodeURIComponent(executionId)}`;
//	    const res = await (await fetch(`${base}/poll?${q}&cursor=${cursor}${exec}`)).json();
//	    executionId = res.executionId ?? executionId;
//	    return res;
//	  },
//	  onStop: () => {
//	    if (executionId === null) return;
//	    void fetch(`${base}/stop?${q}&executionId=${encodeURIComponent(executionId)}`, { method: 'POST' });
//	  },
//	});
//	const chat = new OctavusChat({ transport, initialMessages });
//	// After a reload, while the session still streams:
//	const { status } = await (await fetch(`${base}/status?${q}`)).json();
//	if (status === 'streaming') await chat.observe();
func NewPollingHandler(execs *Executions, opts PollingOptions) http.Handler {
	maxEvents := opts.MaxPollEvents
	if maxEvents <= 0 {
		// 0 events a page would never advance: it means the default.
		maxEvents = defaultMaxPollEvents
	}
	cop := opts.CrossOrigin
	if cop == nil {
		cop = http.NewCrossOriginProtection()
	}
	return cop.Handler(&pollingHandler{
		execs:        execs,
		opts:         opts,
		maxEvents:    maxEvents,
		heartbeat:    orDefault(opts.Heartbeat, defaultHeartbeat),
		writeTimeout: orDefault(opts.WriteTimeout, defaultWriteTimeout),
		readTimeout:  orDefault(opts.BodyReadTimeout, defaultBodyReadTimeout),
	})
}

type pollingHandler struct {
	execs        *Executions
	opts         PollingOptions
	maxEvents    int
	heartbeat    time.Duration
	writeTimeout time.Duration
	readTimeout  time.Duration
}

func (h *pollingHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	route := path.Base(r.URL.Path)
	method := http.MethodGet
	if route == "trigger" || route == "stop" {
		method = http.MethodPost
	}
	switch route {
	case "trigger", "poll", "stop", "status", "events":
	default:
		WriteRequestError(w, &RequestError{Status: http.StatusNotFound, Message: "unknown route " + strconv.Quote(route) + ": want trigger, poll, stop, status or events"})
		return
	}
	if r.Method != method {
		w.Header().Set("Allow", method)
		WriteRequestError(w, &RequestError{Status: http.StatusMethodNotAllowed, Message: "method must be " + method})
		return
	}
	if route == "trigger" {
		h.trigger(w, r)
		return
	}
	sessionID := r.URL.Query().Get("sessionId")
	if err := checkSessionID(sessionID); err != nil {
		WriteRequestError(w, err)
		return
	}
	if !h.authorize(w, r, sessionID) {
		return
	}
	switch route {
	case "poll":
		h.poll(w, r, sessionID)
	case "stop":
		if _, err := h.execs.StopExecution(r.Context(), sessionID, r.URL.Query().Get("executionId")); err != nil {
			h.serverError(w, err)
			return
		}
		writeJSON(w, http.StatusOK, struct{}{})
	case "status":
		p, err := h.execs.Read(r.Context(), LogRead{SessionID: sessionID, Cursor: math.MaxInt})
		if err != nil {
			h.serverError(w, err)
			return
		}
		writeJSON(w, http.StatusOK, struct {
			Status      string `json:"status"`
			Cursor      int    `json:"cursor"`
			ExecutionID string `json:"executionId,omitempty"`
		}{pollStatus(p.Execution.Status), p.Next, p.Execution.ID})
	case "events":
		h.events(w, r, sessionID)
	}
}

func (h *pollingHandler) authorize(w http.ResponseWriter, r *http.Request, sessionID string) bool {
	if h.opts.Authorize == nil {
		return true
	}
	if err := h.opts.Authorize(r, sessionID); err != nil {
		writeHookError(w, err)
		return false
	}
	return true
}

func (h *pollingHandler) serverError(w http.ResponseWriter, err error) {
	h.execs.log.Error("octavus: polling handler", "error", err)
	writeJSON(w, http.StatusInternalServerError, struct {
		Error string `json:"error"`
	}{"Internal error: the execution log is not available"})
}

func (h *pollingHandler) trigger(w http.ResponseWriter, r *http.Request) {
	sessionID, req, err := readBody(w, r, false, MaxRequestBody, h.readTimeout)
	if err != nil {
		WriteRequestError(w, err)
		return
	}
	tr, ok := req.(TriggerRequest)
	if !ok {
		WriteRequestError(w, badRequest("continue requests are not supported: under the polling transport every tool runs on the server"))
		return
	}
	if !h.authorize(w, r, sessionID) {
		return
	}
	if h.opts.Sender != nil {
		sender, err := h.opts.Sender(r, sessionID)
		if err != nil {
			writeHookError(w, err)
			return
		}
		tr.Sender = sender
	}
	rec, err := h.execs.Start(r.Context(), sessionID, tr)
	if err != nil {
		var apiErr *APIError
		var reqErr *RequestError
		switch {
		case errors.As(err, &apiErr):
			writeJSON(w, apiErr.Status, struct {
				Error string `json:"error"`
				Code  string `json:"code,omitempty"`
			}{apiErr.Message, apiErr.Code})
		case errors.As(err, &reqErr):
			WriteRequestError(w, err)
		case errors.Is(err, ErrExecutionsClosed):
			writeJSON(w, http.StatusServiceUnavailable, struct {
				Error string `json:"error"`
			}{"The server is shutting down. Please try again in a moment."})
		case r.Context().Err() != nil:
			// The browser left while the trigger waited.
		default:
			h.serverError(w, err)
		}
		return
	}
	writeJSON(w, http.StatusOK, struct {
		ExecutionID string `json:"executionId"`
	}{rec.ID})
}

// pollStatus is the PollResult status of an execution status.
func pollStatus(s ExecutionStatus) string {
	switch s {
	case StatusRunning:
		return PollStreaming
	case StatusFailed:
		return PollError
	}
	return PollIdle
}

func (h *pollingHandler) poll(w http.ResponseWriter, r *http.Request, sessionID string) {
	cursor := 0
	if c := r.URL.Query().Get("cursor"); c != "" {
		n, err := strconv.Atoi(c)
		if err != nil || n < 0 {
			WriteRequestError(w, badRequest(`"cursor" must be a non-negative integer`))
			return
		}
		cursor = n
	}
	p, err := h.readFrom(r.Context(), sessionID, r.URL.Query().Get("executionId"), cursor, h.maxEvents+1, h.opts.PollWait)
	if err != nil {
		if r.Context().Err() != nil {
			return
		}
		h.serverError(w, err)
		return
	}
	res := PollResult{Events: make([]json.RawMessage, 0, len(p.Entries)), Status: pollStatus(p.Execution.Status), ExecutionID: p.Execution.ID}
	entries := p.Entries
	if len(entries) > h.maxEvents {
		// More past this answer: the status (an error above all, whose
		// event is in the rest) waits for the answer that reaches the end.
		entries = entries[:h.maxEvents]
		res.Status = PollStreaming
	}
	for _, e := range entries {
		res.Events = append(res.Events, e.Data)
	}
	res.Cursor = p.Start + len(entries)
	writeJSON(w, http.StatusOK, res)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := marshalJSON(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"error":"Internal error"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// parseCursor parses a cursor as the SSE route writes its ids,
// "<executionId>:<cursor>", or a bare cursor (then execID is "").
func parseCursor(c string) (execID string, cursor int, ok bool) {
	if i := strings.LastIndexByte(c, ':'); i >= 0 {
		execID, c = c[:i], c[i+1:]
	}
	n, err := strconv.Atoi(c)
	if err != nil || n < 0 {
		return "", 0, false
	}
	return execID, n, true
}

// resumeCursor is the cursor an SSE request resumes from: Last-Event-ID,
// else ?cursor=, else 0, with the execution it names (or "").
func resumeCursor(r *http.Request) (string, int, error) {
	c := strings.TrimSpace(r.Header.Get("Last-Event-ID"))
	if c == "" {
		c = r.URL.Query().Get("cursor")
	}
	if c == "" {
		return "", 0, nil
	}
	execID, n, ok := parseCursor(c)
	if !ok {
		return "", 0, badRequest(`Last-Event-ID (or cursor) must be "<executionId>:<cursor>" or a cursor, a non-negative integer`)
	}
	return execID, n, nil
}

// readFrom reads the session's log from cursor, a cursor of execution
// execID ("" for whichever is the current one): when another execution
// is the current one, the cursor is not one of its own, and the page
// starts at its cursor 0.
func (h *pollingHandler) readFrom(ctx context.Context, sessionID, execID string, cursor, limit int, wait time.Duration) (LogPage, error) {
	if execID == "" {
		return h.execs.Read(ctx, LogRead{SessionID: sessionID, Cursor: cursor, Limit: limit, Wait: wait})
	}
	other := func(p LogPage) bool { return p.Execution.ID != "" && p.Execution.ID != execID }
	// A first look without waiting: a cursor of another execution may be
	// past the end of the current one.
	p, err := h.execs.Read(ctx, LogRead{SessionID: sessionID, Cursor: cursor, Limit: limit})
	if err != nil {
		return p, err
	}
	if !other(p) {
		if len(p.Entries) > 0 || p.Execution.Status != StatusRunning || wait <= 0 {
			return p, nil
		}
		if p, err = h.execs.Read(ctx, LogRead{SessionID: sessionID, Cursor: cursor, Limit: limit, Wait: wait}); err != nil || !other(p) {
			return p, err
		}
		wait = 0 // the execution changed while waiting: nothing to wait for
	}
	return h.execs.Read(ctx, LogRead{SessionID: sessionID, Limit: limit, Wait: wait})
}

func (h *pollingHandler) events(w http.ResponseWriter, r *http.Request, sessionID string) {
	lastExec, cursor, err := resumeCursor(r)
	if err != nil {
		WriteRequestError(w, err)
		return
	}
	ctx := r.Context()
	p, err := h.readFrom(ctx, sessionID, lastExec, cursor, h.maxEvents, 0)
	if err != nil {
		if ctx.Err() == nil {
			h.serverError(w, err)
		}
		return
	}
	if p.Execution.ID == "" || (p.Execution.Status.Ended() && len(p.Entries) == 0) {
		// Nothing to follow: no execution, or one that ended, read to its
		// end. 204 ends an EventSource's reconnects.
		w.WriteHeader(http.StatusNoContent)
		return
	}
	execID := p.Execution.ID
	rc, deadline, lift := startSSE(w, r, h.writeTimeout)
	defer lift()
	write := func(b []byte) bool {
		deadline()
		if _, err := w.Write(b); err != nil {
			return false
		}
		err := rc.Flush()
		return err == nil || errors.Is(err, http.ErrNotSupported)
	}
	wait := h.heartbeat
	if wait <= 0 || wait > h.execs.lease {
		// Wake at least once a lease, to notice an abandoned execution.
		wait = h.execs.lease
	}
	var buf bytes.Buffer
	for {
		if p.Execution.ID != execID {
			// Another execution took the session's log: this stream is over.
			return
		}
		buf.Reset()
		for i, e := range p.Entries {
			buf.WriteString("id: ")
			buf.WriteString(execID)
			buf.WriteByte(':')
			buf.WriteString(strconv.Itoa(p.Start + i + 1))
			buf.WriteString("\ndata: ")
			buf.Write(e.Data)
			buf.Write(sseEnd)
		}
		caughtUp := len(p.Entries) < h.maxEvents
		ended := p.Execution.Status.Ended() && caughtUp
		if ended && p.Execution.Status != StatusFailed {
			buf.Write(sseDone)
		}
		if buf.Len() == 0 && h.heartbeat > 0 {
			buf.Write(ssePing)
		}
		if buf.Len() > 0 && !write(buf.Bytes()) {
			return
		}
		if ended {
			return
		}
		cursor = p.Next
		rw := wait
		if !caughtUp {
			rw = 0
		}
		p, err = h.execs.Read(ctx, LogRead{SessionID: sessionID, Cursor: cursor, Limit: h.maxEvents, Wait: rw})
		if err != nil {
			if ctx.Err() == nil && !errors.Is(err, context.Canceled) {
				h.execs.log.Error("octavus: execution log stream", "session", sessionID, "error", err)
			}
			return
		}
	}
}
