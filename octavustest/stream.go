package octavustest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// trigger answers POST /api/agent-sessions/{id}/trigger, recorded as rec.
func (s *Server) trigger(w http.ResponseWriter, r *http.Request, rec *Request, sessionID string, body []byte) {
	tb, err := parseTrigger(body)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	s.serveTurn(w, r, rec, sessionID, tb, legMode{endpoint: EndpointTrigger})
}

// legMode says which streaming endpoint a leg came in on.
type legMode struct {
	endpoint       string // EndpointTrigger, EndpointStart or EndpointExecute
	idempotencyKey string // EndpointStart: the body's key
}

// The endpoints a streamed turn answers, as TriggerRequest.Endpoint names them.
const (
	EndpointTrigger = "trigger" // POST /api/agent-sessions/{id}/trigger
	EndpointStart   = "start"   // POST /api/agent-sessions/start, a deferred start's first leg
	EndpointExecute = "execute" // POST /api/agents/{id}/execute, a worker execution's leg
)

// serveTurn checks a streaming leg against its session, plays the
// session's next scripted turn and keeps the session in step.
func (s *Server) serveTurn(w http.ResponseWriter, r *http.Request, rec *Request, sessionID string, tb *triggerBody, mode legMode) {
	worker := mode.endpoint == EndpointExecute
	s.mu.Lock()
	sess, status, problem := s.checkTriggerLocked(sessionID, tb, worker)
	if problem != "" {
		s.mu.Unlock()
		s.writeTriggerProblem(w, status, problem)
		return
	}
	turn := s.nextTurnLocked(sess)
	req := TriggerRequest{
		Endpoint:           mode.endpoint,
		SessionID:          sess.id,
		AgentID:            sess.agentID,
		TriggerName:        tb.triggerName,
		Input:              tb.input,
		ExecutionID:        tb.executionID,
		ToolResults:        tb.toolResults,
		Rollback:           tb.rollback,
		Sender:             tb.sender,
		DynamicToolSchemas: tb.dynamicTools,
		IdempotencyKey:     mode.idempotencyKey,
		SDKVersion:         r.Header.Get(sdkVersionHeader),
		Header:             r.Header.Clone(),
		Body:               bytes.Clone(rec.Body),
	}
	s.mu.Unlock()

	if turn == nil {
		writeErrorCode(w, http.StatusInternalServerError, fmt.Sprintf(
			"octavustest: no scripted turn left for session %s", sessionID), "SCRIPT_EXHAUSTED")
		return
	}
	// Respond funcs run without the lock: they may call the server.
	for {
		if rt, ok := turn.(respondTurn); ok {
			turn = rt(req)
		} else if rp, ok := turn.(repeatTurn); ok {
			turn = rp.t
		} else {
			break
		}
	}
	if turn == nil {
		writeErrorCode(w, http.StatusInternalServerError, "octavustest: Respond returned a nil Turn", "SCRIPT_ERROR")
		return
	}
	if f, ok := turn.(Failure); ok {
		f.write(w)
		return
	}

	// Accept the trigger: check again (another POST may have raced this one)
	// and update the session.
	s.mu.Lock()
	sess, status, problem = s.checkTriggerLocked(sessionID, tb, worker)
	if problem != "" {
		s.mu.Unlock()
		if status == http.StatusTooManyRequests {
			s.writeTriggerProblem(w, status, problem)
		} else {
			writeErrorCode(w, http.StatusConflict, "Concurrent trigger: "+problem, "CONFLICT")
		}
		return
	}
	lastMsgID := ""
	if !tb.hasExecutionID {
		s.rollbackLocked(sess, tb.rollback)
	}
	if n := len(sess.messages); n > 0 {
		lastMsgID = sess.messages[n-1].id
	}
	execID := s.acceptLocked(sess, tb, worker)
	sess.running++
	s.mu.Unlock()
	run := &runMark{s: s, sess: sess}
	defer run.end()

	if mode.endpoint == EndpointStart {
		w.Header().Set(sessionIDHeader, sess.id)
	}
	switch t := turn.(type) {
	case handlerTurn:
		r.Body = io.NopCloser(bytes.NewReader(rec.Body))
		t.h.ServeHTTP(w, r)
		return
	case streamTurn:
		st := &streamer{s: s, sess: sess, rec: rec, w: w, rc: http.NewResponseController(w), ctx: r.Context(),
			execID: execID, lastMsgID: lastMsgID, run: run, framed: t.framed, worker: worker}
		if mode.endpoint == EndpointStart {
			st.startSessionID = sess.id
		}
		st.serve(t)
	default:
		writeErrorCode(w, http.StatusInternalServerError, fmt.Sprintf("octavustest: unknown Turn %T", turn), "SCRIPT_ERROR")
		return
	}
}

