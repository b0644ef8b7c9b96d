package octavus

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"
)

// eventBuffer is the capacity of the channel Execute returns: enough to
// keep reading the platform while the consumer writes to the browser.
const eventBuffer = 16

// Execute runs req on the session and streams its events. It returns at
// once; the channel is closed when the execution is over.
//
// It runs the platform's continuation loop: it posts to the platform,
// forwards the stream's events in order, runs the server tools the platform
// asks for (concurrently, results in call order, each forwarded as a
// tool-output-available or tool-output-error event) and posts their results
// back, leg after leg, until the agent finishes. Tools without a handler are
// handed to the browser: a client-tool-request event, then finish
// {client-tool-calls}; the browser answers with a ContinueRequest.
//
// On a deferred session (AgentSessionsAPI.Start) whose id is not known
// yet, the first POST is the start request that creates the session (see
// Start); the rest is the same.
//
// Every POST of the execution carries the trigger's keys (triggerName,
// input, rollbackAfterMessageId, sender), as the reference repeats them on
// each leg, and the session's dynamicToolSchemas (see SetDynamicTools).
// The sender is TriggerRequest.Sender, else AttachOptions.Sender. Before
// each POST with tool results they are fitted to
// ClientOptions.MaxContinuationBody; when they cannot fit, nothing is
// posted and the last event is an unknown_error ErrorEvent saying so.
//
// tool-request events, and the finish {tool-calls} that follows them, are
// consumed, not forwarded. Events after a finish (such as 6.4.0's usage)
// are forwarded: the stream is read to its end. A non-2xx answer of the
// platform, after the retries of ClientOptions.MaxRetries, becomes one
// error event (see NewAPIErrorEvent) that keeps the answer's code (such as
// SESSION_BUSY), which the reference drops. When ctx is cancelled the
// platform request and running handlers are cancelled, events not yet
// received are dropped, and the last event is finish {stop}.
//
// If the platform connection fails, is cut mid-stream or stays silent for
// StreamIdleTimeout, the last event is a retryable internal_error
// ErrorEvent, after which ToSSEStream writes no [DONE]. The 6.4.0
// reference ends such a stream silently, which a browser on the 2.0
// client-sdk (still in use) waits on forever; the event ends it there too.
//
// A 2xx answer that yields no event by its end (an empty body, only
// comments, a body without a valid "data:" event line, such as the HTML
// page of a wrong BaseURL or a JSON body) is not an event stream: the last
// event is a non-retryable internal_error saying so, with the answer's
// status, Content-Type and first bytes (printable, at most 60, never the
// API key), and ToSSEStream writes no [DONE]. The reference ends such a
// stream as a clean, empty [DONE]. A data line "[DONE]" alone counts as an
// event stream; a leg with events but no [DONE] ends as before.
//
// Read the channel to the end, or cancel ctx: either way no goroutine is
// left behind. Pass the HTTP request's context (r.Context()). Read it
// from one place: once ToSSEStream serves the channel, it takes the
// events directly and other readers of the channel get nothing; to
// observe them, relay them through your own channel and give
// ToSSEStream that one.
func (s *AgentSession) Execute(ctx context.Context, req SessionRequest) <-chan StreamEvent {
	if ctx == nil {
		ctx = context.Background()
	}
	ctx, cancel := context.WithCancel(ctx)
	out := make(chan StreamEvent, eventBuffer)
	x := &execution{s: s, ctx: ctx, out: out}
	untrack := trackExecution(x, cancel) // ToSSEStream stops it when its writer fails, or claims it (see direct.go)
	go func() {
		defer untrack()
		x.run(req)
	}()
	return out
}

// execution is the state of one Execute call.
type execution struct {
	s   *AgentSession
	ctx context.Context
	out chan StreamEvent
	// direct, once set by the ToSSEStream that reads out, is where the
	// events go instead of out (see direct.go).
	direct atomic.Pointer[directSink]

	updates updater
	// secret is the API key of the current leg's request, hidden in the
	// messages of the platform's error events (see redactKey).
	secret string
	// rounds counts the rounds of server tools run (see
	// AttachOptions.MaxToolRounds).
	rounds int
	// toolSem holds one slot per running handler, across the rounds of
	// the execution (see AttachOptions.MaxConcurrentTools); nil when
	// unlimited.
	toolSem chan struct{}
}

