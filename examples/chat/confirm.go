package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/octavus-go/octavus"
)

// The confirm-refund tool asks the person. An execution that runs detached
// from the browser's request (octavus.Executions) runs every tool on the
// server, so this one is a server tool that waits: its handler blocks
// until the page posts the person's answer to POST
// /api/sessions/{id}/confirm, or the execution is stopped. The page shows
// the prompt for a confirm-refund call that has no result yet, in the
// stream or replayed from the execution log after a reload, so a reload
// asks again.
//
// The answer must reach the process that runs the execution: fine for this
// single-process example; behind a load balancer, route it there (or pass it
// through a shared store).

// confirmations hands the person's answers to the waiting confirm-refund
// calls, one per session (a session runs one execution at a time; the demo
// agent asks once per round: were two calls to wait at once, the later
// would take the answer and the earlier would wait for a Stop).
type confirmations struct {
	mu      sync.Mutex
	waiting map[string]chan bool // session id -> the call waiting for the person
	// arrived is closed (and replaced) each time a call starts to wait.
	arrived chan struct{}
}

// confirmWait is how long an answer waits for its confirm-refund call: the
// page shows the question as soon as the platform streams the tool's
// input, a moment before the SDK calls the tool, so a quick click can come
// first.
const confirmWait = 2 * time.Second

func newConfirmations() *confirmations {
	return &confirmations{waiting: map[string]chan bool{}, arrived: make(chan struct{})}
}

// tool is the confirm-refund handler of session sessionID: it returns
// {"confirmed": true|false} once the person answered.
func (c *confirmations) tool(sessionID string) octavus.ToolHandler {
	return func(ctx context.Context, _ map[string]any) (any, error) {
		answer := make(chan bool, 1)
		c.mu.Lock()
		c.waiting[sessionID] = answer
		close(c.arrived)
		c.arrived = make(chan struct{})
		c.mu.Unlock()
		defer func() {
			c.mu.Lock()
			if c.waiting[sessionID] == answer {
				delete(c.waiting, sessionID)
			}
			c.mu.Unlock()
		}()
		select {
		case confirmed := <-answer:
			return map[string]any{"confirmed": confirmed}, nil
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// answer gives the person's answer to the call waiting in sessionID, or
// to the one that starts to wait within confirmWait; false when none does
// (or ctx ends first).
func (c *confirmations) answer(ctx context.Context, sessionID string, confirmed bool) bool {
	timer := time.NewTimer(confirmWait)
	defer timer.Stop()
	for {
		c.mu.Lock()
		answer := c.waiting[sessionID]
		delete(c.waiting, sessionID)
		arrived := c.arrived
		c.mu.Unlock()
		if answer != nil {
			answer <- confirmed
			return true
		}
		select {
		case <-arrived:
		case <-timer.C:
			return false
		case <-ctx.Done():
			return false
		}
	}
}

// confirm answers POST /api/sessions/{id}/confirm {"confirmed": bool}: the
// person's answer to the waiting confirm-refund call.
func (a *app) confirm(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Confirmed *bool `json:"confirmed"`
	}
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<10)).Decode(&body); err != nil || body.Confirmed == nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": `body must be {"confirmed": true|false}`})
		return
	}
	if !a.confirmations.answer(r.Context(), r.PathValue("id"), *body.Confirmed) {
		writeJSON(w, http.StatusConflict, map[string]string{"error": "nothing waits for a confirmation in this chat"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{})
}
