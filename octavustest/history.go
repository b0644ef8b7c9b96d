package octavustest

import (
	"encoding/json"
	"sort"
	"strings"
	"time"
)

// session is the platform's state of one agent session.
type session struct {
	id, agentID string
	input       map[string]any
	resources   map[string]any
	messages    []*message
	execMsgs    map[string]*message // execution id -> its assistant message
	pending     *pendingExec        // tool calls waiting for results
	expired     bool
	createdAt   time.Time
	updatedAt   time.Time
	script      []Turn // nil: the agent's or the server's script
	cursor      int    // the next turn of the script
}

type pendingExec struct {
	execID string
	ids    []string // toolCallIds, in request order
}

// message is one message of a session's history. Parts are kept in the
// UIMessage part shape; the ChatMessage shape is derived from them.
type message struct {
	id, role  string
	createdAt string
	parts     []*part
}

type part struct {
	ui     map[string]any // the UI part: {"type": ..., ...}
	hidden bool           // seen by the model, not shown in the chat UI
	acc    string         // object parts: the JSON streamed so far
}

func (s *Server) newSessionLocked(id, agentID string, input map[string]any) *session {
	input = copyWithout(input) // never nil, and not shared with the caller
	now := s.now()
	sess := &session{
		id: id, agentID: agentID, input: input,
		resources: map[string]any{}, execMsgs: map[string]*message{},
		createdAt: now, updatedAt: now,
	}
	s.sessions[id] = sess
	return sess
}

// operationBlockTypes are the block types the UI shows as operation parts.
var operationBlockTypes = map[string]bool{"set-resource": true, "serialize-thread": true, "generate-image": true}

// legState is what the history needs to remember while one stream runs.
type legState struct {
	msgID        string // messageId of the stream's start event
	blockID      string
	outputToChat bool
	thread       string
	text         *part // the open text part
	reasoning    *part // the open reasoning part
	object       *part // the open structured-output part
}

// closeLegLocked marks the parts a stream left open (no end event before
// finish, a cut, an abort) as done, as the chat UI does on finish.
func (s *Server) closeLegLocked(st *streamer) {
	if m := st.sess.execMsgs[st.execID]; m != nil {
		for _, p := range m.parts {
			if p.ui["status"] != "streaming" {
				continue
			}
			if p.ui["type"] == "object" {
				p.finishObject()
			} else {
				p.ui["status"] = "done"
			}
		}
	}
	st.leg.text, st.leg.reasoning, st.leg.object = nil, nil, nil
}

func (p *part) finishObject() {
	var v any
	if err := json.Unmarshal([]byte(p.acc), &v); err != nil {
		p.ui["status"] = "error"
		p.ui["error"] = "Failed to parse response as JSON"
		return
	}
	p.ui["object"] = v
	p.ui["partial"] = v
	p.ui["status"] = "done"
}

