package octavustest_test

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/octavus-go/octavus/octavustest"
)

func TestAPIKey(t *testing.T) {
	srv := newServer(t)
	if srv.APIKey != octavustest.DefaultAPIKey {
		t.Fatalf("APIKey %q", srv.APIKey)
	}
	for name, header := range map[string]string{"missing": "", "wrong": "Bearer nope", "no scheme": "test-key"} {
		t.Run(name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodGet, srv.URL+"/api/agents", nil)
			if header != "" {
				req.Header.Set("Authorization", header)
			}
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			wantError(t, resp.StatusCode, b, http.StatusUnauthorized, "UNAUTHORIZED")
		})
	}
	callJSON(t, srv, http.MethodGet, "/api/agents", "", http.StatusOK)

	custom := newServer(t, octavustest.WithAPIKey("k2"))
	status, _, b := call(t, custom, http.MethodGet, "/api/agents", "") // call sends Bearer k2
	if status != http.StatusOK || custom.APIKey != "k2" {
		t.Fatalf("custom key: %d %s", status, b)
	}

	open := newServer(t, octavustest.WithAPIKey(""))
	resp, err := open.Client().Get(open.URL + "/api/agents")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("no key configured: status %d", resp.StatusCode)
	}
}

func TestCreateAndGetSession(t *testing.T) {
	srv := newServer(t, octavustest.WithClock(fixedClock))
	agentID := srv.AddAgent(octavustest.Agent{Name: "Support Chat"})

	got := callJSON(t, srv, http.MethodPost, "/api/agent-sessions",
		`{"agentId":"`+agentID+`","input":{"COMPANY_NAME":"Acme"}}`, http.StatusCreated)
	equalJSON(t, got, `{"sessionId":"sess_1"}`)
	callJSON(t, srv, http.MethodPost, "/api/agent-sessions", `{"agentId":"`+agentID+`"}`, http.StatusCreated)

	full := callJSON(t, srv, http.MethodGet, "/api/agent-sessions/sess_1", "", http.StatusOK)
	equalJSON(t, full, `{"id":"sess_1","agentId":"agent_1","input":{"COMPANY_NAME":"Acme"},"variables":{},
		"resources":{},"messages":[],"status":"active",
		"createdAt":"2024-01-15T10:30:00.000Z","updatedAt":"2024-01-15T10:30:00.000Z"}`)
	ui := callJSON(t, srv, http.MethodGet, "/api/agent-sessions/sess_2?format=ui", "", http.StatusOK)
	equalJSON(t, ui, `{"sessionId":"sess_2","agentId":"agent_1","messages":[],"status":"active"}`)

	for name, tc := range map[string]struct {
		method, path, body string
		status             int
		code               string
	}{
		"unknown agent":      {"POST", "/api/agent-sessions", `{"agentId":"nope"}`, 404, "NOT_FOUND"},
		"bad JSON":           {"POST", "/api/agent-sessions", `{"agentId":`, 400, "VALIDATION_ERROR"},
		"not an object":      {"POST", "/api/agent-sessions", `[1]`, 400, "VALIDATION_ERROR"},
		"no agentId":         {"POST", "/api/agent-sessions", `{}`, 400, "VALIDATION_ERROR"},
		"agentId not text":   {"POST", "/api/agent-sessions", `{"agentId":1}`, 400, "VALIDATION_ERROR"},
		"input not object":   {"POST", "/api/agent-sessions", `{"agentId":"agent_1","input":[]}`, 400, "VALIDATION_ERROR"},
		"input null":         {"POST", "/api/agent-sessions", `{"agentId":"agent_1","input":null}`, 400, "VALIDATION_ERROR"},
		"unknown field":      {"POST", "/api/agent-sessions", `{"agentId":"agent_1","agent_id":"x"}`, 400, "VALIDATION_ERROR"},
		"unknown session":    {"GET", "/api/agent-sessions/sess_9", "", 404, "NOT_FOUND"},
		"unknown session/ui": {"GET", "/api/agent-sessions/sess_9?format=ui", "", 404, "NOT_FOUND"},
		"wrong method":       {"PUT", "/api/agent-sessions/sess_1", "", 405, "METHOD_NOT_ALLOWED"},
		"unknown path":       {"GET", "/api/nothing", "", 404, "NOT_FOUND"},
		"trigger by GET":     {"GET", "/api/agent-sessions/sess_1/trigger", "", 405, "METHOD_NOT_ALLOWED"},
	} {
		t.Run(name, func(t *testing.T) {
			status, _, b := call(t, srv, tc.method, tc.path, tc.body)
			wantError(t, status, b, tc.status, tc.code)
		})
	}
}