// legBody is the JSON of one POST to /trigger: only the keys that are set,
// in the reference's order. A trigger's keys are repeated on every leg of
// its execution, as the reference does.
type legBody struct {
	TriggerName        *string         `json:"triggerName,omitempty"`
	Input              json.RawMessage `json:"input,omitempty"`
	Rollback           json.RawMessage `json:"rollbackAfterMessageId,omitempty"`
	Sender             *MessageSender  `json:"sender,omitempty"`
	ExecutionID        string          `json:"executionId,omitempty"`
	ToolResults        json.RawMessage `json:"toolResults,omitempty"`
	DynamicToolSchemas json.RawMessage `json:"dynamicToolSchemas,omitempty"`
}

func (x *execution) run(req SessionRequest) {
	if x.out != nil {
		defer close(x.out)
	}
	defer x.updates.finish(x.s.c.log, x.s.resourceTimeout)
	defer x.recoverPanic()

	body, toolResults, ok := x.firstBody(req)
	if !ok {
		return
	}
	x.loop(body, toolResults)
}

// firstBody is the body of the execution's first POST, and the tool
// results a continue request brings; ok is false when the execution ended
// here (its error event is out). It is apart from run so that its frame is
// off the stack while the execution streams.
func (x *execution) firstBody(req SessionRequest) (_ *legBody, _ []ToolResult, ok bool) {
	if err := x.s.mcpErr; err != nil {
		x.emit(NewInternalErrorEvent(err.Error()))
		return nil, nil, false
	}
	req, err := x.s.verified(req)
	if err != nil {
		var re *RequestError
		errors.As(err, &re)
		x.s.c.log.Warn("octavus: refused a continue request", "session", x.s.SessionID(), "reason", re.Message)
		x.emit(&ErrorEvent{ErrorType: ErrorTypeValidation, Message: re.Message, Source: ErrorSourceClient})
		return nil, nil, false
	}
	var body legBody
	var toolResults []ToolResult
	var trigger *TriggerRequest
	switch r := req.(type) {
	case TriggerRequest:
		trigger = &r
	case *TriggerRequest:
		trigger = r
	case ContinueRequest:
		body.ExecutionID, toolResults = r.ExecutionID, r.ToolResults
	case *ContinueRequest:
		if r != nil {
			body.ExecutionID, toolResults = r.ExecutionID, r.ToolResults
		}
	}
	if trigger == nil && body.ExecutionID == "" {
		// A nil request, a nil pointer, or a continue request without an
		// execution: nothing the platform could run.
		x.emit(NewInternalErrorEvent("Invalid session request: need a TriggerRequest or a ContinueRequest with an ExecutionID"))
		return nil, nil, false
	}
	if trigger == nil && x.s.start != nil && x.s.start.sessionID() == "" {
		// 6.4.0 throws this before any request; its toSSEStream makes it
		// the stream's last event.
		x.fail(errNoSession, false)
		return nil, nil, false
	}
	if trigger != nil {
		name := trigger.TriggerName
		body.TriggerName = &name
		switch {
		case trigger.Input != nil:
			b, err := marshalJSON(trigger.Input)
			if err != nil {
				x.emit(NewInternalErrorEvent("Trigger input is not JSON: " + err.Error()))
				return nil, nil, false
			}
			body.Input = b
		case trigger.nullInput:
			// The browser sent "input": null; the reference passes it on.
			body.Input = json.RawMessage("null")
		}
		body.Rollback = trigger.Rollback.raw()
		body.Sender = trigger.Sender
		if body.Sender == nil {
			body.Sender = x.s.sender
		}
	} else if toolResults == nil {
		toolResults = []ToolResult{}
	}
	return &body, toolResults, true
}

// recoverPanic ends an execution that panicked with an error event. A
// panic here is a bug in octavus-go; it must not take the server down.
func (x *execution) recoverPanic() {
	if v := recover(); v != nil {
		x.s.c.log.Error("octavus: execution panicked", "panic", v, "stack", string(debug.Stack()))
		x.fail("Internal error in octavus-go", false)
	}
}