// sessionIDHeader carries the id of the session a deferred start created.
const sessionIDHeader = "X-Octavus-Session-Id"

// busyMessage is the platform's SESSION_BUSY error text.
const busyMessage = "The session is busy with another run. Please try again in a moment."

// writeTriggerProblem answers a trigger POST that does not fit the session.
func (s *Server) writeTriggerProblem(w http.ResponseWriter, status int, problem string) {
	if status == http.StatusTooManyRequests {
		if s.busyRetryAfter != "" {
			w.Header().Set("Retry-After", s.busyRetryAfter)
		}
		writeErrorCode(w, status, problem, "SESSION_BUSY")
		return
	}
	writeError(w, status, problem)
}

// runMark ends a session's running execution once.
type runMark struct {
	s     *Server
	sess  *session
	ended bool
}

func (m *runMark) end() {
	m.s.mu.Lock()
	defer m.s.mu.Unlock()
	if !m.ended {
		m.ended = true
		m.sess.running--
	}
}

// checkTriggerLocked finds the session and checks that the POST fits its
// state; it returns the HTTP status and message of the problem, if any.
func (s *Server) checkTriggerLocked(sessionID string, tb *triggerBody, worker bool) (*session, int, string) {
	sess := s.sessions[sessionID]
	switch {
	case sess == nil && worker:
		return nil, http.StatusNotFound, "Execution not found: " + sessionID
	case sess == nil:
		return nil, http.StatusNotFound, "Session not found: " + sessionID
	case sess.expired:
		return nil, http.StatusNotFound, "Session expired: " + sessionID
	case sess.running > 0 && !s.concurrentRuns:
		return nil, http.StatusTooManyRequests, busyMessage
	}
	if s.lenient {
		return sess, 0, ""
	}
	continuing := tb.hasExecutionID || tb.hasToolResults
	p := sess.pending
	if p != nil && !continuing && tb.rollback.Present && s.rollbackDropsLocked(sess, tb.rollback, p.execID) {
		p = nil // a retry removes the execution that waits for tool results
	}
	switch {
	case p != nil && !continuing:
		return nil, http.StatusBadRequest, fmt.Sprintf(
			"Execution %s is waiting for tool results (%s): send executionId and toolResults",
			p.execID, strings.Join(p.ids, ", "))
	case p == nil && continuing:
		if !tb.hasExecutionID {
			return nil, http.StatusBadRequest, "toolResults sent without executionId"
		}
		return nil, http.StatusBadRequest, fmt.Sprintf(
			"No execution is waiting for tool results: executionId %q", tb.executionID)
	case p == nil:
		if tb.triggerName == "" && !worker {
			return nil, http.StatusBadRequest, "triggerName is required"
		}
		return sess, 0, ""
	case !tb.hasExecutionID:
		return nil, http.StatusBadRequest, "executionId is required with toolResults"
	case tb.executionID != p.execID:
		return nil, http.StatusBadRequest, fmt.Sprintf(
			"executionId %q does not match the execution waiting for tool results (%q)", tb.executionID, p.execID)
	case !tb.hasToolResults:
		return nil, http.StatusBadRequest, fmt.Sprintf(
			"toolResults are required: execution %s waits for %s", p.execID, strings.Join(p.ids, ", "))
	}
	want := map[string]bool{}
	for _, id := range p.ids {
		want[id] = true
	}
	seen := map[string]bool{}
	var problems []string
	for _, tr := range tb.toolResults {
		switch {
		case seen[tr.ToolCallID]:
			problems = append(problems, fmt.Sprintf("duplicate toolResult for toolCallId %q", tr.ToolCallID))
		case !want[tr.ToolCallID]:
			problems = append(problems, fmt.Sprintf("toolResult for unknown toolCallId %q", tr.ToolCallID))
		}
		seen[tr.ToolCallID] = true
	}
	for _, id := range p.ids {
		if !seen[id] {
			problems = append(problems, fmt.Sprintf("missing toolResult for toolCallId %q", id))
		}
	}
	if len(problems) > 0 {
		return nil, http.StatusBadRequest, "Invalid toolResults: " + strings.Join(problems, "; ")
	}
	return sess, 0, ""
}

