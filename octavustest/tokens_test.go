package octavustest_test

import (
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/octavus-go/octavus/octavustest"
)

// manualClock is a clock a test moves.
type manualClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *manualClock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *manualClock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func TestMintAndRevoke(t *testing.T) {
	srv := newServer(t, octavustest.WithClock(fixedClock))
	agent := srv.AddAgent(octavustest.Agent{})
	sess := srv.AddSession(octavustest.Session{AgentID: agent})
	other := srv.AddSession(octavustest.Session{AgentID: "agent_other"})

	// Default TTL 1 h; a longer one is clamped to 24 h (ephemeral-tokens.md).
	equalJSON(t, callJSON(t, srv, "POST", "/api/tokens", `{"agentId":"agent_1"}`, 200),
		`{"token":"oct_et_test_1","jti":"jti_1","expiresAt":"2024-01-15T11:30:00.000Z"}`)
	equalJSON(t, callJSON(t, srv, "POST", "/api/tokens", `{"agentId":"agent_1","sessionId":"`+sess+`","ttlSeconds":90000}`, 200),
		`{"token":"oct_et_test_2","jti":"jti_2","expiresAt":"2024-01-16T10:30:00.000Z"}`)
	equalJSON(t, callJSON(t, srv, "POST", "/api/tokens", `{"agentId":"agent_1","ttlSeconds":30}`, 200)["expiresAt"],
		`"2024-01-15T10:30:30.000Z"`)

	for name, tc := range map[string]struct {
		body   string
		status int
		code   string
	}{
		"no agentId":         {`{}`, 400, "VALIDATION_ERROR"},
		"empty agentId":      {`{"agentId":""}`, 400, "VALIDATION_ERROR"},
		"empty sessionId":    {`{"agentId":"agent_1","sessionId":""}`, 400, "VALIDATION_ERROR"},
		"zero ttl":           {`{"agentId":"agent_1","ttlSeconds":0}`, 400, "VALIDATION_ERROR"},
		"negative ttl":       {`{"agentId":"agent_1","ttlSeconds":-5}`, 400, "VALIDATION_ERROR"},
		"fractional ttl":     {`{"agentId":"agent_1","ttlSeconds":1.5}`, 400, "VALIDATION_ERROR"},
		"string ttl":         {`{"agentId":"agent_1","ttlSeconds":"60"}`, 400, "VALIDATION_ERROR"},
		"unknown field":      {`{"agentId":"agent_1","scope":"x"}`, 400, "VALIDATION_ERROR"},
		"unknown agent":      {`{"agentId":"agent_9"}`, 404, "NOT_FOUND"},
		"another's session":  {`{"agentId":"agent_1","sessionId":"` + other + `"}`, 404, "NOT_FOUND"},
		"unknown session id": {`{"agentId":"agent_1","sessionId":"sess_9"}`, 404, "NOT_FOUND"},
	} {
		t.Run(name, func(t *testing.T) {
			status, _, b := call(t, srv, http.MethodPost, "/api/tokens", tc.body)
			wantError(t, status, b, tc.status, tc.code)
		})
	}

	equalJSON(t, callJSON(t, srv, "POST", "/api/tokens/revoke", `{"token":"oct_et_test_1"}`, 200), `{"revoked":true,"jti":"jti_1"}`)
	equalJSON(t, callJSON(t, srv, "POST", "/api/tokens/revoke", `{"token":"oct_et_test_1"}`, 200), `{"revoked":false,"jti":"jti_1"}`)
	equalJSON(t, callJSON(t, srv, "POST", "/api/tokens/revoke", `{"token":"oct_et_nope"}`, 200), `{"revoked":false}`)
	status, _, b := call(t, srv, http.MethodPost, "/api/tokens/revoke", `{}`)
	wantError(t, status, b, 400, "VALIDATION_ERROR")
}

// tokenCall sends a request with a minted token as the bearer key.
func tokenCall(t *testing.T, srv *octavustest.Server, token, method, path, body string) (int, []byte) {
	return wfCall(t, srv, token, method, path, body)
}