// target returns the path of the next POST and whether it is the first
// request of a deferred session (the start body). For a deferred session
// whose id is not known yet, it waits its turn to post the start request
// (see AgentSessionsAPI.Start); creator is then true and the caller must
// call x.s.start.release once that request is over. ok is false when ctx
// ended the wait.
func (x *execution) target(executionID string) (path string, startLeg, creator, ok bool) {
	switch {
	case x.s.worker != nil:
		return x.s.worker.path, false, false, true
	case x.s.start != nil:
		id, creator, ok := x.s.start.acquire(x.ctx)
		if !ok {
			return "", false, false, false
		}
		if id == "" {
			// As in the reference, the URL follows the id and the body
			// the execution: a later leg of an execution that learnt no
			// id posts its continuation to /start too.
			return "/api/agent-sessions/start", executionID == "", creator, true
		}
		return "/api/agent-sessions/" + escapeID(id) + "/trigger", false, creator, true
	}
	return "/api/agent-sessions/" + escapeID(x.s.id) + "/trigger", false, false, true
}

// loop runs the legs of the execution, from body and toolResults (the
// results the first POST carries; nil sends none).
func (x *execution) loop(body *legBody, toolResults []ToolResult) {
	for {
		l, ok := x.nextLeg(body, toolResults)
		if !ok || len(l.calls) == 0 {
			return
		}
		if toolResults, ok = x.afterLeg(body, l); !ok {
			return
		}
	}
}

// nextLeg posts and reads one leg; ok is false when the execution is over.
// It and afterLeg are apart from loop so that an idle stream's stack holds
// only the frames of the leg it reads.
func (x *execution) nextLeg(body *legBody, toolResults []ToolResult) (l leg, ok bool) {
	if x.ctx.Err() != nil {
		x.stop()
		return l, false
	}
	_, dynamic := x.s.toolSet()
	body.DynamicToolSchemas = dynamic
	path, startLeg, creator, ok := x.target(body.ExecutionID)
	if !ok {
		x.stop()
		return l, false
	}
	l, ok, err := x.post(path, body, toolResults, startLeg, creator)
	if !ok {
		return l, false
	}
	if x.ctx.Err() != nil || l.cancelled {
		x.stop()
		return l, false
	}
	if err != nil {
		x.failed(err)
		return l, false
	}
	if l.stopped {
		return l, false
	}
	return l, true
}

// afterLeg runs the tools the leg asked for and returns the results to
// post back; ok is false when the execution is over.
func (x *execution) afterLeg(body *legBody, l leg) (_ []ToolResult, ok bool) {
	// The handlers are read again after each leg, so a SetDynamicTools
	// during the leg is seen, as in the reference.
	tools, _ := x.s.toolSet()
	var server, client []PendingToolCall
	for _, tc := range l.calls {
		if tools[tc.ToolName] != nil {
			server = append(server, tc)
		} else {
			client = append(client, tc)
		}
	}
	var results []ToolResult
	if len(server) > 0 {
		if x.s.maxRounds > 0 && x.rounds >= x.s.maxRounds {
			// A platform that always asks for one more round would
			// otherwise run tools forever.
			x.s.c.log.Warn("octavus: tool round limit reached", "session", x.s.SessionID(), "maxToolRounds", x.s.maxRounds)
			x.fail(fmt.Sprintf("Tool round limit reached: the platform asked for more than %d rounds of server tools in one execution (AttachOptions.MaxToolRounds)", x.s.maxRounds), false)
			return nil, false
		}
		x.rounds++
		var ok bool
		if results, ok = x.runServerTools(tools, server); !ok {
			x.stop()
			return nil, false
		}
		if x.s.onToolResults != nil {
			if err := x.toolResultsHook(results); err != nil {
				if x.ctx.Err() != nil {
					x.stop()
					return nil, false
				}
				x.s.c.log.Error("octavus: OnToolResults failed", "session", x.s.SessionID(), "error", err)
				x.fail(err.Error(), false)
				return nil, false
			}
			if x.ctx.Err() != nil {
				x.stop()
				return nil, false
			}
		}
	}
	if len(client) > 0 && x.s.rejectClient {
		// No browser to ask: the calls fail, after the server results.
		for _, tc := range client {
			tr := newToolResult(tc)
			tr.Error = `Tool "` + tc.ToolName + `" is not available. No handler is registered for this tool.`
			results = append(results, tr)
		}
		client = nil
	}
	for _, tr := range results {
		var ev StreamEvent
		if tr.Error != "" {
			ev = &ToolOutputErrorEvent{ToolCallID: tr.ToolCallID, Error: tr.Error}
		} else {
			raw, _ := tr.Result.(json.RawMessage)
			ev = &ToolOutputAvailableEvent{ToolCallID: tr.ToolCallID, Output: raw}
		}
		if !x.emit(ev) {
			x.stop()
			return nil, false
		}
	}
	if len(client) > 0 {
		if body.ExecutionID == "" {
			x.emit(NewInternalErrorEvent("Missing executionId for client-tool-request"))
			return nil, false
		}
		// The browser must send the server results back with its own:
		// it gets them cut by the rule the continuation body will be cut
		// by (the tool-output events above keep them whole), so what it
		// sends back is bounded by the budget plus its client results,
		// and the signature covers what it actually holds.
		sent, _ := x.fitToBody(results)
		id := body.ExecutionID
		if x.s.worker == nil {
			// A worker's caller is the server itself: nothing to sign.
			var err error
			if id, err = x.s.signExecution(body.ExecutionID, sent, client); err != nil {
				x.emit(NewInternalErrorEvent("Tool results are not JSON: " + err.Error()))
				return nil, false
			}
		}
		ctr := &ClientToolRequestEvent{ExecutionID: id, ToolCalls: client}
		if len(sent) > 0 {
			ctr.ServerToolResults = sent
		}
		if !x.emit(ctr) || !x.emit(&FinishEvent{FinishReason: FinishClientToolCalls, ExecutionID: id}) {
			x.stop()
			return nil, false
		}
		return nil, false
	}
	if l.finished {
		return nil, false
	}
	return results, true
}