// trackLocked updates the session history with one streamed event, the way
// the platform stores what it streamed.
func (s *Server) trackLocked(st *streamer, ev map[string]any) {
	sess, leg := st.sess, &st.leg
	str := func(k string) string { v, _ := ev[k].(string); return v }
	switch str("type") {
	case "start":
		if id := str("executionId"); id != "" {
			st.execID = id
		}
		leg.msgID = str("messageId")
	case "block-start":
		leg.blockID, leg.thread = str("blockId"), str("thread")
		leg.outputToChat = true
		if b, ok := ev["outputToChat"].(bool); ok {
			leg.outputToChat = b
		}
		leg.text, leg.reasoning = nil, nil
		if operationBlockTypes[str("blockType")] && str("display") != "hidden" {
			name := str("description")
			if name == "" {
				name = str("blockName")
			}
			s.addPartLocked(st, map[string]any{"type": "operation", "operationId": str("blockId"),
				"name": name, "operationType": str("blockType"), "status": "running"}, false)
		}
	case "block-end":
		if p := s.findPartLocked(st, "operation", "operationId", str("blockId")); p != nil {
			p.ui["status"] = "done"
		}
		if leg.blockID == str("blockId") {
			leg.blockID, leg.thread, leg.outputToChat = "", "", true
		}
	case "text-start":
		hidden := leg.blockID != "" && !leg.outputToChat && leg.thread == ""
		if rt := str("responseType"); rt != "" {
			leg.object = s.addPartLocked(st, map[string]any{"type": "object", "id": str("id"),
				"typeName": rt, "status": "streaming"}, hidden)
			leg.text = nil
		} else {
			leg.text = s.addPartLocked(st, map[string]any{"type": "text", "text": "", "status": "streaming"}, hidden)
			leg.object = nil
		}
	case "text-delta":
		if leg.object != nil {
			leg.object.acc += str("delta")
		} else if leg.text != nil {
			leg.text.ui["text"] = leg.text.ui["text"].(string) + str("delta")
		}
	case "text-end":
		if leg.object != nil {
			leg.object.finishObject()
			leg.object = nil
		} else if leg.text != nil {
			leg.text.ui["status"] = "done"
			leg.text = nil
		}
	case "reasoning-start":
		leg.reasoning = s.addPartLocked(st, map[string]any{"type": "reasoning", "text": "", "status": "streaming"}, false)
	case "reasoning-delta":
		if leg.reasoning != nil {
			leg.reasoning.ui["text"] = leg.reasoning.ui["text"].(string) + str("delta")
		}
	case "reasoning-end":
		if leg.reasoning != nil {
			leg.reasoning.ui["status"] = "done"
			leg.reasoning = nil
		}
	case "tool-input-start":
		p := map[string]any{"type": "tool-call", "toolCallId": str("toolCallId"), "toolName": str("toolName"),
			"args": map[string]any{}, "status": "pending"}
		if t := str("title"); t != "" {
			p["displayName"] = t
		}
		s.addPartLocked(st, p, false)
	case "tool-input-available":
		if p := s.findPartLocked(st, "tool-call", "toolCallId", str("toolCallId")); p != nil {
			if args, ok := ev["input"].(map[string]any); ok {
				p.ui["args"] = args
			}
			p.ui["status"] = "running"
		}
	case "tool-output-available":
		if p := s.findPartLocked(st, "tool-call", "toolCallId", str("toolCallId")); p != nil {
			p.ui["result"], p.ui["status"] = ev["output"], "done"
		}
	case "tool-output-error":
		if p := s.findPartLocked(st, "tool-call", "toolCallId", str("toolCallId")); p != nil {
			p.ui["error"], p.ui["status"] = str("error"), "error"
		}
	case "tool-request":
		calls, _ := ev["toolCalls"].([]any)
		for _, c := range calls {
			call, _ := c.(map[string]any)
			id, _ := call["toolCallId"].(string)
			if id == "" {
				continue
			}
			if sess.pending == nil || sess.pending.execID != st.execID {
				sess.pending = &pendingExec{execID: st.execID}
			}
			sess.pending.ids = append(sess.pending.ids, id)
			if s.findPartLocked(st, "tool-call", "toolCallId", id) == nil {
				args, ok := call["args"].(map[string]any)
				if !ok {
					args = map[string]any{}
				}
				name, _ := call["toolName"].(string)
				s.addPartLocked(st, map[string]any{"type": "tool-call", "toolCallId": id, "toolName": name,
					"args": args, "status": "running"}, false)
			}
		}
	case "source":
		p := copyWithout(ev, "type")
		p["type"] = "source"
		s.addPartLocked(st, p, false)
	case "file-available":
		p := copyWithout(ev, "type")
		p["type"] = "file"
		s.addPartLocked(st, p, false)
	case "resource-update":
		if name := str("name"); name != "" {
			sess.resources[name] = ev["value"]
		}
	case "finish":
		s.closeLegLocked(st)
	}
}

// messageLocked returns the assistant message of the stream's execution,
// creating it on first use.
func (s *Server) messageLocked(st *streamer) *message {
	m := st.sess.execMsgs[st.execID]
	if m == nil {
		id := st.leg.msgID
		if id == "" {
			id = s.nextIDLocked("msg")
		}
		m = &message{id: id, role: "assistant", createdAt: formatTime(s.now())}
		st.sess.messages = append(st.sess.messages, m)
		st.sess.execMsgs[st.execID] = m
	}
	return m
}

func (s *Server) addPartLocked(st *streamer, ui map[string]any, hidden bool) *part {
	if st.leg.thread != "" {
		ui["thread"] = st.leg.thread
	}
	p := &part{ui: ui, hidden: hidden}
	m := s.messageLocked(st)
	m.parts = append(m.parts, p)
	return p
}

func (s *Server) findPartLocked(st *streamer, typ, key, id string) *part {
	m := st.sess.execMsgs[st.execID]
	if m == nil {
		return nil
	}
	return m.find(typ, key, id)
}

func (m *message) find(typ, key, id string) *part {
	for _, p := range m.parts {
		if p.ui["type"] == typ && p.ui[key] == id {
			return p
		}
	}
	return nil
}