func TestTokenAsKey(t *testing.T) {
	clock := &manualClock{t: fixedClock()}
	srv := newServer(t, octavustest.WithClock(clock.now),
		octavustest.WithScript(octavustest.Repeat(octavustest.Stream(octavustest.Text("ok")))))
	agent := srv.AddAgent(octavustest.Agent{})
	worker := srv.AddAgent(octavustest.Agent{Format: "worker"})
	mine := srv.AddSession(octavustest.Session{AgentID: agent})
	second := srv.AddSession(octavustest.Session{AgentID: agent})
	foreign := srv.AddSession(octavustest.Session{AgentID: worker})
	mint := func(body string) string {
		return callJSON(t, srv, "POST", "/api/tokens", body, 200)["token"].(string)
	}
	agentTok := mint(`{"agentId":"` + agent + `"}`)
	sessTok := mint(`{"agentId":"` + agent + `","sessionId":"` + mine + `","ttlSeconds":60}`)
	workerTok := mint(`{"agentId":"` + worker + `"}`)

	for name, tc := range map[string]struct {
		token, method, path, body string
		status                    int
	}{
		"agent: create":              {agentTok, "POST", "/api/agent-sessions", `{"agentId":"` + agent + `"}`, 201},
		"agent: create other agent":  {agentTok, "POST", "/api/agent-sessions", `{"agentId":"` + worker + `"}`, 403},
		"agent: trigger":             {agentTok, "POST", triggerPath(second), userMessage, 200},
		"agent: read":                {agentTok, "GET", "/api/agent-sessions/" + mine, "", 200},
		"agent: logs":                {agentTok, "GET", "/api/agent-sessions/" + mine + "/logs", "", 200},
		"agent: other agent session": {agentTok, "GET", "/api/agent-sessions/" + foreign, "", 403},
		"agent: list agents":         {agentTok, "GET", "/api/agents", "", 403},
		"agent: mint":                {agentTok, "POST", "/api/tokens", `{"agentId":"` + agent + `"}`, 403},
		"agent: start":               {agentTok, "POST", "/api/agent-sessions/start", `{"agentId":"` + agent + `","trigger":{"triggerName":"t"},"idempotencyKey":"k"}`, 200},
		"agent: uploads":             {agentTok, "POST", "/api/files/upload-urls", `{"sessionId":"` + mine + `","files":[{"filename":"a","mediaType":"text/plain","size":1}]}`, 200},
		"agent: foreign uploads":     {agentTok, "POST", "/api/files/upload-urls", `{"sessionId":"` + foreign + `","files":[{"filename":"a","mediaType":"text/plain","size":1}]}`, 403},
		"worker: execute":            {workerTok, "POST", executePath(worker), `{"type":"start","input":{}}`, 200},
		"agent: execute other":       {agentTok, "POST", executePath(worker), `{"type":"start","input":{}}`, 403},
		"session: trigger":           {sessTok, "POST", triggerPath(mine), userMessage, 200},
		"session: other session":     {sessTok, "POST", triggerPath(second), userMessage, 403},
		"session: create":            {sessTok, "POST", "/api/agent-sessions", `{"agentId":"` + agent + `"}`, 403},
		"session: execute":           {sessTok, "POST", executePath(agent), `{"type":"start","input":{}}`, 403},
		"unknown token":              {"oct_et_forged", "GET", "/api/agent-sessions/" + mine, "", 401},
	} {
		t.Run(name, func(t *testing.T) {
			status, b := tokenCall(t, srv, tc.token, tc.method, tc.path, tc.body)
			if status != tc.status {
				t.Fatalf("status %d, want %d; body %s", status, tc.status, b)
			}
			if status == 403 {
				wantError(t, status, b, 403, "FORBIDDEN")
			}
		})
	}

	// Expired at expiresAt; revoked at once.
	clock.add(time.Minute)
	status, b := tokenCall(t, srv, sessTok, "GET", "/api/agent-sessions/"+mine, "")
	if m := wantError(t, status, b, 401, "UNAUTHORIZED"); m["error"] != "Token expired" {
		t.Errorf("expired: %v", m)
	}
	callJSON(t, srv, "POST", "/api/tokens/revoke", `{"token":"`+agentTok+`"}`, 200)
	status, b = tokenCall(t, srv, agentTok, "GET", "/api/agent-sessions/"+mine, "")
	if m := wantError(t, status, b, 401, "UNAUTHORIZED"); m["error"] != "Token revoked" {
		t.Errorf("revoked: %v", m)
	}
	// An expired token revokes to false.
	equalJSON(t, callJSON(t, srv, "POST", "/api/tokens/revoke", `{"token":"`+sessTok+`"}`, 200), `{"revoked":false,"jti":"jti_2"}`)
}