// post encodes and posts one leg (see encodeBody and runLeg); ok is false
// when the body could not be sent (the error event is out). A creator of a
// deferred session's start request gives its turn back however the leg
// ends, so triggers waiting for the session id never wait forever.
func (x *execution) post(path string, body *legBody, toolResults []ToolResult, startLeg, creator bool) (l leg, ok bool, err error) {
	if creator {
		defer x.s.start.release()
	}
	b, ok := x.encodeBody(body, toolResults, startLeg)
	if !ok {
		return l, false, nil
	}
	l, err = x.runLeg(path, b, &body.ExecutionID)
	return l, true, err
}

// toolResultsHook runs AttachOptions.OnToolResults on results, then
// encodes the Results it set to values other than json.RawMessage. A panic
// is an error.
func (x *execution) toolResultsHook(results []ToolResult) (err error) {
	defer func() {
		if v := recover(); v != nil {
			x.s.c.log.Error("octavus: OnToolResults panicked", "panic", v, "stack", string(debug.Stack()))
			err = errors.New("Tool results processing failed")
		}
	}()
	if err := x.s.onToolResults(x.ctx, results); err != nil {
		return err
	}
	for i := range results {
		tr := &results[i]
		if _, ok := tr.Result.(json.RawMessage); ok || tr.Result == nil {
			continue
		}
		raw, err := encodeResult(tr.Result)
		if err != nil {
			tr.Result = nil
			tr.Error = fmt.Sprintf("Tool %s returned a result that is not JSON: %v", tr.ToolName, err)
			continue
		}
		tr.Result = raw
	}
	return nil
}

// encodeBody returns the JSON of body with results as its toolResults (nil
// sends no key), fitted to MaxContinuationBody by the reference's rule (see
// fitResults). When the body cannot fit, nothing is posted: the execution
// ends with the reference's local 413 error event and ok is false.
//
// startLeg selects the body of a deferred session's first request; a
// worker's bodies are its start and continue bodies.
func (x *execution) encodeBody(body *legBody, results []ToolResult, startLeg bool) (b []byte, ok bool) {
	body.ToolResults = nil
	maxBody := x.s.c.maxBody
	overflow := false
	if results != nil {
		results, overflow = x.fitToBody(results)
		rb, err := marshalJSON(results)
		if err != nil {
			x.emit(NewInternalErrorEvent("Tool results are not JSON: " + err.Error()))
			return nil, false
		}
		body.ToolResults = rb
	}
	b, err := x.marshalBody(body, startLeg)
	if err != nil {
		x.emit(NewInternalErrorEvent("Request body is not JSON: " + err.Error()))
		return nil, false
	}
	if maxBody > 0 && (overflow || len(b) > maxBody) {
		x.s.c.log.Warn("octavus: request body too large to send", "session", x.s.SessionID(), "size", len(b), "max", maxBody)
		x.emit(NewAPIErrorEvent(http.StatusRequestEntityTooLarge, x.errorContext()+": the results are too large to send (over "+formatBytes(maxBody)+
			") and could not be reduced enough. Return less data - filter, limit, or paginate the results, or write them to a file and return a reference."))
		return nil, false
	}
	return b, true
}

