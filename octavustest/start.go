package octavustest

import (
	"net/http"
)

// startSession answers POST /api/agent-sessions/start {agentId, trigger:
// {triggerName?, input?, sender?, dynamicToolSchemas?}, input?,
// idempotencyKey}: it creates the session (or finds the one an earlier POST
// with the same key created) and streams the agent's first turn in it, with
// the session id in the X-Octavus-Session-Id header and on the start event.
func (s *Server) startSession(w http.ResponseWriter, r *http.Request, rec *Request, body []byte) {
	obj, err := decodeBody(body, "agentId", "trigger", "input", "idempotencyKey")
	var agentID, key string
	var input map[string]any
	var tb *triggerBody
	if err == nil {
		agentID, _, err = stringField(obj, "agentId", true)
	}
	if err == nil {
		raw, ok := obj["trigger"]
		switch {
		case !ok:
			err = errString("trigger is required")
		default:
			// The nested trigger carries no rollback and no continuation.
			if _, err = decodeBody(raw, "triggerName", "input", "sender", "dynamicToolSchemas"); err != nil {
				err = errString("trigger: " + err.Error())
			} else if tb, err = parseTrigger(raw); err != nil {
				err = errString("trigger: " + err.Error())
			} else if tb.triggerName == "" {
				err = errString("trigger.triggerName is required")
			}
		}
	}
	if err == nil {
		input, _, err = objectField(obj, "input")
	}
	if err == nil {
		key, _, err = stringField(obj, "idempotencyKey", true)
	}
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}

	s.mu.Lock()
	if s.agents[agentID] == nil {
		s.mu.Unlock()
		writeError(w, http.StatusNotFound, "Agent not found: "+agentID)
		return
	}
	id, seen := s.starts[key]
	if sess := s.sessions[id]; seen && sess != nil && sess.agentID != agentID {
		s.mu.Unlock()
		writeError(w, http.StatusConflict, "idempotencyKey "+key+" was used to start a session of another agent")
		return
	}
	if !seen || s.sessions[id] == nil {
		id = s.freshSessionIDLocked()
		s.newSessionLocked(id, agentID, input)
		s.starts[key] = id
	}
	s.mu.Unlock()
	s.serveTurn(w, r, rec, id, tb, legMode{endpoint: EndpointStart, idempotencyKey: key})
}

// StartedSession returns the session a deferred start (POST
// /api/agent-sessions/start) with this idempotencyKey created, and whether
// there is one. Every later start with the same key runs in that session.
func (s *Server) StartedSession(idempotencyKey string) (sessionID string, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sessionID, ok = s.starts[idempotencyKey]
	return sessionID, ok
}