// nextTurnLocked takes the session's next scripted turn, or nil when the
// script is used up. A Repeat turn is never moved past.
func (s *Server) nextTurnLocked(sess *session) Turn {
	script, cursor := sess.script, &sess.cursor
	if script == nil {
		a := s.agents[sess.agentID]
		if a != nil && a.Script != nil {
			script = a.Script
		} else {
			script = s.defaultScript
		}
		if sess.worker {
			// A worker agent's script plays across its executions.
			cursor = &s.defaultWorkerCursor
			if a != nil && a.Script != nil {
				cursor = &a.workerCursor
			}
		}
	}
	if *cursor >= len(script) {
		return nil
	}
	t := script[*cursor]
	if _, ok := t.(repeatTurn); !ok {
		*cursor++
	}
	return t
}

// acceptLocked records an accepted trigger in the session: a user message
// for a new trigger, the tool results for a continuation. It returns the
// execution the answer belongs to.
func (s *Server) acceptLocked(sess *session, tb *triggerBody, worker bool) string {
	sess.updatedAt = s.now()
	sess.pending = nil
	if tb.hasExecutionID {
		sess.applyToolResults(tb.executionID, tb.toolResults)
		s.logToolResultsLocked(sess, tb.toolResults)
		return tb.executionID
	}
	if worker {
		// A worker execution is its own session: the start leg's execution
		// id is the session id.
		s.logLocked(sess, "", map[string]any{"type": "trigger", "triggerInput": copyWithout(tb.input)})
		return sess.id
	}
	trig := map[string]any{"type": "trigger", "triggerName": tb.triggerName}
	if tb.input != nil {
		trig["triggerInput"] = tb.input
	}
	s.logLocked(sess, "", trig)
	if parts := userParts(tb.input); len(parts) > 0 {
		sess.messages = append(sess.messages, &message{
			id: s.nextIDLocked("msg"), role: "user", createdAt: formatTime(s.now()), parts: parts,
			sender: tb.sender,
		})
		if text, ok := tb.input["USER_MESSAGE"].(string); ok {
			s.logLocked(sess, "", map[string]any{"type": "message", "role": "user", "content": text, "visible": true})
		}
	}
	return s.nextIDLocked("exec")
}

// streamer writes one event stream and keeps the session history in step.
type streamer struct {
	s    *Server
	sess *session
	rec  *Request
	w    http.ResponseWriter
	rc   *http.ResponseController
	ctx  context.Context

	execID         string                      // the execution this stream belongs to
	lastMsgID      string                      // the start event's lastMessageId
	run            *runMark                    // the session's running execution
	framed         bool                        // a Stream turn: start and finish are added
	worker         bool                        // a worker execution's leg: usage follows finish
	usage          bool                        // a usage event was written
	finishReason   string                      // the finish event's reason, once written
	startSessionID string                      // a deferred start: the start event's sessionId
	logBuf         map[string]*strings.Builder // text and reasoning streamed so far, by part id, for the log
	toolCalls      []map[string]any            // tool calls queued for the tool-request event
	afterFinish    []map[string]any            // events held back until after finish (usage)
	finished       bool                        // a finish event was written
	omitDone       bool                        // leave out data: [DONE]
	stopped        bool                        // nothing more can or may be written
	workerID       string                      // set while a worker's parts run
	meta           map[string]any              // provider metadata for the parts added while set
	ticks          <-chan time.Time            // heartbeat ticks, nil without heartbeats

	leg legState // history state of this stream; guarded by s.mu
}

func (st *streamer) serve(t streamTurn) {
	h := st.w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	st.w.WriteHeader(http.StatusOK)
	st.flush()
	if st.s.heartbeat != nil {
		ticks, stop := st.s.heartbeat()
		defer stop()
		st.ticks = ticks
	}
	st.s.mu.Lock()
	st.s.logModelRequestLocked(st.sess, st.rec.Header.Get(traceHeader) == "true")
	st.s.mu.Unlock()
	if t.framed {
		msgID := st.s.nextID("msg")
		start := map[string]any{"type": "start", "messageId": msgID, "executionId": st.execID}
		if st.lastMsgID != "" {
			start["lastMessageId"] = st.lastMsgID
		}
		if st.startSessionID != "" {
			start["sessionId"] = st.startSessionID
		}
		st.emit(start)
	}
	st.runParts(t.parts)
	if t.framed && !st.finished {
		reason := "stop"
		if len(st.toolCalls) > 0 {
			reason = "tool-calls"
		}
		st.finish(reason)
	}
	st.flushToolRequest()
	st.flushAfterFinish()
	if st.worker && t.framed && st.finished && !st.usage && st.executionEnds() {
		Usage(UsageInfo{}).run(st) // zero cost in USD, no tokens
	}
	if !st.omitDone {
		st.write([]byte("data: [DONE]\n\n"))
	}
	st.s.mu.Lock()
	if !st.rec.cut { // a Cut closed the leg already, and the session may have moved on
		st.s.closeLegLocked(st)
	}
	st.s.mu.Unlock()
}