// fitToBody applies the continuation size rule (fitResults with the
// budget of MaxContinuationBody) to results, reporting each cut through
// OnTruncate and the debug log; overflow reports that they are still over
// the budget. With no limit, results are returned as they are.
func (x *execution) fitToBody(results []ToolResult) (out []ToolResult, overflow bool) {
	maxBody := x.s.c.maxBody
	if maxBody <= 0 {
		return results, false
	}
	out, truncations, overflow := fitResults(results, toolResultsBudget(maxBody))
	for _, tr := range truncations {
		tr.SessionID = x.s.SessionID()
		x.s.c.log.Debug("octavus: tool result cut to fit the continuation body", "session", tr.SessionID, "tool", tr.ToolName, "toolCallId", tr.ToolCallID, "originalBytes", tr.OriginalBytes, "keptBytes", tr.KeptBytes, "variableCapture", tr.VariableCapture)
		if x.s.c.onTruncate != nil {
			x.s.c.onTruncate(tr)
		}
	}
	return out, overflow
}

// marshalBody encodes one POST's body by the kind of the execution.
func (x *execution) marshalBody(body *legBody, startLeg bool) ([]byte, error) {
	if w := x.s.worker; w != nil {
		if body.ExecutionID == "" {
			return marshalJSON(workerStartBody{Type: "start", Input: w.input, DynamicToolSchemas: body.DynamicToolSchemas})
		}
		results := body.ToolResults
		if results == nil {
			results = json.RawMessage("[]")
		}
		return marshalJSON(workerContinueBody{Type: "continue", ExecutionID: body.ExecutionID, ToolResults: results})
	}
	if startLeg {
		d := x.s.start
		if d.inputErr != nil {
			return nil, fmt.Errorf("session input: %w", d.inputErr)
		}
		return marshalJSON(startBody{
			AgentID: d.agentID,
			Trigger: startTrigger{
				TriggerName:        body.TriggerName,
				Input:              body.Input,
				Sender:             body.Sender,
				DynamicToolSchemas: body.DynamicToolSchemas,
			},
			Input:          d.input,
			IdempotencyKey: d.key,
		})
	}
	return marshalJSON(body)
}

// errorContext is the prefix of the messages of a failed request, the
// reference's errorContext.
func (x *execution) errorContext() string {
	if w := x.s.worker; w != nil {
		return w.errorContext
	}
	return "Failed to trigger"
}

// codeSessionBusy is the code of the platform's 429 answer to a trigger
// while another execution of the session runs.
const codeSessionBusy = "SESSION_BUSY"

// errIdle is the cause of a leg cancelled by the idle watchdog.
var errIdle = errors.New("no data from the platform")

// legError is a failed platform request or stream, reported as one
// retryable error event with msg; err, which may name hosts and addresses,
// goes only to the log.
type legError struct {
	msg string
	err error
}

func (e *legError) Error() string { return e.msg + ": " + e.err.Error() }
func (e *legError) Unwrap() error { return e.err }

