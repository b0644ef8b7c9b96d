package octavus

import (
	"context"
	"encoding/json"
	"time"
)

// WorkersAPI runs worker agents: agents that run their steps once, from an
// input to an output value, without a conversation (6.4.0's
// client.workers). Use it from Client.Workers.
type WorkersAPI struct {
	c *Client
}

// WorkerOptions configure a worker execution. The zero value runs with no
// server tools: every tool call is handed to the caller in a
// client-tool-request.
type WorkerOptions struct {
	// Tools are the server tools, by tool name. A tool call without a
	// handler here is handed to the caller, as 6.4.0 does: a
	// client-tool-request event, then finish {client-tool-calls}; run the
	// tools and pass their results to Continue with the event's
	// ExecutionID.
	Tools ToolHandlers
	// DynamicToolSchemas are the schemas of tools the platform does not
	// know from the agent's definition (their handlers go in Tools). They
	// are sent on the start request only, as in 6.4.0; nil sends no key,
	// an empty non-nil slice sends []. Continue ignores them.
	DynamicToolSchemas []ToolSchema
	// MCPServers are inline MCP servers (NewInlineMCPServer), as for
	// AttachOptions.MCPServers: their handlers join Tools, and on Execute
	// their schemas follow DynamicToolSchemas in the start request (which
	// then always sends the key, as 6.4.0 does). A namespace given twice
	// or a tool name already taken ends the execution at once with an
	// internal_error ErrorEvent in 6.4.0's words, nothing sent (6.4.0
	// throws it).
	MCPServers []MCPServer

	// ToolTimeout, MaxConcurrentTools, RejectClientTools and OnToolResults
	// are the AttachOptions of the same names.
	ToolTimeout        time.Duration
	MaxConcurrentTools int
	RejectClientTools  bool
	OnToolResults      func(ctx context.Context, results []ToolResult) error
}

// workerTarget is what makes an execution a worker's: its endpoint, the
// input of its start body and the prefix of its error messages.
type workerTarget struct {
	path         string
	input        json.RawMessage
	errorContext string
}

// workerStartBody and workerContinueBody are the JSON of a worker's
// POSTs to /execute, in the reference's key order.
type workerStartBody struct {
	Type               string          `json:"type"`
	Input              json.RawMessage `json:"input"`
	DynamicToolSchemas json.RawMessage `json:"dynamicToolSchemas,omitempty"`
}

type workerContinueBody struct {
	Type        string          `json:"type"`
	ExecutionID string          `json:"executionId"`
	ToolResults json.RawMessage `json:"toolResults"`
}

// session returns the internal session an execution of the worker agentID
// runs on.
func (w *WorkersAPI) session(agentID string, opts WorkerOptions, schemas bool, errorContext string) *AgentSession {
	s := newAgentSession(w.c, "", AttachOptions{
		Tools:              opts.Tools,
		ToolTimeout:        opts.ToolTimeout,
		MaxConcurrentTools: opts.MaxConcurrentTools,
		RejectClientTools:  opts.RejectClientTools,
		OnToolResults:      opts.OnToolResults,
	})
	s.worker = &workerTarget{path: "/api/agents/" + escapeID(agentID) + "/execute", errorContext: errorContext}
	dynamic := opts.DynamicToolSchemas
	if len(opts.MCPServers) > 0 {
		var base []ToolSchema
		if schemas {
			base = dynamic
		}
		handlers, all, err := resolveMCP(opts.Tools, opts.MCPServers, base)
		if err != nil {
			s.mcpErr = err
			return s
		}
		s.base, s.tools = handlers, handlers
		if all == nil {
			all = []ToolSchema{}
		}
		dynamic = all
	}
	if schemas && dynamic != nil {
		b, err := marshalJSON(dynamic)
		if err != nil {
			w.c.log.Error("octavus: dynamic tool schemas are not JSON; none sent", "agent", agentID, "error", err)
		} else {
			s.dynamic = b
		}
	}
	return s
}

// Execute runs the worker agent agentID on input and streams its events,
// as AgentSession.Execute does for a session: it returns at once, the
// channel is closed when the execution is over, and the same loop runs
// (server tools run and their results posted back, retries, size limits,
// idle timeout, cancellation by ctx ending with finish {stop}).
//
// The first request is POST /api/agents/{agentID}/execute with
// {"type":"start","input":...,"dynamicToolSchemas":[...]} (a nil input
// sends {}); each continuation after server tools posts
// {"type":"continue","executionId":...,"toolResults":[...]} to the same
// endpoint. The worker's steps stream worker-start, text, tool and
// worker-result events; a usage event (cost and tokens) follows the
// finish. Tool calls without a handler end the stream with a
// client-tool-request (its ExecutionID is the platform's, unsigned: the
// caller is your own server) for Continue.
//
// Read the channel to the end, or cancel ctx.
func (w *WorkersAPI) Execute(ctx context.Context, agentID string, input map[string]any, opts WorkerOptions) <-chan StreamEvent {
	if ctx == nil {
		ctx = context.Background()
	}
	s := w.session(agentID, opts, true, "Failed to execute worker")
	out := make(chan StreamEvent, eventBuffer)
	x := &execution{s: s, ctx: ctx, out: out}
	raw := json.RawMessage("{}")
	var inputErr error
	if input != nil {
		raw, inputErr = marshalJSON(input)
	}
	s.worker.input = raw
	go func() {
		defer close(out)
		defer x.recoverPanic()
		if s.mcpErr != nil {
			x.emit(NewInternalErrorEvent(s.mcpErr.Error()))
			return
		}
		if inputErr != nil {
			x.emit(NewInternalErrorEvent("Worker input is not JSON: " + inputErr.Error()))
			return
		}
		x.loop(&legBody{}, nil)
	}()
	return out
}

