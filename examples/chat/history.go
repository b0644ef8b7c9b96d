package main

import (
	"encoding/json"
	"errors"
	"io"
	"log"
	"net/http"

	"github.com/octavus-go/octavus"
)

// The chat keeps its conversation across reloads the way the docs'
// session-restore pattern does: the browser keeps the session id and the
// UIMessages of the conversation (in localStorage; a real app keeps them in
// its database, per signed-in user), and on load asks the server to open
// the session again:
//
//   - an active session answers with its messages (GetMessages);
//   - an expired one is restored from the messages the browser kept
//     (Restore), then answers with them;
//   - one the platform does not know (a fake platform that restarted, a
//     session deleted on the platform) starts a new chat.

// openAnswer is the answer of POST /api/sessions/{id}/open.
type openAnswer struct {
	SessionID string `json:"sessionId"`
	// Status is "active", "restored" (it had expired) or "new" (it was not
	// found: SessionID is a new session's).
	Status   string              `json:"status"`
	Messages []octavus.UIMessage `json:"messages"`
}

// openSession answers POST /api/sessions/{id}/open {messages?}: the
// session's messages, restoring an expired session from the messages the
// browser kept, or a new session when the platform has no session id.
func (a *app) openSession(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	var body struct {
		Messages []octavus.UIMessage `json:"messages"`
	}
	if r.ContentLength != 0 {
		if err := json.NewDecoder(io.LimitReader(r.Body, 8<<20)).Decode(&body); err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": "body must be a JSON object"})
			return
		}
	}
	ctx := r.Context()
	st, err := a.client.AgentSessions.GetMessages(ctx, id)
	status := "active"
	if err == nil && st.Expired() && len(body.Messages) > 0 {
		// The platform dropped the session's state: bring it back from
		// the browser's copy, then read it as the platform has it now.
		status = "restored"
		if _, err = a.client.AgentSessions.Restore(ctx, id, body.Messages, nil); err == nil {
			st, err = a.client.AgentSessions.GetMessages(ctx, id)
		}
	}
	switch {
	case err == nil && !st.Expired():
		writeJSON(w, http.StatusOK, openAnswer{SessionID: id, Status: status, Messages: orEmpty(st.Messages)})
		return
	case err != nil && !isNotFound(err):
		log.Printf("chat: opening session %s: %v", id, err)
		writeJSON(w, http.StatusBadGateway, map[string]string{"error": "could not open the chat"})
		return
	}
	// Not found, or expired with nothing to restore it from: a new chat.
	newID, err := a.client.AgentSessions.Create(ctx, a.agentID, nil)
	if err != nil {
		log.Printf("chat: creating a session: %v", err)
		writeJSON(w, http.StatusBadGateway, map[string]string{"error": "could not create a session"})
		return
	}
	writeJSON(w, http.StatusOK, openAnswer{SessionID: newID, Status: "new", Messages: []octavus.UIMessage{}})
}

// sessionMessages answers GET /api/sessions/{id}/messages with the
// session's UIMessages, which the browser keeps after each answer (to
// restore the session from once it expired).
func (a *app) sessionMessages(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	st, err := a.client.AgentSessions.GetMessages(r.Context(), id)
	switch {
	case isNotFound(err):
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "Session not found"})
	case err != nil:
		log.Printf("chat: reading session %s: %v", id, err)
		writeJSON(w, http.StatusBadGateway, map[string]string{"error": "could not read the chat"})
	default:
		writeJSON(w, http.StatusOK, openAnswer{SessionID: id, Status: string(st.Status), Messages: orEmpty(st.Messages)})
	}
}

// isNotFound reports whether err is the platform's 404 (such as "Session
// not found").
func isNotFound(err error) bool {
	var apiErr *octavus.APIError
	return errors.As(err, &apiErr) && apiErr.Status == http.StatusNotFound
}

// orEmpty returns ms, or an empty slice for nil, so that JSON has [].
func orEmpty(ms []octavus.UIMessage) []octavus.UIMessage {
	if ms == nil {
		return []octavus.UIMessage{}
	}
	return ms
}