// runLeg posts the body b to the platform and forwards the stream it answers.
// A failed request or stream is a *legError; an error answer of the
// platform is forwarded as its error event and ends the execution
// (leg.stopped).
//
// The idle watchdog cancels the leg when no byte arrived for
// StreamIdleTimeout, counting from each attempt to connect and from each
// read.
func (x *execution) runLeg(path string, b []byte, executionID *string) (l leg, err error) {
	c := x.s.c
	// Each attempt has its own context, which the watchdog cancels: a
	// connect timeout ends that attempt only (send retries it), and the
	// watchdog firing during a retry wait cancels nothing that runs.
	var at attempt
	defer at.end()
	var idle *watchdog
	if c.idleTimeout > 0 {
		idle = newWatchdog(c.idleTimeout, at.idle)
		defer idle.stop()
	}
	resp, err := c.send(x.ctx, retryAny, func(ctx context.Context) (*http.Request, error) {
		ctx = at.next(ctx)
		if idle != nil {
			idle.reset()
		}
		req, err := c.newRequest(ctx, http.MethodPost, path, nil)
		if err != nil {
			return nil, err
		}
		req.Body = io.NopCloser(bytes.NewReader(b))
		req.ContentLength = int64(len(b))
		req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }
		return req, nil
	})
	if err != nil {
		var kfe *KeyFuncError
		if errors.As(err, &kfe) {
			// Nothing was sent: the app's own key source failed, which no
			// retry by the browser mends.
			return l, err
		}
		if at.timedOut() {
			return l, &legError{fmt.Sprintf("Platform connection dropped: no answer for %v", c.idleTimeout), err}
		}
		return l, &legError{"Failed to reach the Octavus platform", err}
	}
	defer resp.Body.Close()
	x.secret = requestKey(resp)
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		apiErr := readAPIError(resp, x.errorContext())
		ev := NewAPIErrorEvent(apiErr.Status, apiErr.Message)
		if apiErr.Status == http.StatusTooManyRequests && apiErr.Code == codeSessionBusy {
			// Unlike the reference, which drops every answer's code, this
			// one reaches the browser: the app can tell "another run of
			// this session is still going" from other rate limits.
			ev.Code = apiErr.Code
		}
		x.emit(ev)
		l.stopped = true
		return l, nil
	}
	if resp.StatusCode == http.StatusNoContent || resp.StatusCode == http.StatusResetContent {
		// fetch gives these statuses no body; the reference reports it.
		x.emit(NewInternalErrorEvent("Response body is not readable"))
		l.stopped = true
		return l, nil
	}
	if x.s.start != nil {
		// The id is in the headers, read before the body: the session
		// exists before its first event is forwarded.
		x.s.start.latchHeader(resp.Header)
	}
	// The first bytes are kept for the error of an answer that is not
	// an event stream; more than are quoted, so the key can be taken out.
	head := &headReader{r: resp.Body, max: 4*notStreamPrefix + len(x.secret)}
	var r io.Reader = head
	if idle != nil {
		r = &idleReader{r: head, w: idle}
	}
	l, err = x.readLeg(r, executionID)
	switch {
	case err == nil:
		if !l.stream && !l.cancelled {
			// A 2xx answer without one event: an HTML page of a wrong
			// BaseURL, a JSON body, an empty one. Not transient.
			msg := notStream(resp.StatusCode, resp.Header.Get("Content-Type"), head.head, x.secret)
			x.s.c.log.Warn("octavus: "+msg, "session", x.s.SessionID())
			x.fail(msg, false)
			l.stopped = true
		}
	case errors.Is(err, errEventTooLarge):
		return l, &legError{fmt.Sprintf("Platform sent an event larger than %d bytes", c.maxEvent), err}
	case at.timedOut():
		return l, &legError{fmt.Sprintf("Platform connection dropped: no data for %v", c.idleTimeout), err}
	default:
		return l, &legError{"Platform connection dropped", err}
	}
	return l, nil
}

// attempt is the context of a leg's current request attempt.
type attempt struct {
	mu     sync.Mutex
	ctx    context.Context
	cancel context.CancelCauseFunc
}

// next ends the previous attempt's context and returns a new one, derived
// from parent.
func (a *attempt) next(parent context.Context) context.Context {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.cancel != nil {
		a.cancel(nil)
	}
	a.ctx, a.cancel = context.WithCancelCause(parent)
	return a.ctx
}

// idle cancels the current attempt: the watchdog's timer runs it.
func (a *attempt) idle() {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.cancel != nil {
		a.cancel(errIdle)
	}
}

// timedOut reports whether the watchdog cancelled the current attempt.
func (a *attempt) timedOut() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.ctx != nil && context.Cause(a.ctx) == errIdle
}

func (a *attempt) end() {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.cancel != nil {
		a.cancel(nil)
	}
}

// idleReader tells the idle watchdog w of every byte read.
type idleReader struct {
	r io.Reader
	w *watchdog
}

func (r *idleReader) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	if n > 0 {
		r.w.touch()
	}
	return n, err
}

// watchdog calls fire once nothing was read for d. A read only notes its
// time (touch: an atomic store); the timer, when it goes off, looks at that
// note and sleeps again for what is left of d, so that the hot path pays
// no timer update per read (a Timer.Reset per read was 3% of an app
// server's CPU at 2,000 streams).
type watchdog struct {
	t       *time.Timer
	d       time.Duration
	fire    func()
	base    time.Time    // the monotonic origin of last
	last    atomic.Int64 // when the last byte was read (or the watchdog armed), since base
	stopped atomic.Bool
}

