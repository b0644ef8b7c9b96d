package octavustest_test

import (
	"fmt"
	"net/http"
	"sync"
	"testing"

	"github.com/octavus-go/octavus/octavustest"
)

// The new endpoints are safe to use from many goroutines at once (run
// with -race): worker executions, deferred starts, threads and tokens.
func TestNewEndpointsConcurrently(t *testing.T) {
	srv := newServer(t, octavustest.WithScript(octavustest.Repeat(octavustest.Stream(octavustest.Text("ok")))))
	worker := srv.AddAgent(octavustest.Agent{Format: "worker"})
	chat := srv.AddAgent(octavustest.Agent{})
	key, _ := srv.AgentKey(chat)
	wfCall(t, srv, key, http.MethodPost, threadsPath(chat), `{"message":"shared"}`) // thread_1
	const n = 8
	var wg sync.WaitGroup
	statuses := make(chan string, 6*n)
	for i := range n {
		wg.Add(6)
		go func() {
			defer wg.Done()
			status, _ := send(srv, srv.APIKey, http.MethodPost, executePath(worker), `{"type":"start","input":{}}`)
			statuses <- fmt.Sprint("execute ", status)
		}()
		go func() {
			defer wg.Done()
			body := fmt.Sprintf(`{"agentId":%q,"trigger":{"triggerName":"t"},"idempotencyKey":"k%d"}`, chat, i)
			status, _ := send(srv, srv.APIKey, http.MethodPost, "/api/agent-sessions/start", body)
			statuses <- fmt.Sprint("start ", status)
		}()
		go func() {
			defer wg.Done()
			status, _ := send(srv, key, http.MethodGet, threadsPath(chat)+"/thread_1", "")
			statuses <- fmt.Sprint("get ", status)
		}()
		go func() {
			defer wg.Done()
			status, _ := send(srv, key, http.MethodPost, threadsPath(chat)+"/thread_1/messages", `{"message":"more"}`)
			statuses <- fmt.Sprint("follow-up ", status)
		}()
		go func() {
			defer wg.Done()
			status, _ := send(srv, srv.APIKey, http.MethodPost, "/api/tokens", fmt.Sprintf(`{"agentId":%q}`, chat))
			statuses <- fmt.Sprint("mint ", status)
		}()
		go func() {
			defer wg.Done()
			srv.CancelThread("thread_1")
			statuses <- "cancel 200"
		}()
	}
	wg.Wait()
	close(statuses)
	want := map[string]string{"execute": "200", "start": "200", "get": "200", "follow-up": "202", "mint": "200", "cancel": "200"}
	for s := range statuses {
		var kind, code string
		if _, err := fmt.Sscan(s, &kind, &code); err != nil {
			t.Fatal(err)
		}
		if want[kind] != code {
			t.Errorf("%s, want %s", s, want[kind])
		}
	}
	for i := range n {
		if _, ok := srv.StartedSession(fmt.Sprint("k", i)); !ok {
			t.Errorf("start k%d made no session", i)
		}
	}
}