// applyToolResults fills the tool-call parts of an execution's message with
// the results a continuation brought.
func (sess *session) applyToolResults(execID string, results []ToolResult) {
	m := sess.execMsgs[execID]
	if m == nil {
		return
	}
	for _, tr := range results {
		p := m.find("tool-call", "toolCallId", tr.ToolCallID)
		if p == nil {
			continue
		}
		if tr.Error != "" {
			p.ui["error"], p.ui["status"] = tr.Error, "error"
		} else {
			p.ui["result"], p.ui["status"] = tr.Result, "done"
		}
	}
}

// userParts builds the parts of the user message a trigger's input makes:
// file parts for FileReference values, then a text part for USER_MESSAGE.
func userParts(input map[string]any) []*part {
	var parts []*part
	keys := make([]string, 0, len(input))
	for k := range input {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		refs := []any{input[k]}
		if list, ok := input[k].([]any); ok {
			refs = list
		}
		for _, ref := range refs {
			if f, ok := fileReference(ref); ok {
				parts = append(parts, &part{ui: f})
			}
		}
	}
	if text, ok := input["USER_MESSAGE"].(string); ok {
		parts = append(parts, &part{ui: map[string]any{"type": "text", "text": text, "status": "done"}})
	}
	return parts
}

// fileReference turns a FileReference {id, mediaType, url, filename?, size?}
// into a UI file part.
func fileReference(v any) (map[string]any, bool) {
	m, ok := v.(map[string]any)
	if !ok {
		return nil, false
	}
	for _, k := range []string{"id", "mediaType", "url"} {
		if _, ok := m[k].(string); !ok {
			return nil, false
		}
	}
	f := map[string]any{"type": "file", "id": m["id"], "mediaType": m["mediaType"], "url": m["url"]}
	if name, ok := m["filename"].(string); ok {
		f["filename"] = name
	}
	if size, ok := m["size"].(float64); ok {
		f["size"] = size
	}
	return f, true
}

// uiMessage renders a message as a UIMessage; hidden parts are left out.
func (m *message) uiMessage() map[string]any {
	parts := []any{}
	for _, p := range m.parts {
		if !p.hidden {
			parts = append(parts, copyWithout(p.ui))
		}
	}
	return map[string]any{"id": m.id, "role": m.role, "parts": parts, "status": "done", "createdAt": m.createdAt}
}

// chatMessage renders a message as the platform's internal ChatMessage.
func (m *message) chatMessage() map[string]any {
	parts := []any{}
	var content, reasoning []string
	var toolCalls []any
	for _, p := range m.parts {
		ui := p.ui
		typ, _ := ui["type"].(string)
		cp := map[string]any{"type": typ, "visible": !p.hidden}
		if th, ok := ui["thread"].(string); ok {
			cp["thread"] = th
		}
		switch typ {
		case "text", "reasoning":
			text, _ := ui["text"].(string)
			cp["content"] = text
			if typ == "text" {
				content = append(content, text)
			} else {
				reasoning = append(reasoning, text)
			}
		case "tool-call":
			tc := chatToolCall(ui)
			cp["toolCall"] = tc
			toolCalls = append(toolCalls, tc)
		case "source":
			cp["source"] = copyWithout(ui, "type", "thread")
		case "file":
			cp["file"] = copyWithout(ui, "type", "thread")
		case "object":
			obj := map[string]any{"id": ui["id"], "typeName": ui["typeName"]}
			if v, ok := ui["object"]; ok {
				obj["value"] = v
			}
			cp["object"] = obj
		default: // operation parts exist only in the UI
			continue
		}
		parts = append(parts, cp)
	}
	cm := map[string]any{"id": m.id, "role": m.role, "parts": parts, "createdAt": m.createdAt,
		"content": strings.Join(content, "")}
	if len(toolCalls) > 0 {
		cm["toolCalls"] = toolCalls
	}
	if len(reasoning) > 0 {
		cm["reasoning"] = strings.Join(reasoning, "")
	}
	return cm
}

// chatToolCall renders a UI tool-call part as a ChatMessage ToolCallInfo.
func chatToolCall(ui map[string]any) map[string]any {
	status := "available"
	switch ui["status"] {
	case "pending":
		status = "pending"
	case "error":
		status = "error"
	}
	args, ok := ui["args"].(map[string]any)
	if !ok {
		args = map[string]any{}
	}
	tc := map[string]any{"id": ui["toolCallId"], "name": ui["toolName"], "arguments": args, "status": status}
	if r, ok := ui["result"]; ok {
		tc["result"] = r
	}
	if e, ok := ui["error"]; ok {
		tc["error"] = e
	}
	return tc
}

func copyWithout(m map[string]any, drop ...string) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	for _, k := range drop {
		delete(out, k)
	}
	return out
}

func formatTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z07:00") }