func TestAddSession(t *testing.T) {
	srv := newServer(t)
	id := srv.AddSession(octavustest.Session{AgentID: "agent_x", Input: map[string]any{"A": "b"}})
	if id != "sess_1" {
		t.Fatalf("id %q", id)
	}
	if got := srv.AddSession(octavustest.Session{ID: "mine"}); got != "mine" {
		t.Fatalf("id %q", got)
	}
	full := callJSON(t, srv, http.MethodGet, "/api/agent-sessions/sess_1", "", http.StatusOK)
	equalJSON(t, full["input"], `{"A":"b"}`)
	equalJSON(t, full["agentId"], `"agent_x"`)
	// Generated ids skip the ones a test took.
	srv.AddSession(octavustest.Session{ID: "sess_2"})
	if got := srv.AddSession(octavustest.Session{}); got != "sess_3" {
		t.Fatalf("id %q", got)
	}
	srv.AddAgent(octavustest.Agent{ID: "agent_1"})
	if got := srv.AddAgent(octavustest.Agent{}); got != "agent_2" {
		t.Fatalf("id %q", got)
	}
	if srv.ExpireSession("nope") || srv.SetScript("nope") {
		t.Fatal("unknown session reported as found")
	}
}

func TestExpireAndRestore(t *testing.T) {
	srv := newServer(t, octavustest.WithClock(fixedClock),
		octavustest.WithScript(octavustest.Repeat(octavustest.Stream(octavustest.Text("ok")))))
	id := srv.AddSession(octavustest.Session{AgentID: "agent_1"})
	trigger(t, srv, id, userMessage)
	if !srv.ExpireSession(id) {
		t.Fatal("ExpireSession: not found")
	}
	expired := `{"sessionId":"sess_1","agentId":"agent_1","status":"expired","createdAt":"2024-01-15T10:30:00.000Z"}`
	equalJSON(t, callJSON(t, srv, http.MethodGet, "/api/agent-sessions/"+id, "", 200), expired)
	equalJSON(t, callJSON(t, srv, http.MethodGet, "/api/agent-sessions/"+id+"?format=ui", "", 200), expired)
	status, _, b := call(t, srv, http.MethodPost, triggerPath(id), userMessage)
	wantError(t, status, b, http.StatusNotFound, "NOT_FOUND")

	stored := `[{"id":"m1","role":"user","parts":[{"type":"text","text":"Earlier","status":"done"}],"status":"done","createdAt":"2024-01-01T00:00:00.000Z"},
		{"id":"m2","role":"assistant","parts":[{"type":"text","text":"Answer","status":"done"},
		{"type":"tool-call","toolCallId":"c1","toolName":"t","args":{"a":1},"result":{"ok":true},"status":"done"}],"status":"done","createdAt":"2024-01-01T00:00:01.000Z"}]`
	for name, body := range map[string]string{
		"no messages":       `{}`,
		"messages object":   `{"messages":{}}`,
		"bad role":          `{"messages":[{"id":"x","role":"system","parts":[]}]}`,
		"part without type": `{"messages":[{"id":"x","role":"user","parts":[{}]}]}`,
		"unknown field":     `{"messages":[],"extra":1}`,
		"input not object":  `{"messages":[],"input":"x"}`,
	} {
		t.Run(name, func(t *testing.T) {
			status, _, b := call(t, srv, http.MethodPost, "/api/agent-sessions/"+id+"/restore", body)
			wantError(t, status, b, http.StatusBadRequest, "VALIDATION_ERROR")
		})
	}
	status, _, b = call(t, srv, http.MethodPost, "/api/agent-sessions/nope/restore", `{"messages":[]}`)
	wantError(t, status, b, http.StatusNotFound, "NOT_FOUND")

	got := callJSON(t, srv, http.MethodPost, "/api/agent-sessions/"+id+"/restore",
		`{"messages":`+stored+`,"input":{"COMPANY_NAME":"Acme"}}`, 200)
	equalJSON(t, got, `{"sessionId":"sess_1","restored":true}`)
	got = callJSON(t, srv, http.MethodPost, "/api/agent-sessions/"+id+"/restore", `{"messages":[]}`, 200)
	equalJSON(t, got, `{"sessionId":"sess_1","restored":false}`)

	ui := callJSON(t, srv, http.MethodGet, "/api/agent-sessions/"+id+"?format=ui", "", 200)
	equalJSON(t, ui["messages"], stored)
	full := callJSON(t, srv, http.MethodGet, "/api/agent-sessions/"+id, "", 200)
	equalJSON(t, full["input"], `{"COMPANY_NAME":"Acme"}`)
	equalJSON(t, full["messages"], `[
		{"id":"m1","role":"user","createdAt":"2024-01-01T00:00:00.000Z","content":"Earlier",
		 "parts":[{"type":"text","visible":true,"content":"Earlier"}]},
		{"id":"m2","role":"assistant","createdAt":"2024-01-01T00:00:01.000Z","content":"Answer",
		 "parts":[{"type":"text","visible":true,"content":"Answer"},
		  {"type":"tool-call","visible":true,"toolCall":{"id":"c1","name":"t","arguments":{"a":1},"status":"available","result":{"ok":true}}}],
		 "toolCalls":[{"id":"c1","name":"t","arguments":{"a":1},"status":"available","result":{"ok":true}}]}]`)

	// The restored session triggers again, appending to the restored history.
	trigger(t, srv, id, userMessage)
	ui = callJSON(t, srv, http.MethodGet, "/api/agent-sessions/"+id+"?format=ui", "", 200)
	if n := len(ui["messages"].([]any)); n != 4 {
		t.Fatalf("%d messages after restore and trigger, want 4", n)
	}
}

