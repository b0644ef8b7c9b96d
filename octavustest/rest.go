package octavustest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
)

type uploadedFile struct {
	mediaType string
	data      []byte
	uploaded  bool
}

// createSession answers POST /api/agent-sessions {agentId, input}.
func (s *Server) createSession(w http.ResponseWriter, body []byte) {
	obj, err := decodeBody(body, "agentId", "input")
	var agentID string
	var input map[string]any
	if err == nil {
		agentID, _, err = stringField(obj, "agentId", true)
	}
	if err == nil {
		input, _, err = objectField(obj, "input")
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
	id := s.freshSessionIDLocked()
	s.newSessionLocked(id, agentID, input)
	s.mu.Unlock()
	writeJSON(w, http.StatusCreated, map[string]any{"sessionId": id})
}

// getSession answers GET /api/agent-sessions/{id}, with ?format=ui as UI.
func (s *Server) getSession(w http.ResponseWriter, id string, ui bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sess := s.sessions[id]
	switch {
	case sess == nil:
		writeError(w, http.StatusNotFound, "Session not found: "+id)
	case sess.expired:
		writeJSON(w, http.StatusOK, map[string]any{"sessionId": sess.id, "agentId": sess.agentID,
			"status": "expired", "createdAt": formatTime(sess.createdAt)})
	case ui:
		msgs := []any{}
		for _, m := range sess.messages {
			um := m.uiMessage()
			if m.role == "assistant" && len(um["parts"].([]any)) == 0 {
				continue // nothing the user may see
			}
			msgs = append(msgs, um)
		}
		writeJSON(w, http.StatusOK, map[string]any{"sessionId": sess.id, "agentId": sess.agentID,
			"messages": msgs, "status": "active"})
	default:
		msgs := []any{}
		for _, m := range sess.messages {
			msgs = append(msgs, m.chatMessage())
		}
		writeJSON(w, http.StatusOK, map[string]any{"id": sess.id, "agentId": sess.agentID,
			"input": sess.input, "variables": map[string]any{}, "resources": sess.resources,
			"messages": msgs, "status": "active",
			"createdAt": formatTime(sess.createdAt), "updatedAt": formatTime(sess.updatedAt)})
	}
}

// restoreSession answers POST /api/agent-sessions/{id}/restore {messages, input}.
func (s *Server) restoreSession(w http.ResponseWriter, id string, body []byte) {
	obj, err := decodeBody(body, "messages", "input")
	var msgs []*message
	var input map[string]any
	var hasInput bool
	if err == nil {
		msgs, err = parseUIMessages(obj["messages"], formatTime(s.now()))
	}
	if err == nil {
		input, hasInput, err = objectField(obj, "input")
	}
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	sess := s.sessions[id]
	if sess == nil {
		writeError(w, http.StatusNotFound, "Session not found: "+id)
		return
	}
	restored := sess.expired
	if restored {
		sess.expired = false
		sess.messages = msgs
		sess.execMsgs = map[string]*message{}
		sess.pending = nil
		if hasInput {
			sess.input = input
		}
		sess.updatedAt = s.now()
	}
	writeJSON(w, http.StatusOK, map[string]any{"sessionId": sess.id, "restored": restored})
}

// parseUIMessages checks a restore body's messages: UIMessage objects with an
// id, a role of user or assistant, and parts that are objects with a type.
func parseUIMessages(raw json.RawMessage, now string) ([]*message, error) {
	if raw == nil {
		return nil, errors.New("messages is required")
	}
	var list []map[string]any
	if err := json.Unmarshal(raw, &list); err != nil || list == nil {
		return nil, errors.New("messages must be an array of UIMessage objects")
	}
	msgs := make([]*message, 0, len(list))
	for i, m := range list {
		id, _ := m["id"].(string)
		role, _ := m["role"].(string)
		rawParts, partsOK := m["parts"].([]any)
		if id == "" || (role != "user" && role != "assistant") || !partsOK {
			return nil, fmt.Errorf("messages[%d] is not a UIMessage: it needs id, role (user or assistant) and parts", i)
		}
		msg := &message{id: id, role: role}
		msg.createdAt, _ = m["createdAt"].(string)
		if msg.createdAt == "" {
			msg.createdAt = now
		}
		for j, rp := range rawParts {
			p, ok := rp.(map[string]any)
			if typ, _ := p["type"].(string); !ok || typ == "" {
				return nil, fmt.Errorf("messages[%d].parts[%d] must be an object with a type", i, j)
			}
			msg.parts = append(msg.parts, &part{ui: p})
		}
		msgs = append(msgs, msg)
	}
	return msgs, nil
}

// listAgents answers GET /api/agents.
func (s *Server) listAgents(w http.ResponseWriter) {
	s.mu.Lock()
	defer s.mu.Unlock()
	agents := []any{}
	for _, id := range s.agentOrder {
		a := s.agents[id]
		var desc any
		if a.Description != "" {
			desc = a.Description
		}
		at := formatTime(a.createdAt)
		agents = append(agents, map[string]any{"id": a.ID, "slug": a.Slug, "name": a.Name,
			"description": desc, "format": a.Format, "createdAt": at, "updatedAt": at, "projectId": a.ProjectID})
	}
	writeJSON(w, http.StatusOK, map[string]any{"agents": agents})
}

// getAgent answers GET /api/agents/{id} with the agent definition.
func (s *Server) getAgent(w http.ResponseWriter, id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.agents[id]
	if a == nil {
		writeError(w, http.StatusNotFound, "Agent not found: "+id)
		return
	}
	settings := map[string]any{"slug": a.Slug, "name": a.Name, "format": a.Format}
	if a.Description != "" {
		settings["description"] = a.Description
	}
	prompts := []any{}
	for _, p := range a.Prompts {
		prompts = append(prompts, map[string]any{"name": p.Name, "content": p.Content})
	}
	writeJSON(w, http.StatusOK, map[string]any{"id": a.ID, "settings": settings,
		"protocol": a.Protocol, "prompts": prompts})
}

// uploadURLs answers POST /api/files/upload-urls {sessionId, files}. The URLs
// point at the fake itself: PUT the bytes to uploadUrl, GET them from downloadUrl.
func (s *Server) uploadURLs(w http.ResponseWriter, r *http.Request, body []byte) {
	obj, err := decodeBody(body, "sessionId", "files")
	var sessionID string
	var files []map[string]any
	if err == nil {
		sessionID, _, err = stringField(obj, "sessionId", true)
	}
	if err == nil {
		files, err = parseFileRequests(obj["files"])
	}
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if sess := s.sessions[sessionID]; sess == nil || sess.expired {
		writeError(w, http.StatusNotFound, "Session not found: "+sessionID)
		return
	}
	base := "http://" + r.Host
	out := []any{}
	for _, f := range files {
		id := s.nextIDLocked("file")
		s.files[id] = &uploadedFile{mediaType: f["mediaType"].(string)}
		out = append(out, map[string]any{"id": id,
			"uploadUrl": base + "/uploads/" + id, "downloadUrl": base + "/files/" + id})
	}
	writeJSON(w, http.StatusOK, map[string]any{"files": out})
}

// parseFileRequests checks files: 1 to 20 of {filename, mediaType, size}.
func parseFileRequests(raw json.RawMessage) ([]map[string]any, error) {
	var files []map[string]any
	if raw == nil || json.Unmarshal(raw, &files) != nil || len(files) == 0 || len(files) > 20 {
		return nil, errors.New("files must be an array of 1 to 20 {filename, mediaType, size} objects")
	}
	for i, f := range files {
		for k := range f {
			if k != "filename" && k != "mediaType" && k != "size" {
				return nil, fmt.Errorf("files[%d]: unknown field %q", i, k)
			}
		}
		name, _ := f["filename"].(string)
		mt, _ := f["mediaType"].(string)
		size, _ := f["size"].(float64)
		if name == "" || len(name) > 255 || mt == "" || size <= 0 || size != float64(int64(size)) {
			return nil, fmt.Errorf("files[%d] needs a filename (1-255 chars), a mediaType and a positive integer size", i)
		}
	}
	return files, nil
}

// serveFile answers PUT /uploads/{id} (store) and GET /files/{id} (fetch).
func (s *Server) serveFile(w http.ResponseWriter, r *http.Request, kind, id string, body []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f := s.files[id]
	switch {
	case f == nil || (kind == "files" && !f.uploaded):
		writeError(w, http.StatusNotFound, "File not found: "+id)
	case kind == "uploads" && r.Method != http.MethodPut, kind == "files" && r.Method != http.MethodGet:
		writeErrorCode(w, http.StatusMethodNotAllowed, "Method not allowed", "METHOD_NOT_ALLOWED")
	case kind == "uploads":
		f.data, f.uploaded = bytes.Clone(body), true
		w.WriteHeader(http.StatusOK)
	default:
		w.Header().Set("Content-Type", f.mediaType)
		w.Header().Set("Content-Length", strconv.Itoa(len(f.data)))
		_, _ = w.Write(f.data)
	}
}

// triggerBody is a parsed trigger POST. Only the keys the SDK may send are
// accepted, each with its JSON type.
type triggerBody struct {
	triggerName    string
	input          map[string]any
	executionID    string
	hasExecutionID bool
	toolResults    []ToolResult
	hasToolResults bool
}

func parseTrigger(body []byte) (*triggerBody, error) {
	obj, err := decodeBody(body, "triggerName", "input", "executionId", "toolResults")
	if err != nil {
		return nil, err
	}
	tb := &triggerBody{}
	if tb.triggerName, _, err = stringField(obj, "triggerName", false); err != nil {
		return nil, err
	}
	if tb.input, _, err = objectField(obj, "input"); err != nil {
		return nil, err
	}
	if tb.executionID, tb.hasExecutionID, err = stringField(obj, "executionId", false); err != nil {
		return nil, err
	}
	if tb.hasExecutionID && tb.executionID == "" {
		return nil, errors.New("executionId must not be empty")
	}
	if raw, ok := obj["toolResults"]; ok {
		tb.hasToolResults = true
		if tb.toolResults, err = parseToolResults(raw); err != nil {
			return nil, err
		}
	}
	return tb, nil
}

// parseToolResults checks each result: a toolCallId, and only the fields of
// a ToolResult with their types. result may be anything, null included.
func parseToolResults(raw json.RawMessage) ([]ToolResult, error) {
	var list []json.RawMessage
	if err := json.Unmarshal(raw, &list); err != nil || list == nil {
		return nil, errors.New("toolResults must be an array")
	}
	out := make([]ToolResult, 0, len(list))
	for i, item := range list {
		obj, err := decodeBody(item, "toolCallId", "toolName", "result", "error", "outputVariable", "blockIndex")
		if err != nil {
			return nil, fmt.Errorf("toolResults[%d]: %v", i, err)
		}
		var tr ToolResult
		if err := json.Unmarshal(item, &tr); err != nil {
			return nil, fmt.Errorf("toolResults[%d]: %v", i, err)
		}
		for _, k := range []string{"toolCallId", "toolName", "error", "outputVariable"} {
			if _, _, err := stringField(obj, k, k == "toolCallId"); err != nil {
				return nil, fmt.Errorf("toolResults[%d]: %v", i, err)
			}
		}
		if v, ok := obj["blockIndex"]; ok && bytes.Equal(bytes.TrimSpace(v), []byte("null")) {
			return nil, fmt.Errorf("toolResults[%d]: blockIndex must be a number", i)
		}
		out = append(out, tr)
	}
	return out, nil
}

// decodeBody decodes a JSON object and rejects keys not in allowed.
func decodeBody(body []byte, allowed ...string) (map[string]json.RawMessage, error) {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(body, &obj); err != nil {
		return nil, fmt.Errorf("invalid JSON body: %v", err)
	}
	if obj == nil {
		return nil, errors.New("invalid JSON body: expected an object")
	}
	var unknown []string
	for k := range obj {
		if !slices.Contains(allowed, k) {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return nil, fmt.Errorf("unknown field(s): %s", strings.Join(unknown, ", "))
	}
	return obj, nil
}

// stringField reads a string field; present reports whether the key was there.
func stringField(obj map[string]json.RawMessage, key string, required bool) (v string, present bool, err error) {
	raw, ok := obj[key]
	if !ok {
		if required {
			return "", false, fmt.Errorf("%s is required", key)
		}
		return "", false, nil
	}
	if err := json.Unmarshal(raw, &v); err != nil || bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
		return "", true, fmt.Errorf("%s must be a string", key)
	}
	if required && v == "" {
		return "", true, fmt.Errorf("%s must not be empty", key)
	}
	return v, true, nil
}

// objectField reads an optional JSON object field.
func objectField(obj map[string]json.RawMessage, key string) (map[string]any, bool, error) {
	raw, ok := obj[key]
	if !ok {
		return nil, false, nil
	}
	var v map[string]any
	if err := json.Unmarshal(raw, &v); err != nil || v == nil {
		return nil, true, fmt.Errorf("%s must be an object", key)
	}
	return v, true, nil
}

// decodeObject decodes a JSON object into a map; numbers stay exact
// (json.Number) so that events are written back as they were given.
func decodeObject(b []byte) (map[string]any, error) {
	var m map[string]any
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil {
		return nil, err
	}
	if dec.More() {
		return nil, errors.New("trailing data after the object")
	}
	if m == nil {
		return nil, errors.New("not an object")
	}
	return m, nil
}

// marshal encodes v as compact JSON without HTML escaping, as JSON.stringify does.
func marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// encodeEvent encodes an event with "type" first and the other keys sorted,
// so streams read like the platform's and are byte-for-byte deterministic.
func encodeEvent(ev map[string]any) []byte {
	keys := make([]string, 0, len(ev))
	for k := range ev {
		if k != "type" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	if _, ok := ev["type"]; ok {
		keys = append([]string{"type"}, keys...)
	}
	var buf bytes.Buffer
	buf.WriteByte('{')
	for i, k := range keys {
		if i > 0 {
			buf.WriteByte(',')
		}
		kb, _ := marshal(k)
		vb, err := marshal(ev[k])
		if err != nil {
			vb = []byte("null")
		}
		buf.Write(kb)
		buf.WriteByte(':')
		buf.Write(vb)
	}
	buf.WriteByte('}')
	return buf.Bytes()
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"error":"octavustest: cannot encode answer","code":"INTERNAL_ERROR"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// writeError writes the platform's error body {error, code} with the code
// that goes with status.
func writeError(w http.ResponseWriter, status int, msg string) {
	writeErrorCode(w, status, msg, codeFor(status))
}

func writeErrorCode(w http.ResponseWriter, status int, msg, code string) {
	writeJSON(w, status, map[string]any{"error": msg, "code": code})
}

func codeFor(status int) string {
	switch status {
	case http.StatusBadRequest:
		return "VALIDATION_ERROR"
	case http.StatusUnauthorized:
		return "UNAUTHORIZED"
	case http.StatusForbidden:
		return "FORBIDDEN"
	case http.StatusNotFound:
		return "NOT_FOUND"
	case http.StatusConflict:
		return "CONFLICT"
	case http.StatusTooManyRequests:
		return "RATE_LIMITED"
	}
	text := http.StatusText(status)
	if text == "" {
		return "HTTP_" + strconv.Itoa(status)
	}
	return strings.ToUpper(strings.ReplaceAll(strings.ReplaceAll(text, " ", "_"), "-", "_"))
}