func newWatchdog(d time.Duration, fire func()) *watchdog {
	w := &watchdog{d: d, fire: fire, base: time.Now()}
	w.t = time.AfterFunc(d, w.check)
	return w
}

// touch notes a read: the watchdog fires no sooner than d from now.
func (w *watchdog) touch() { w.last.Store(int64(time.Since(w.base))) }

// reset arms the watchdog for d from now (a new attempt).
func (w *watchdog) reset() {
	w.touch()
	w.t.Reset(w.d)
}

func (w *watchdog) check() {
	if w.stopped.Load() {
		return
	}
	if left := w.d - (time.Since(w.base) - time.Duration(w.last.Load())); left > 0 {
		w.t.Reset(left)
		return
	}
	w.fire()
}

func (w *watchdog) stop() {
	w.stopped.Store(true)
	w.t.Stop()
}

// failed ends the execution after a failed leg: one error event, logged.
func (x *execution) failed(err error) {
	var le *legError
	if errors.As(err, &le) {
		x.s.c.log.Warn("octavus: "+le.msg, "session", x.s.SessionID(), "error", le.err)
		x.fail(le.msg, true)
		return
	}
	var kfe *KeyFuncError
	if errors.As(err, &kfe) {
		// The app's error may say more than a browser should see.
		x.s.c.log.Error("octavus: no API key for the platform request", "session", x.s.SessionID(), "error", err)
		x.fail("Internal error: the API key could not be obtained", false)
		return
	}
	x.s.c.log.Error("octavus: execution failed", "session", x.s.SessionID(), "error", err)
	x.fail("Internal error: "+err.Error(), false)
}

// emit sends ev to the consumer. It returns false when ctx was cancelled
// first.
func (x *execution) emit(ev StreamEvent) bool {
	if d := x.direct.Load(); d != nil {
		d.add(ev)
		return x.publish(d)
	}
	// Most sends find room in the buffer: try that first, without the
	// cost of a two-way select.
	select {
	case x.out <- ev:
		return true
	default:
	}
	select {
	case x.out <- ev:
		return true
	case <-x.ctx.Done():
		return false
	}
}

// stop ends a cancelled execution with finish {stop}. It first takes back
// the events the consumer has not received, so the buffer has room and the
// send cannot block: a consumer still reading gets finish {stop} last, one
// that left leaves no goroutine behind.
func (x *execution) stop() {
drain:
	for {
		select {
		case <-x.out:
		default:
			break drain
		}
	}
	if d := x.direct.Load(); d != nil {
		d.discard()
		d.add(&FinishEvent{FinishReason: FinishStop})
		x.publish(d) // cannot wait: nothing is pending
		return
	}
	x.out <- &FinishEvent{FinishReason: FinishStop}
}

// fail ends the execution with the internal error that marks a failed
// stream.
func (x *execution) fail(message string, retryable bool) {
	ev := NewInternalErrorEvent(message)
	ev.Retryable = retryable
	ev.terminal = true
	if !x.emit(ev) {
		x.stop()
	}
}

// defaultResourceUpdateTimeout is AttachOptions.ResourceUpdateTimeout's
// default.
const defaultResourceUpdateTimeout = 5 * time.Second

// Bounds of the resource update queue (see updater).
const (
	maxQueuedUpdates      = 64
	maxQueuedUpdateValues = 16 << 20
)

// updater runs resource updates in order on one goroutine, started on the
// first update, so a slow OnUpdate does not hold up the stream.
//
// Its queue of updates not yet started is bounded: at most
// maxQueuedUpdates (64) updates and maxQueuedUpdateValues (16 MiB) of
// their JSON values, one update always fitting. When a new update makes it
// overflow, the oldest waiting update that a later update of the same
// resource supersedes is dropped (only the latest value of a resource is
// worth saving), else the oldest waiting update; each drop is logged at
// warn level. A slow OnUpdate thus holds a bounded amount of memory
// however much the stream sends.
type updater struct {
	mu      sync.Mutex
	queue   []queuedUpdate
	bytes   int
	running bool
	closed  bool // finish gave up: no more updates start
	idle    chan struct{}
	ctx     context.Context
	cancel  context.CancelCauseFunc
}

// queuedUpdate is one update waiting for OnUpdate.
type queuedUpdate struct {
	name string
	size int
	f    func()
}