// Continue goes on with a worker execution that ended with a
// client-tool-request: executionID is the event's ExecutionID and results
// the results of its tool calls, in any order, with the event's
// ServerToolResults (the platform needs them all; nil sends []). Every
// request posts {"type":"continue","executionId":...,"toolResults":[...]}
// to /api/agents/{agentID}/execute; opts.DynamicToolSchemas are not sent.
// The stream is read as Execute's.
func (w *WorkersAPI) Continue(ctx context.Context, agentID, executionID string, results []ToolResult, opts WorkerOptions) <-chan StreamEvent {
	if ctx == nil {
		ctx = context.Background()
	}
	s := w.session(agentID, opts, false, "Failed to continue worker")
	out := make(chan StreamEvent, eventBuffer)
	x := &execution{s: s, ctx: ctx, out: out}
	if results == nil {
		results = []ToolResult{}
	}
	go func() {
		defer close(out)
		defer x.recoverPanic()
		if s.mcpErr != nil {
			x.emit(NewInternalErrorEvent(s.mcpErr.Error()))
			return
		}
		if executionID == "" {
			x.emit(NewInternalErrorEvent("Invalid worker continue: need an executionId"))
			return
		}
		x.loop(&legBody{ExecutionID: executionID}, results)
	}()
	return out
}

// WorkerResult is the outcome of a worker execution that produced an
// output (WorkersAPI.Generate).
type WorkerResult struct {
	// Output is the worker's output value, as JSON; nil when the
	// worker-result event had none.
	Output json.RawMessage
	// SessionID names the worker's execution, for debugging
	// (Client.SessionURL): the start event's executionId, else the
	// worker-result's workerId.
	SessionID string
	// Cost and Tokens are the usage event's, nil when the platform sent
	// none (it is best-effort).
	Cost   *UsageCost
	Tokens *UsageTokens
}

// WorkerErrorDetails are the structured details of the error event of a
// failed worker execution.
type WorkerErrorDetails struct {
	ErrorType  ErrorType
	Source     ErrorSource
	Code       string
	Retryable  bool
	RetryAfter *float64 // seconds; nil when none was suggested
	Provider   *ProviderErrorInfo
}

// WorkerError is Generate's error for a worker execution that failed or
// produced no result. Match it with errors.As.
type WorkerError struct {
	// Message is the error event's message, else the worker-result's
	// error, else "Worker completed without producing a result".
	Message string
	// SessionID names the execution when it started (the start event's
	// executionId, else the worker-result's workerId); "" otherwise.
	SessionID string
	// Details are the error event's, nil when the stream had none.
	Details *WorkerErrorDetails
}

// Error returns the message, as 6.4.0's WorkerError does, after the
// package's "octavus: " prefix.
func (e *WorkerError) Error() string { return "octavus: " + e.Message }

// hasError reports whether the worker-result carries an error key, even
// "" (6.4.0 tests error !== undefined).
func (e *WorkerResultEvent) hasError() bool {
	if e.Error != "" {
		return true
	}
	_, ok := e.extra["error"]
	return ok
}

// Generate runs the worker agent agentID to its end (Execute) and returns
// its output. It reads the whole stream before deciding, as 6.4.0's
// generate does, since a failing worker sends both a worker-result and an
// error event in no fixed order: the last error event's message and
// details win over a worker-result's error; a worker-result without error
// gives the output; the usage event gives Cost and Tokens. Its error is
// always a *WorkerError: the failure, or "Worker completed without
// producing a result" when the stream ended without either. Tool calls
// without a handler cannot be answered here: the stream ends after the
// client-tool-request, without a result.
func (w *WorkersAPI) Generate(ctx context.Context, agentID string, input map[string]any, opts WorkerOptions) (*WorkerResult, error) {
	var (
		sessionID, lastWorkerID string
		haveSession, haveWorker bool
		result                  *WorkerResult
		message                 *string
		details                 *WorkerErrorDetails
		cost                    *UsageCost
		tokens                  *UsageTokens
	)
	for ev := range w.Execute(ctx, agentID, input, opts) {
		switch e := ev.(type) {
		case *StartEvent:
			if e.ExecutionID != "" {
				sessionID, haveSession = e.ExecutionID, true
			}
		case *ErrorEvent:
			m := e.Message
			message = &m
			details = &WorkerErrorDetails{ErrorType: e.ErrorType, Source: e.Source, Code: e.Code, Retryable: e.Retryable, RetryAfter: e.RetryAfter, Provider: e.Provider}
		case *WorkerResultEvent:
			lastWorkerID, haveWorker = e.WorkerID, true
			if e.hasError() {
				if message == nil {
					m := e.Error
					message = &m
				}
			} else {
				id := sessionID
				if !haveSession {
					id = e.WorkerID
				}
				result = &WorkerResult{Output: e.Output, SessionID: id}
			}
		case *UsageEvent:
			c, t := e.Cost, e.Tokens
			cost, tokens = &c, &t
		}
	}
	if message != nil {
		id := sessionID
		if !haveSession && haveWorker {
			id = lastWorkerID
		}
		return nil, &WorkerError{Message: *message, SessionID: id, Details: details}
	}
	if result != nil {
		result.Cost, result.Tokens = cost, tokens
		return result, nil
	}
	return nil, &WorkerError{Message: "Worker completed without producing a result", SessionID: sessionID}
}
