package conformance

import (
	"bytes"
	"encoding/json"
	"errors"
	"sync"
	"testing"

	octavus "github.com/octavus-go/octavus"
)

// runGoWorker plays a worker or deferred-start scenario through octavus-go
// against a fresh scripted platform: Workers.Execute / Continue / Generate,
// or AgentSessions.Start then Execute of each request.
func runGoWorker(t *testing.T, sc *workerScenario) workerRun {
	t.Helper()
	p := newWorkerPlatform(t, sc.Legs)
	client, tools := goClient(t, p.URL(), sc.Retries, sc.Tools)
	opts := octavus.WorkerOptions{Tools: tools}
	if sc.DynamicToolSchemas != nil {
		if err := json.Unmarshal(sc.DynamicToolSchemas, &opts.DynamicToolSchemas); err != nil {
			t.Fatalf("decoding dynamicToolSchemas: %v", err)
		}
	}
	input := decodeInput(t, sc.Input)

	ctx, cancel := contextWithRunTimeout(t)
	defer cancel()
	r := workerRun{}
	facts := map[string]any{}
	switch sc.Kind {
	case kindWorkerExecute:
		r.streams = append(r.streams, goSSE(t, ctx, p.requestLog, client.Workers.Execute(ctx, sc.AgentID, input, opts)))
	case kindWorkerContinue:
		var results []octavus.ToolResult
		if err := json.Unmarshal(sc.ToolResults, &results); err != nil {
			t.Fatalf("decoding toolResults: %v", err)
		}
		r.streams = append(r.streams, goSSE(t, ctx, p.requestLog, client.Workers.Continue(ctx, sc.AgentID, sc.ExecutionID, results, opts)))
	case kindWorkerGenerate:
		res, err := client.Workers.Generate(ctx, sc.AgentID, input, opts)
		facts["generate"] = generateFacts(t, res, err)
	case kindStart:
		var mu sync.Mutex
		created := []string{}
		session := client.AgentSessions.Start(octavus.StartOptions{
			AgentID:        sc.AgentID,
			Input:          input,
			IdempotencyKey: sc.IdempotencyKey,
			OnSessionCreated: func(id string) {
				mu.Lock()
				defer mu.Unlock()
				created = append(created, id)
			},
			AttachOptions: octavus.AttachOptions{Tools: tools},
		})
		ids := []any{}
		for i, raw := range sc.Requests {
			req, err := octavus.DecodeSessionRequest(raw)
			if err != nil {
				t.Fatalf("requests[%d]: octavus.DecodeSessionRequest(%s): %v", i, raw, err)
			}
			r.streams = append(r.streams, goSSE(t, ctx, p.requestLog, session.Execute(ctx, req)))
			if id := session.SessionID(); id != "" {
				ids = append(ids, id)
			} else {
				ids = append(ids, nil)
			}
		}
		mu.Lock()
		facts["sessionCreated"] = created
		mu.Unlock()
		facts["sessionIds"] = ids
	}
	if ctx.Err() != nil {
		t.Fatalf("octavus-go did not finish within %v\nplatform log:\n%s", runTimeout, joinLines(p.requestLog()))
	}
	b, err := json.Marshal(facts)
	if err != nil {
		t.Fatalf("encoding the facts: %v", err)
	}
	r.facts, r.posts, r.log = b, p.requests(), p.requestLog()
	return r
}

// decodeInput decodes a scenario's input object keeping its numbers' text.
func decodeInput(t *testing.T, raw json.RawMessage) map[string]any {
	t.Helper()
	if raw == nil {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		t.Fatalf("decoding input %s: %v", raw, err)
	}
	return m
}

// generateFacts renders Generate's outcome in the form run-worker.mjs
// writes the oracle's: {"ok": {output, sessionId, cost?, tokens?}} or
// {"error": {name, message, sessionId?, details?}}.
func generateFacts(t *testing.T, res *octavus.WorkerResult, err error) any {
	t.Helper()
	if err != nil {
		var we *octavus.WorkerError
		if !errors.As(err, &we) {
			t.Fatalf("Generate failed with %T %v, want a *octavus.WorkerError", err, err)
		}
		e := map[string]any{"name": "WorkerError", "message": we.Message}
		if we.SessionID != "" {
			e["sessionId"] = we.SessionID
		}
		if d := we.Details; d != nil {
			// 6.4.0's details object: the error event's fields, the
			// optional ones only when the event had them.
			details := map[string]any{"errorType": d.ErrorType, "source": d.Source, "retryable": d.Retryable}
			if d.Code != "" {
				details["code"] = d.Code
			}
			if d.RetryAfter != nil {
				details["retryAfter"] = *d.RetryAfter
			}
			if d.Provider != nil {
				details["provider"] = d.Provider
			}
			e["details"] = details
		}
		return map[string]any{"error": e}
	}
	if res == nil {
		t.Fatal("Generate returned neither a result nor an error")
	}
	ok := map[string]any{"sessionId": res.SessionID}
	if res.Output != nil {
		ok["output"] = res.Output
	}
	if res.Cost != nil {
		ok["cost"] = res.Cost
	}
	if res.Tokens != nil {
		ok["tokens"] = res.Tokens
	}
	return map[string]any{"ok": ok}
}