// errUpdateDeadline cancels the ctx of OnUpdate calls still running when
// AttachOptions.ResourceUpdateTimeout ran out after the execution ended.
var errUpdateDeadline = errors.New("octavus: AttachOptions.ResourceUpdateTimeout ran out after the execution ended")

// context returns the ctx of the updates: parent's values, not cancelled
// with it, but by finish's deadline.
func (u *updater) context(parent context.Context) context.Context {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.ctx == nil {
		u.ctx, u.cancel = context.WithCancelCause(context.WithoutCancel(parent))
	}
	return u.ctx
}

// add queues f, the update of the resource name whose value has size
// bytes. It returns the names of the waiting updates it dropped to stay
// within the queue's bounds.
func (u *updater) add(name string, size int, f func()) (dropped []string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.closed {
		return nil
	}
	u.queue = append(u.queue, queuedUpdate{name, size, f})
	u.bytes += size
	for len(u.queue) > 1 && (len(u.queue) > maxQueuedUpdates || u.bytes > maxQueuedUpdateValues) {
		k := 0 // the oldest, unless an older one is superseded
	find:
		for i, q := range u.queue[:len(u.queue)-1] {
			for _, later := range u.queue[i+1:] {
				if later.name == q.name {
					k = i
					break find
				}
			}
		}
		dropped = append(dropped, u.queue[k].name)
		u.bytes -= u.queue[k].size
		u.queue[k] = queuedUpdate{}
		u.queue = append(u.queue[:k], u.queue[k+1:]...)
	}
	if !u.running {
		u.running = true
		u.idle = make(chan struct{})
		go u.work(u.idle)
	}
	return dropped
}

func (u *updater) work(idle chan struct{}) {
	for {
		u.mu.Lock()
		if len(u.queue) == 0 || u.closed {
			u.running = false
			u.mu.Unlock()
			close(idle)
			return
		}
		q := u.queue[0]
		u.queue[0] = queuedUpdate{}
		u.queue = u.queue[1:]
		u.bytes -= q.size
		u.mu.Unlock()
		q.f()
	}
}

// finish returns when every queued update has run, or, with timeout > 0,
// when timeout has passed: then the running OnUpdate's ctx is cancelled,
// the updates that have not started are dropped (logged), and finish
// returns without waiting for an OnUpdate that ignores its ctx (its
// goroutine ends when it returns).
func (u *updater) finish(log *slog.Logger, timeout time.Duration) {
	u.mu.Lock()
	idle, running := u.idle, u.running
	u.mu.Unlock()
	defer func() {
		if u.cancel != nil {
			u.cancel(nil)
		}
	}()
	if !running {
		return
	}
	if timeout <= 0 {
		<-idle
		return
	}
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-idle:
		return
	case <-t.C:
	}
	u.mu.Lock()
	u.closed = true
	dropped := len(u.queue)
	u.queue, u.bytes = nil, 0
	u.mu.Unlock()
	u.cancel(errUpdateDeadline)
	log.Warn("octavus: resource updates still running after the execution ended; their ctx is cancelled and the execution ends without them", "timeout", timeout, "dropped", dropped)
}

// resourceUpdate queues the OnUpdate call of the resource named in ev, if
// one is attached.
func (x *execution) resourceUpdate(ev *ResourceUpdateEvent) {
	r := x.s.resources[ev.Name]
	if r == nil {
		return
	}
	ctx := x.updates.context(x.ctx)
	raw := ev.Value
	dropped := x.updates.add(ev.Name, len(raw), func() {
		defer func() {
			if v := recover(); v != nil {
				x.s.c.log.Error("octavus: resource OnUpdate panicked", "resource", ev.Name, "panic", v, "stack", string(debug.Stack()))
			}
		}()
		var value any
		if len(raw) > 0 {
			if err := json.Unmarshal(raw, &value); err != nil {
				x.s.c.log.Error("octavus: resource value is not JSON", "resource", ev.Name, "error", err)
				return
			}
		}
		if err := r.OnUpdate(ctx, value); err != nil {
			x.s.c.log.Error("octavus: resource OnUpdate failed", "resource", ev.Name, "error", err)
		}
	})
	for _, name := range dropped {
		x.s.c.log.Warn("octavus: resource update dropped: too many waiting for a slow OnUpdate", "session", x.s.SessionID(), "resource", name)
	}
}