func TestAgents(t *testing.T) {
	srv := newServer(t, octavustest.WithClock(fixedClock))
	equalJSON(t, callJSON(t, srv, http.MethodGet, "/api/agents", "", 200), `{"agents":[]}`)
	id := srv.AddAgent(octavustest.Agent{
		Name: "Support Chat", Description: "Customer support agent",
		Protocol: "agent:\n  model: x\n", Prompts: []octavustest.Prompt{{Name: "system", Content: "Be kind."}},
	})
	srv.AddAgent(octavustest.Agent{ID: "w1", Slug: "worker", Format: "worker", ProjectID: "p9"})
	equalJSON(t, callJSON(t, srv, http.MethodGet, "/api/agents", "", 200), `{"agents":[
		{"id":"agent_1","slug":"support-chat","name":"Support Chat","description":"Customer support agent",
		 "format":"interactive","createdAt":"2024-01-15T10:30:00.000Z","updatedAt":"2024-01-15T10:30:00.000Z","projectId":"proj_test"},
		{"id":"w1","slug":"worker","name":"worker","description":null,
		 "format":"worker","createdAt":"2024-01-15T10:30:00.000Z","updatedAt":"2024-01-15T10:30:00.000Z","projectId":"p9"}]}`)
	equalJSON(t, callJSON(t, srv, http.MethodGet, "/api/agents/"+id, "", 200), `{"id":"agent_1",
		"settings":{"slug":"support-chat","name":"Support Chat","description":"Customer support agent","format":"interactive"},
		"protocol":"agent:\n  model: x\n","prompts":[{"name":"system","content":"Be kind."}]}`)
	equalJSON(t, callJSON(t, srv, http.MethodGet, "/api/agents/w1", "", 200), `{"id":"w1",
		"settings":{"slug":"worker","name":"worker","format":"worker"},"protocol":"","prompts":[]}`)
	status, _, b := call(t, srv, http.MethodGet, "/api/agents/nope", "")
	wantError(t, status, b, http.StatusNotFound, "NOT_FOUND")

	// Re-registering an ID replaces the agent in place.
	srv.AddAgent(octavustest.Agent{ID: "w1", Name: "Renamed"})
	list := callJSON(t, srv, http.MethodGet, "/api/agents", "", 200)["agents"].([]any)
	if len(list) != 2 || list[1].(map[string]any)["name"] != "Renamed" {
		t.Fatalf("after replace: %v", list)
	}
}

