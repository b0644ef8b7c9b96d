package octavustest

import (
	"net/http"
	"strings"
)

// maxLogEntries is how many entries GET .../logs serves at most: the most
// recent ones, as the platform caps them.
const maxLogEntries = 3000

// clearSession answers DELETE /api/agent-sessions/{id}: the session becomes
// expired (restore brings it back). Clearing an expired session again is
// not an error.
func (s *Server) clearSession(w http.ResponseWriter, id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sess := s.sessions[id]
	if sess == nil {
		writeError(w, http.StatusNotFound, "Session not found: "+id)
		return
	}
	sess.expired = true
	sess.updatedAt = s.now()
	writeJSON(w, http.StatusOK, map[string]any{"sessionId": sess.id, "cleared": true})
}

// getLogs answers GET /api/agent-sessions/{id}/logs[?excludeModelRequests=true].
func (s *Server) getLogs(w http.ResponseWriter, id string, excludeModelRequests bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sess := s.sessions[id]
	switch {
	case sess == nil:
		writeError(w, http.StatusNotFound, "Session not found: "+id)
		return
	case sess.expired:
		writeJSON(w, http.StatusOK, map[string]any{"sessionId": sess.id, "agentId": sess.agentID,
			"status": "expired", "createdAt": formatTime(sess.createdAt)})
		return
	}
	entries := []any{}
	for _, e := range sess.logs {
		if excludeModelRequests && e["type"] == "model-request" {
			continue
		}
		entries = append(entries, copyWithout(e))
	}
	total := len(entries)
	if total > maxLogEntries {
		entries = entries[total-maxLogEntries:]
	}
	writeJSON(w, http.StatusOK, map[string]any{"sessionId": sess.id, "entries": entries,
		"total": total, "truncated": total > len(entries)})
}

// AddLogEntries appends entries to a session's execution log, after what
// the fake logged itself: e.g. entry types the fake never writes (step-stats,
// compaction, image-adapted, ...) or ones a later platform adds. Each entry
// gets an id, timestamp and sequence unless it has them. It reports whether
// the session exists.
func (s *Server) AddLogEntries(sessionID string, entries ...map[string]any) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	sess := s.sessions[sessionID]
	if sess == nil {
		return false
	}
	for _, e := range entries {
		s.logLocked(sess, "", copyWithout(e))
	}
	return true
}

// logLocked appends one entry to the session's log, filling in the base
// fields id, timestamp and sequence, and workerId when given.
func (s *Server) logLocked(sess *session, workerID string, entry map[string]any) {
	if _, ok := entry["id"]; !ok {
		entry["id"] = s.nextIDLocked("log")
	}
	if _, ok := entry["timestamp"]; !ok {
		entry["timestamp"] = formatTime(s.now())
	}
	if _, ok := entry["sequence"]; !ok {
		entry["sequence"] = len(sess.logs) + 1
	}
	if workerID != "" {
		entry["workerId"] = workerID
		if slug := sess.logNames[workerID]; slug != "" {
			entry["workerSlug"] = slug
		}
	}
	sess.logs = append(sess.logs, entry)
}

// traceHeader asks the platform to keep the full model request payloads
// in the log (ClientOptions.TraceModelRequests).
const traceHeader = "X-Octavus-Trace"

// logModelRequestLocked logs the model request that starts each leg: a
// marker (provider and model), which with traced (the leg's request had
// X-Octavus-Trace: true) also carries a requestBody.
func (s *Server) logModelRequestLocked(sess *session, traced bool) {
	mr := map[string]any{"requestType": "llm", "provider": fakeProvider, "model": fakeModel}
	if traced {
		msgs := []any{}
		for _, m := range sess.messages {
			msgs = append(msgs, map[string]any{"role": m.role, "id": m.id})
		}
		mr["requestBody"] = map[string]any{"model": fakeModel, "messages": msgs}
	}
	s.logLocked(sess, "", map[string]any{"type": "model-request", "model": fakeModel, "modelRequest": mr})
}

