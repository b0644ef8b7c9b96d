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

// uiPartTypes are the part types of a v4 UIMessage; a worker's nested parts
// may be any of them but worker.
var uiPartTypes = []string{"text", "reasoning", "tool-call", "operation", "source", "file", "object",
	"worker", "todo", "step-start"}

// parseUIMessages checks a restore body's messages: v4 UIMessage objects
// with an id, a role of user or assistant, an optional sender, and parts
// that are objects with a v4 part type. Parts are kept as they came, with
// every key.
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
		if sd, ok := m["sender"]; ok {
			b, _ := json.Marshal(sd)
			var err error
			if msg.sender, err = parseSender(b); err != nil {
				return nil, fmt.Errorf("messages[%d].%v", i, err)
			}
		}
		for j, rp := range rawParts {
			p, err := parseUIPart(rp, true)
			if err != nil {
				return nil, fmt.Errorf("messages[%d].parts[%d]%v", i, j, err)
			}
			msg.parts = append(msg.parts, p)
		}
		msgs = append(msgs, msg)
	}
	return msgs, nil
}

// parseUIPart checks one UI part; a worker part's parts become its nested
// parts (top says whether a worker is allowed).
func parseUIPart(v any, top bool) (*part, error) {
	ui, ok := v.(map[string]any)
	typ, _ := ui["type"].(string)
	switch {
	case !ok || typ == "":
		return nil, errors.New(" must be an object with a type")
	case !slices.Contains(uiPartTypes, typ):
		return nil, fmt.Errorf(": unknown part type %q", typ)
	case typ == "worker" && !top:
		return nil, errors.New(": a worker part cannot hold a worker part")
	}
	p := &part{ui: ui}
	if typ == "worker" {
		nested, ok := ui["parts"].([]any)
		if !ok {
			return nil, errors.New(": a worker part needs parts")
		}
		delete(ui, "parts")
		for k, n := range nested {
			np, err := parseUIPart(n, false)
			if err != nil {
				return nil, fmt.Errorf(".parts[%d]%v", k, err)
			}
			p.nested = append(p.nested, np)
		}
	}
	return p, nil
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
	rollback       Rollback
	sender         *Sender
	dynamicTools   []ToolSchema
}

// triggerKeys are the keys of a 6.4 trigger body, in the SDK's order.
var triggerKeys = []string{"triggerName", "input", "rollbackAfterMessageId", "sender",
	"executionId", "toolResults", "dynamicToolSchemas"}

func parseTrigger(body []byte) (*triggerBody, error) {
	obj, err := decodeBody(body, triggerKeys...)
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
	if raw, ok := obj["rollbackAfterMessageId"]; ok {
		tb.rollback.Present = true
		if isNull(raw) {
			tb.rollback.Null = true
		} else if tb.rollback.MessageID, _, err = stringField(obj, "rollbackAfterMessageId", false); err != nil {
			return nil, errors.New("rollbackAfterMessageId must be a string or null")
		}
	}
	if raw, ok := obj["sender"]; ok {
		if tb.sender, err = parseSender(raw); err != nil {
			return nil, err
		}
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
	if raw, ok := obj["dynamicToolSchemas"]; ok {
		if tb.dynamicTools, err = parseToolSchemas(raw); err != nil {
			return nil, err
		}
	}
	return tb, nil
}

func isNull(raw json.RawMessage) bool { return bytes.Equal(bytes.TrimSpace(raw), []byte("null")) }

// parseSender checks a sender: an object of optional id, name and image strings.
func parseSender(raw json.RawMessage) (*Sender, error) {
	obj, err := decodeBody(raw, "id", "name", "image")
	if err != nil {
		return nil, fmt.Errorf("sender: %v", err)
	}
	var sd Sender
	for _, f := range []struct {
		key string
		dst *string
	}{{"id", &sd.ID}, {"name", &sd.Name}, {"image", &sd.Image}} {
		if *f.dst, _, err = stringField(obj, f.key, false); err != nil {
			return nil, fmt.Errorf("sender: %v", err)
		}
	}
	return &sd, nil
}

// parseToolSchemas checks dynamicToolSchemas: an array of {name,
// description, inputSchema, outputSchema?} with a non-empty name, unique
// across the array, and object schemas.
func parseToolSchemas(raw json.RawMessage) ([]ToolSchema, error) {
	var list []json.RawMessage
	if err := json.Unmarshal(raw, &list); err != nil || list == nil {
		return nil, errors.New("dynamicToolSchemas must be an array")
	}
	out := make([]ToolSchema, 0, len(list))
	seen := map[string]bool{}
	for i, item := range list {
		obj, err := decodeBody(item, "name", "description", "inputSchema", "outputSchema")
		var ts ToolSchema
		if err == nil {
			ts.Name, _, err = stringField(obj, "name", true)
		}
		if err == nil {
			var present bool
			ts.Description, present, err = stringField(obj, "description", false)
			if err == nil && !present {
				err = errors.New("description is required")
			}
		}
		if err == nil {
			var present bool
			ts.InputSchema, present, err = objectField(obj, "inputSchema")
			if err == nil && !present {
				err = errors.New("inputSchema is required")
			}
		}
		if err == nil {
			ts.OutputSchema, _, err = objectField(obj, "outputSchema")
		}
		if err == nil && seen[ts.Name] {
			err = fmt.Errorf("duplicate tool name %q", ts.Name)
		}
		if err != nil {
			return nil, fmt.Errorf("dynamicToolSchemas[%d]: %v", i, err)
		}
		seen[ts.Name] = true
		out = append(out, ts)
	}
	return out, nil
}

// parseToolResults checks each result: a toolCallId, and the fields of a
// ToolResult with their types. result may be anything, null included.
// Other keys are accepted, as the platform does (browsers send their own).
func parseToolResults(raw json.RawMessage) ([]ToolResult, error) {
	var list []json.RawMessage
	if err := json.Unmarshal(raw, &list); err != nil || list == nil {
		return nil, errors.New("toolResults must be an array")
	}
	out := make([]ToolResult, 0, len(list))
	for i, item := range list {
		obj, err := decodeBody(item)
		if err == nil {
			for _, k := range []string{"toolCallId", "toolName", "error", "outputVariable", "thread", "workerId"} {
				if _, _, err = stringField(obj, k, k == "toolCallId"); err != nil {
					break
				}
			}
		}
		if v, ok := obj["blockIndex"]; err == nil && ok && isNull(v) {
			err = errors.New("blockIndex must be a number")
		}
		if v, ok := obj["files"]; err == nil && ok {
			err = checkFiles(v)
		}
		var tr ToolResult
		if err == nil {
			err = json.Unmarshal(item, &tr)
		}
		if err != nil {
			return nil, fmt.Errorf("toolResults[%d]: %v", i, err)
		}
		out = append(out, tr)
	}
	return out, nil
}

// checkFiles checks a tool result's files: FileReference objects with a
// string id, mediaType and url.
func checkFiles(raw json.RawMessage) error {
	var files []map[string]any
	if err := json.Unmarshal(raw, &files); err != nil || files == nil {
		return errors.New("files must be an array of FileReference objects")
	}
	for j, f := range files {
		if _, ok := fileReference(f); !ok {
			return fmt.Errorf("files[%d] is not a FileReference {id, mediaType, url}", j)
		}
	}
	return nil
}

// decodeBody decodes a JSON object and rejects keys not in allowed; with no
// allowed keys, every key is accepted.
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
		if len(allowed) > 0 && !slices.Contains(allowed, k) {
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