func TestUploadURLs(t *testing.T) {
	srv := newServer(t)
	id := srv.AddSession(octavustest.Session{})
	got := callJSON(t, srv, http.MethodPost, "/api/files/upload-urls",
		`{"sessionId":"`+id+`","files":[{"filename":"a.png","mediaType":"image/png","size":3},{"filename":"b.pdf","mediaType":"application/pdf","size":10}]}`, 200)
	files := got["files"].([]any)
	if len(files) != 2 {
		t.Fatalf("files %v", files)
	}
	f := files[0].(map[string]any)
	if f["id"] != "file_1" || files[1].(map[string]any)["id"] != "file_2" {
		t.Fatalf("ids %v", files)
	}
	upload, download := f["uploadUrl"].(string), f["downloadUrl"].(string)
	for _, u := range []string{upload, download} {
		if _, err := url.ParseRequestURI(u); err != nil || !strings.HasPrefix(u, srv.URL+"/") {
			t.Fatalf("URL %q", u)
		}
	}

	// Not uploaded yet.
	resp, err := srv.Client().Get(download)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 404 {
		t.Fatalf("download before upload: %d", resp.StatusCode)
	}
	// Presigned URLs need no API key.
	req, _ := http.NewRequest(http.MethodPut, upload, strings.NewReader("PNG"))
	resp, err = srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("upload: %d", resp.StatusCode)
	}
	resp, err = srv.Client().Get(download)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(b) != "PNG" || resp.Header.Get("Content-Type") != "image/png" {
		t.Fatalf("download: %q %q", b, resp.Header.Get("Content-Type"))
	}
	resp, err = srv.Client().Post(upload, "image/png", strings.NewReader("x"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 405 {
		t.Fatalf("POST to upload URL: %d", resp.StatusCode)
	}

	for name, tc := range map[string]struct {
		body   string
		status int
	}{
		"unknown session": {`{"sessionId":"nope","files":[{"filename":"a","mediaType":"text/plain","size":1}]}`, 404},
		"no files":        {`{"sessionId":"` + id + `","files":[]}`, 400},
		"zero size":       {`{"sessionId":"` + id + `","files":[{"filename":"a","mediaType":"text/plain","size":0}]}`, 400},
		"fraction size":   {`{"sessionId":"` + id + `","files":[{"filename":"a","mediaType":"text/plain","size":1.5}]}`, 400},
		"no filename":     {`{"sessionId":"` + id + `","files":[{"mediaType":"text/plain","size":1}]}`, 400},
		"extra key":       {`{"sessionId":"` + id + `","files":[{"filename":"a","mediaType":"text/plain","size":1,"x":1}]}`, 400},
		"no sessionId":    {`{"files":[{"filename":"a","mediaType":"text/plain","size":1}]}`, 400},
		"bad JSON":        {`{`, 400},
	} {
		t.Run(name, func(t *testing.T) {
			status, _, b := call(t, srv, http.MethodPost, "/api/files/upload-urls", tc.body)
			code := map[int]string{400: "VALIDATION_ERROR", 404: "NOT_FOUND"}[tc.status]
			wantError(t, status, b, tc.status, code)
		})
	}
}

// An id is one path segment however odd it is: percent-encoded, it is found;
// sent raw, it is never routed to another endpoint.
func TestEscapedIDs(t *testing.T) {
	srv := newServer(t, octavustest.WithScript(octavustest.Repeat(octavustest.Stream(octavustest.Text("ok")))))
	for _, id := range []string{"a/b", "q?x=1", "h#frag", "..", "../agents", "sp ace", "%41"} {
		t.Run(id, func(t *testing.T) {
			srv.AddSession(octavustest.Session{ID: id, AgentID: "a"})
			srv.AddAgent(octavustest.Agent{ID: id})
			esc := url.PathEscape(id)
			got := callJSON(t, srv, http.MethodGet, "/api/agent-sessions/"+esc, "", 200)
			if got["id"] != id {
				t.Fatalf("got session %v", got["id"])
			}
			got = callJSON(t, srv, http.MethodGet, "/api/agent-sessions/"+esc+"?format=ui", "", 200)
			if got["sessionId"] != id {
				t.Fatalf("got ui session %v", got["sessionId"])
			}
			if got := callJSON(t, srv, http.MethodGet, "/api/agents/"+esc, "", 200); got["id"] != id {
				t.Fatalf("got agent %v", got["id"])
			}
			events, _ := trigger(t, srv, esc, userMessage)
			if len(events) == 0 {
				t.Fatal("no events")
			}
		})
	}
	// Raw ids with path syntax: no other endpoint answers.
	for _, path := range []string{"/api/agent-sessions/a/b", "/api/agent-sessions/../agents", "/api/agents/a/b"} {
		status, _, b := call(t, srv, http.MethodGet, path, "")
		wantError(t, status, b, http.StatusNotFound, "NOT_FOUND")
	}
	// "%41" escaped is "%2541"; sent raw it is the id "A", which does not exist.
	status, _, b := call(t, srv, http.MethodGet, "/api/agent-sessions/%41", "")
	wantError(t, status, b, http.StatusNotFound, "NOT_FOUND")
}
