package octavustest

import (
	"encoding/json"
	"net/http"
	"strings"
	"time"
)

// Ephemeral token lifetimes, as the platform applies them: a mint without
// ttlSeconds lives DefaultTokenTTL, and a longer ttlSeconds is clamped to
// MaxTokenTTL.
const (
	DefaultTokenTTL = time.Hour
	MaxTokenTTL     = 24 * time.Hour
)

type token struct {
	value, jti         string
	agentID, sessionID string
	expiresAt          time.Time
	revoked            bool
}

// mintToken answers POST /api/tokens {agentId, sessionId?, ttlSeconds?}
// with {token, jti, expiresAt}.
func (s *Server) mintToken(w http.ResponseWriter, body []byte) {
	obj, err := decodeBody(body, "agentId", "sessionId", "ttlSeconds")
	var agentID, sessionID string
	var hasSession bool
	ttl := DefaultTokenTTL
	if err == nil {
		agentID, _, err = stringField(obj, "agentId", true)
	}
	if err == nil {
		sessionID, hasSession, err = stringField(obj, "sessionId", false)
		if err == nil && hasSession && sessionID == "" {
			err = errString("sessionId must not be empty")
		}
	}
	if raw, ok := obj["ttlSeconds"]; err == nil && ok {
		var n float64
		if json.Unmarshal(raw, &n) != nil || n <= 0 || n != float64(int64(n)) {
			err = errString("ttlSeconds must be a positive integer")
		} else if ttl = time.Duration(n) * time.Second; ttl > MaxTokenTTL || n > float64(MaxTokenTTL/time.Second) {
			ttl = MaxTokenTTL
		}
	}
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.agents[agentID] == nil {
		writeError(w, http.StatusNotFound, "Agent not found: "+agentID)
		return
	}
	if hasSession {
		if sess := s.sessions[sessionID]; sess == nil || sess.agentID != agentID {
			writeError(w, http.StatusNotFound, "Session not found for agent "+agentID+": "+sessionID)
			return
		}
	}
	n := s.nextIDLocked("token")
	t := &token{value: "oct_et_test_" + strings.TrimPrefix(n, "token_"), jti: s.nextIDLocked("jti"),
		agentID: agentID, sessionID: sessionID, expiresAt: s.now().Add(ttl)}
	s.tokens[t.value] = t
	writeJSON(w, http.StatusOK, map[string]any{"token": t.value, "jti": t.jti, "expiresAt": formatTime(t.expiresAt)})
}

// revokeToken answers POST /api/tokens/revoke {token} with {revoked, jti?}:
// revoked is true only for a live token the server minted; jti is there for
// every token it minted.
func (s *Server) revokeToken(w http.ResponseWriter, body []byte) {
	obj, err := decodeBody(body, "token")
	var value string
	if err == nil {
		value, _, err = stringField(obj, "token", true)
	}
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.tokens[value]
	if t == nil {
		writeJSON(w, http.StatusOK, map[string]any{"revoked": false})
		return
	}
	live := !t.revoked && s.now().Before(t.expiresAt)
	t.revoked = true
	writeJSON(w, http.StatusOK, map[string]any{"revoked": live, "jti": t.jti})
}

type errString string

func (e errString) Error() string { return string(e) }

// authorize checks the Authorization header of a platform API request: the
// server's API key, or a live ephemeral token the server minted, within its
// scope. It writes the error answer and returns false otherwise.
func (s *Server) authorize(w http.ResponseWriter, r *http.Request, segs []string, body []byte) bool {
	if s.APIKey == "" {
		return true
	}
	got := r.Header.Get("Authorization")
	if got == "" {
		writeErrorCode(w, http.StatusUnauthorized, "Missing API key", "UNAUTHORIZED")
		return false
	}
	if got == "Bearer "+s.APIKey {
		return true
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.tokens[strings.TrimPrefix(got, "Bearer ")]
	switch {
	case t == nil || !strings.HasPrefix(got, "Bearer "):
		writeErrorCode(w, http.StatusUnauthorized, "Invalid API key", "UNAUTHORIZED")
		return false
	case t.revoked:
		writeErrorCode(w, http.StatusUnauthorized, "Token revoked", "UNAUTHORIZED")
		return false
	case !s.now().Before(t.expiresAt):
		writeErrorCode(w, http.StatusUnauthorized, "Token expired", "UNAUTHORIZED")
		return false
	}
	if problem := s.tokenScopeLocked(t, r.Method, segs, body); problem != "" {
		writeErrorCode(w, http.StatusForbidden, problem, "FORBIDDEN")
		return false
	}
	return true
}

// tokenScopeLocked says why a token may not make a request, or "". An
// agent-scoped token drives that agent: its sessions (create, start,
// trigger, read, restore, clear, logs, uploads) and its worker executions.
// A session-scoped token drives its one session only. No token manages
// agents or mints tokens.
func (s *Server) tokenScopeLocked(t *token, method string, segs []string, body []byte) string {
	bodyString := func(key string) (string, bool) {
		var obj map[string]any
		_ = json.Unmarshal(body, &obj)
		v, ok := obj[key].(string)
		return v, ok
	}
	session := func(id string) string {
		sess := s.sessions[id]
		switch {
		case t.sessionID != "" && t.sessionID != id:
			return "The token is scoped to session " + t.sessionID
		case sess != nil && sess.agentID != t.agentID:
			return "The token is not authorized for this session's agent"
		}
		return ""
	}
	agent := func(id string, what string) string {
		switch {
		case t.sessionID != "":
			return "A session-scoped token cannot " + what
		case id != t.agentID:
			return "The token is not authorized for agent " + id
		}
		return ""
	}
	n := len(segs)
	switch {
	case n >= 2 && segs[0] == "api" && segs[1] == "agent-sessions":
		if n == 2 || (n == 3 && segs[2] == "start" && method == http.MethodPost) {
			if id, ok := bodyString("agentId"); ok {
				return agent(id, "create sessions")
			}
			return agent(t.agentID, "create sessions")
		}
		return session(segs[2])
	case n == 4 && segs[0] == "api" && segs[1] == "agents" && segs[3] == "execute":
		return agent(segs[2], "run workers")
	case n == 3 && segs[0] == "api" && segs[1] == "files" && segs[2] == "upload-urls":
		if id, ok := bodyString("sessionId"); ok {
			return session(id)
		}
		return ""
	}
	return "An ephemeral token cannot call this endpoint"
}
