package octavustest

import "net/http"

// execute answers POST /api/agents/{agentId}/execute, the legs of a worker
// execution: {type:"start", input, dynamicToolSchemas?} starts one (a new
// session whose id is the execution id), {type:"continue", executionId,
// toolResults} continues it after a tool-request.
func (s *Server) execute(w http.ResponseWriter, r *http.Request, rec *Request, agentID string, body []byte) {
	obj, err := decodeBody(body, "type", "input", "dynamicToolSchemas", "executionId", "toolResults")
	var typ string
	if err == nil {
		typ, _, err = stringField(obj, "type", true)
	}
	tb := &triggerBody{}
	if err == nil {
		switch typ {
		case "start":
			if _, err = decodeBody(body, "type", "input", "dynamicToolSchemas"); err != nil {
				err = errString("start: " + err.Error())
				break
			}
			var present bool
			if tb.input, present, err = objectField(obj, "input"); err == nil && !present {
				err = errString("input is required")
			}
			if raw, ok := obj["dynamicToolSchemas"]; err == nil && ok {
				tb.dynamicTools, err = parseToolSchemas(raw)
			}
		case "continue":
			// dynamicToolSchemas go on the start leg only, never repeated.
			if _, err = decodeBody(body, "type", "executionId", "toolResults"); err != nil {
				err = errString("continue: " + err.Error())
				break
			}
			if tb.executionID, tb.hasExecutionID, err = stringField(obj, "executionId", true); err != nil {
				break
			}
			raw, ok := obj["toolResults"]
			if !ok {
				err = errString("toolResults is required")
				break
			}
			tb.hasToolResults = true
			tb.toolResults, err = parseToolResults(raw)
		default:
			err = errString(`type must be "start" or "continue"`)
		}
	}
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}

	s.mu.Lock()
	a := s.agents[agentID]
	if a == nil {
		s.mu.Unlock()
		writeError(w, http.StatusNotFound, "Agent not found: "+agentID)
		return
	}
	if a.Format != "worker" {
		s.mu.Unlock()
		writeError(w, http.StatusBadRequest, "Agent "+agentID+" is not a worker agent (format "+a.Format+")")
		return
	}
	id := tb.executionID
	if typ == "start" {
		id = s.freshIDLocked("exec", func(id string) bool { return s.sessions[id] != nil })
		s.newSessionLocked(id, agentID, tb.input).worker = true
	} else if sess := s.sessions[id]; sess == nil || !sess.worker || sess.agentID != agentID {
		if !s.lenient || sess != nil {
			s.mu.Unlock()
			writeError(w, http.StatusNotFound, "Execution not found: "+id)
			return
		}
		s.newSessionLocked(id, agentID, nil).worker = true // lenient: begin mid-execution
	}
	s.mu.Unlock()
	s.serveTurn(w, r, rec, id, tb, legMode{endpoint: EndpointExecute})
}