// The provider and model the fake's log entries name.
const (
	fakeProvider = "octavustest"
	fakeModel    = "octavustest-model"
)

// logToolResultsLocked logs the results a continuation brought.
func (s *Server) logToolResultsLocked(sess *session, results []ToolResult) {
	for _, tr := range results {
		name := tr.ToolName
		if name == "" {
			name = sess.logNames[tr.ToolCallID]
		}
		e := map[string]any{"type": "tool-result", "toolName": name}
		if tr.Error != "" {
			e["toolResult"] = map[string]any{"error": tr.Error}
		} else {
			e["toolResult"] = tr.Result
		}
		if tr.Thread != "" {
			e["thread"] = tr.Thread
		}
		s.logLocked(sess, tr.WorkerID, e)
	}
}

// logEventLocked logs what a streamed event tells about the execution, in
// the shapes of @octavus/core's execution-log entries: assistant messages,
// reasoning, tool calls and results, operations, workers and errors.
func (s *Server) logEventLocked(st *streamer, ev map[string]any) {
	str := func(k string) string { v, _ := ev[k].(string); return v }
	sess := st.sess
	wid := str("workerId")
	var entry map[string]any
	switch typ := str("type"); typ {
	case "text-start", "reasoning-start":
		if st.logBuf == nil {
			st.logBuf = map[string]*strings.Builder{}
		}
		st.logBuf[str("id")] = &strings.Builder{}
	case "text-delta", "reasoning-delta":
		if b := st.logBuf[str("id")]; b != nil {
			b.WriteString(str("delta"))
		}
	case "text-end", "reasoning-end":
		b := st.logBuf[str("id")]
		if b == nil {
			return
		}
		delete(st.logBuf, str("id"))
		if typ == "reasoning-end" {
			entry = map[string]any{"type": "reasoning", "reasoningContent": b.String()}
		} else {
			entry = map[string]any{"type": "message", "role": "assistant", "content": b.String(),
				"visible": wid != "" || st.leg.blockID == "" || st.leg.outputToChat}
		}
	case "tool-input-start":
		sess.logNames[str("toolCallId")] = str("toolName")
	case "tool-input-available":
		args, _ := ev["input"].(map[string]any)
		entry = map[string]any{"type": "tool-call", "toolName": str("toolName"), "toolArguments": copyWithout(args)}
	case "tool-output-available", "tool-output-error":
		entry = map[string]any{"type": "tool-result", "toolName": sess.logNames[str("toolCallId")]}
		if typ == "tool-output-error" {
			entry["toolResult"] = map[string]any{"error": ev["error"]}
		} else {
			entry["toolResult"] = ev["output"]
		}
	case "block-start":
		if operationBlockTypes[str("blockType")] {
			entry = map[string]any{"type": "block-operation", "blockName": str("blockName"),
				"operationType": str("blockType")}
			if d := str("description"); d != "" {
				entry["operationDescription"] = d
			}
		}
	case "worker-start":
		sess.logNames[wid] = str("workerSlug")
		in, _ := ev["input"].(map[string]any)
		entry = map[string]any{"type": "worker-execution", "workerInput": copyWithout(in)}
	case "worker-result":
		entry = map[string]any{"type": "worker-output"}
		if out, ok := ev["output"]; ok {
			entry["workerOutput"] = out
		}
		if e := str("error"); e != "" {
			entry["workerOutput"] = map[string]any{"error": e}
		}
	case "error":
		le := map[string]any{"type": str("errorType"), "message": str("message"), "source": str("source")}
		for _, k := range []string{"retryable", "retryAfter", "code", "provider", "tool"} {
			if v, ok := ev[k]; ok {
				le[k] = v
			}
		}
		if le["type"] == "" {
			le["type"] = "internal_error"
		}
		if le["source"] == "" {
			le["source"] = "platform"
		}
		entry = map[string]any{"type": "error", "error": le}
	}
	if entry == nil {
		return
	}
	if st.leg.thread != "" && wid == "" {
		entry["thread"] = st.leg.thread
	}
	s.logLocked(sess, wid, entry)
}
