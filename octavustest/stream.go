package octavustest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// trigger answers POST /api/agent-sessions/{id}/trigger, recorded as rec.
func (s *Server) trigger(w http.ResponseWriter, r *http.Request, rec *Request, sessionID string, body []byte) {
	tb, err := parseTrigger(body)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}

	s.mu.Lock()
	sess, status, problem := s.checkTriggerLocked(sessionID, tb)
	if problem != "" {
		s.mu.Unlock()
		writeError(w, status, problem)
		return
	}
	turn := s.nextTurnLocked(sess)
	req := TriggerRequest{
		SessionID:   sess.id,
		AgentID:     sess.agentID,
		TriggerName: tb.triggerName,
		Input:       tb.input,
		ExecutionID: tb.executionID,
		ToolResults: tb.toolResults,
		Header:      r.Header.Clone(),
		Body:        bytes.Clone(body),
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
	sess, _, problem = s.checkTriggerLocked(sessionID, tb)
	if problem != "" {
		s.mu.Unlock()
		writeErrorCode(w, http.StatusConflict, "Concurrent trigger: "+problem, "CONFLICT")
		return
	}
	execID := s.acceptLocked(sess, tb)
	s.mu.Unlock()

	switch t := turn.(type) {
	case handlerTurn:
		r.Body = io.NopCloser(bytes.NewReader(body))
		t.h.ServeHTTP(w, r)
		return
	case streamTurn:
		st := &streamer{s: s, sess: sess, rec: rec, w: w, rc: http.NewResponseController(w), ctx: r.Context(), execID: execID}
		st.serve(t)
	default:
		writeErrorCode(w, http.StatusInternalServerError, fmt.Sprintf("octavustest: unknown Turn %T", turn), "SCRIPT_ERROR")
		return
	}
}

// checkTriggerLocked finds the session and checks that the POST fits its
// state; it returns the HTTP status and message of the problem, if any.
func (s *Server) checkTriggerLocked(sessionID string, tb *triggerBody) (*session, int, string) {
	sess := s.sessions[sessionID]
	switch {
	case sess == nil:
		return nil, http.StatusNotFound, "Session not found: " + sessionID
	case sess.expired:
		return nil, http.StatusNotFound, "Session expired: " + sessionID
	}
	if s.lenient {
		return sess, 0, ""
	}
	continuing := tb.hasExecutionID || tb.hasToolResults
	p := sess.pending
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
		if tb.triggerName == "" {
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
	script := sess.script
	if script == nil {
		if a := s.agents[sess.agentID]; a != nil && a.Script != nil {
			script = a.Script
		} else {
			script = s.defaultScript
		}
	}
	if sess.cursor >= len(script) {
		return nil
	}
	t := script[sess.cursor]
	if _, ok := t.(repeatTurn); !ok {
		sess.cursor++
	}
	return t
}

// acceptLocked records an accepted trigger in the session: a user message
// for a new trigger, the tool results for a continuation. It returns the
// execution the answer belongs to.
func (s *Server) acceptLocked(sess *session, tb *triggerBody) string {
	sess.updatedAt = s.now()
	sess.pending = nil
	if tb.hasExecutionID {
		sess.applyToolResults(tb.executionID, tb.toolResults)
		return tb.executionID
	}
	if parts := userParts(tb.input); len(parts) > 0 {
		sess.messages = append(sess.messages, &message{
			id: s.nextIDLocked("msg"), role: "user", createdAt: formatTime(s.now()), parts: parts,
		})
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

	execID    string           // the execution this stream belongs to
	toolCalls []map[string]any // tool calls queued for the tool-request event
	finished  bool             // a finish event was written
	omitDone  bool             // leave out data: [DONE]
	stopped   bool             // nothing more can or may be written

	leg legState // history state of this stream; guarded by s.mu
}

func (st *streamer) serve(t streamTurn) {
	h := st.w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	st.w.WriteHeader(http.StatusOK)
	st.flush()
	if t.framed {
		msgID := st.s.nextID("msg")
		st.emit(map[string]any{"type": "start", "messageId": msgID, "executionId": st.execID})
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
	if !st.omitDone {
		st.write([]byte("data: [DONE]\n\n"))
	}
	st.s.mu.Lock()
	st.s.closeLegLocked(st)
	st.s.mu.Unlock()
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
	if ev["type"] == "finish" {
		st.flushToolRequest()
		st.finished = true
	}
	b := encodeEvent(ev)
	tracked, _ := decodeObject(b) // the history gets its own copy
	st.s.mu.Lock()
	st.s.trackLocked(st, tracked)
	st.s.mu.Unlock()
	st.write(append(append([]byte("data: "), b...), '\n', '\n'))
}

func (st *streamer) flushToolRequest() {
	if len(st.toolCalls) == 0 || st.stopped {
		return
	}
	calls := make([]any, len(st.toolCalls))
	for i, c := range st.toolCalls {
		calls[i] = c
	}
	st.toolCalls = nil
	st.emit(map[string]any{"type": "tool-request", "toolCalls": calls})
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
	st.s.mu.Unlock()
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
	select {
	case <-release:
	case <-st.ctx.Done():
		st.stopped = true
	case <-st.s.closing:
		st.stopped = true
	}
}

func (st *streamer) streamDeltas(kind, id string, deltas []string) {
	st.emit(map[string]any{"type": kind + "-start", "id": id})
	for _, d := range deltas {
		st.emit(map[string]any{"type": kind + "-delta", "id": id, "delta": d})
	}
	st.emit(map[string]any{"type": kind + "-end", "id": id})
}