// executionEnds reports whether the leg's finish ends the execution: the
// real platform sends a worker's usage once, at the end, not after a leg
// that waits for tool results.
func (st *streamer) executionEnds() bool {
	return st.finishReason != "tool-calls" && st.finishReason != "client-tool-calls"
}

func (st *streamer) runParts(parts []Part) {
	for _, p := range parts {
		if st.stopped {
			return
		}
		p.run(st)
	}
}

func (st *streamer) write(b []byte) {
	if st.stopped {
		return
	}
	if _, err := st.w.Write(b); err != nil {
		st.stopped = true
		return
	}
	st.flush()
}

func (st *streamer) flush() {
	if err := st.rc.Flush(); err != nil {
		st.stopped = true
	}
}

// emit writes one event as "data: <json>\n\n" and lets the history follow it.
// A finish event first writes the queued tool-request.
func (st *streamer) emit(ev map[string]any) {
	if st.stopped {
		return
	}
	typ, _ := ev["type"].(string)
	switch typ {
	case "finish":
		st.flushToolRequest()
		st.finished = true
		st.finishReason, _ = ev["finishReason"].(string)
	case "usage":
		st.usage = true
	}
	if _, set := ev["workerId"]; !set && st.workerID != "" && workerEvents[typ] {
		ev["workerId"] = st.workerID
	}
	b := encodeEvent(ev)
	tracked, _ := decodeObject(b) // the history gets its own copy
	st.s.mu.Lock()
	st.s.trackLocked(st, tracked)
	st.s.logEventLocked(st, tracked)
	st.s.mu.Unlock()
	st.write(append(append([]byte("data: "), b...), '\n', '\n'))
	if typ == "finish" {
		st.flushAfterFinish()
	}
}

// workerEvents are the event types that carry the workerId of the worker
// execution they come from.
var workerEvents = map[string]bool{
	"text-start": true, "text-delta": true, "text-end": true,
	"reasoning-start": true, "reasoning-delta": true, "reasoning-end": true,
	"tool-input-start": true, "tool-input-delta": true, "tool-input-end": true, "tool-input-available": true,
	"tool-output-available": true, "tool-output-error": true, "source": true,
	"block-start": true, "block-end": true, "file-available": true, "tool-request": true, "todo-update": true,
}

// flushAfterFinish writes the events held back until after finish.
func (st *streamer) flushAfterFinish() {
	evs := st.afterFinish
	st.afterFinish = nil
	for _, ev := range evs {
		st.emit(ev)
	}
}

func (st *streamer) flushToolRequest() {
	if len(st.toolCalls) == 0 || st.stopped {
		return
	}
	calls := make([]any, len(st.toolCalls))
	worker, same := "", true
	for i, c := range st.toolCalls {
		calls[i] = c
		w, _ := c["workerId"].(string)
		if i == 0 {
			worker = w
		} else if w != worker {
			same = false
		}
	}
	st.toolCalls = nil
	ev := map[string]any{"type": "tool-request", "toolCalls": calls}
	if same && worker != "" {
		ev["workerId"] = worker // every call comes from one worker
	}
	st.emit(ev)
}

func (st *streamer) finish(reason string) {
	st.emit(map[string]any{"type": "finish", "finishReason": reason, "executionId": st.execID})
}

func (st *streamer) cut() {
	if st.stopped {
		return
	}
	st.stopped = true
	st.s.mu.Lock()
	st.rec.cut = true // the lost connection is not a client abort
	st.s.closeLegLocked(st)
	st.s.mu.Unlock()
	st.run.end() // the client sees the stream end now
	conn, _, err := st.rc.Hijack()
	if err != nil {
		// Not hijackable (HTTP/2): abort the response instead.
		panic(http.ErrAbortHandler)
	}
	_ = conn.Close()
}

func (st *streamer) stall(release <-chan struct{}) {
	if st.stopped {
		return
	}
	for {
		select {
		case <-release:
			return
		case <-st.ticks:
			st.write([]byte(heartbeat))
			if st.stopped {
				return
			}
		case <-st.ctx.Done():
			st.stopped = true
			return
		case <-st.s.closing:
			st.stopped = true
			return
		}
	}
}

func (st *streamer) streamDeltas(kind, id string, deltas []string) {
	st.emit(map[string]any{"type": kind + "-start", "id": id})
	for _, d := range deltas {
		st.emit(map[string]any{"type": kind + "-delta", "id": id, "delta": d})
	}
	st.emit(map[string]any{"type": kind + "-end", "id": id})
}
