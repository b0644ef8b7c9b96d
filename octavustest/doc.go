// Package octavustest runs a fake Octavus platform for tests, the way
// net/http/httptest serves net/http.
//
// NewServer starts a local HTTP server that speaks the platform API the SDK
// calls (sessions, triggers, deferred starts, worker executions, workforce
// threads, tokens, execution logs, agents, upload URLs) with the same paths,
// JSON shapes, API key check and error bodies. What each trigger POST streams back
// is scripted in Go, turn by turn:
//
//	srv := octavustest.NewServer(octavustest.WithScript(
//		// First POST: the agent asks for a tool.
//		octavustest.Stream(octavustest.ToolCall{Name: "get-user", Args: map[string]any{"id": "u1"}}),
//		// Second POST (the continuation carrying the tool result): answer with it.
//		octavustest.Respond(func(req octavustest.TriggerRequest) octavustest.Turn {
//			return octavustest.Stream(octavustest.Text("Hello, ", fmt.Sprint(req.ToolResults[0].Result)))
//		}),
//	))
//	defer srv.Close()
//	agentID := srv.AddAgent(octavustest.Agent{Name: "Support"})
//	sessionID := srv.AddSession(octavustest.Session{AgentID: agentID})
//	// Point the SDK (or plain net/http) at srv.URL with srv.APIKey.
//
// The fake behaves like the 6.4.0 platform where the SDK can observe it:
//
//   - A Stream turn opens with a start event {messageId, executionId,
//     lastMessageId}, lastMessageId being the session's last message before
//     the execution (left out while the session has none; a 6.4 browser
//     retries from it). It writes each event as "data: <compact JSON>\n\n"
//     and flushes it, closes with a finish event (then any Usage) and ends
//     with "data: [DONE]\n\n".
//   - Besides text, reasoning, tools, blocks, sources and files, a turn can
//     run workers (Worker, WorkerExecution: worker-start, the worker's own
//     events carrying its workerId, worker-result; worker-input-* when the
//     input is streamed), keep a todo list (Todos: todo-update) and report
//     usage (Usage, written after finish). ExecutionBlock writes any block,
//     display "title" included.
//   - When a turn requested tools (a tool-request event), the next trigger POST
//     of that session must continue that execution: its executionId must match
//     and its toolResults must answer every pending toolCallId. Otherwise the
//     fake answers 400 with a JSON body naming what is wrong, and the script
//     does not advance.
//   - While a trigger POST of a session is being answered (until its handler
//     returns, which is before the client can read the end of the stream), a
//     second trigger POST of the session is answered 429 with Retry-After: 1
//     and {"error":"The session is busy with another run. Please try again in
//     a moment.","code":"SESSION_BUSY"}, as the platform does.
//     WithBusyRetryAfter changes the header; WithConcurrentRuns turns it off.
//   - Each session keeps its messages as the platform would, in the v4 shapes
//     (the X-Octavus-Sdk-Version: 4 wire): a user message for a trigger whose
//     input has USER_MESSAGE, stamped with the body's sender, and one
//     assistant message per execution built from what was streamed, with a
//     step-start part at the start of each leg (one per model step), worker
//     parts holding the worker's parts, one todo part, the providerMetadata a
//     script gives with ProviderMetadata, and tool results filled in from the
//     continuation. A stream that ends without finish (cut, abandoned) marks
//     the calls, operations and workers it left running cancelled.
//     GET /api/agent-sessions/{id}?format=ui returns them as UIMessages, the
//     plain GET as ChatMessages (parts with visible, no message-level
//     reasoning).
//   - A trigger's rollbackAfterMessageId removes the messages after that id
//     (null: all of them) before the trigger runs, so a retry replaces the
//     failed turn. An id the session does not have removes nothing; the key
//     repeated on continuation legs is ignored there.
//   - Restore accepts every v4 UIMessage part type, with every key, and
//     serves the parts back as they came.
//
// The 6.4.0 endpoints beyond triggers:
//
//   - Deferred start, POST /api/agent-sessions/start {agentId, trigger:
//     {triggerName, input?, sender?, dynamicToolSchemas?}, input?,
//     idempotencyKey}: creates the session with the session input and
//     streams its first turn (the agent's script, as for any session) with
//     the header X-Octavus-Session-Id and sessionId on the start event.
//     The same idempotencyKey finds the same session again, so a retry
//     runs in it rather than creating a second one (StartedSession tells
//     which); the key used for another agent is 409. Later legs go to
//     /trigger. TriggerRequest.Endpoint and IdempotencyKey show the leg.
//   - Workers, POST /api/agents/{agentId}/execute with {type:"start",
//     input, dynamicToolSchemas?} or {type:"continue", executionId,
//     toolResults} (no dynamicToolSchemas: they are sent once), for agents
//     of Format "worker" (others are 400). A start creates an execution
//     that is its own session (the start event's executionId is its id;
//     GET and logs of the session work); a continue must fit its pending
//     tool calls, as a trigger continuation must. The legs are scripted
//     like session turns by the agent's Script, which plays across all of
//     the agent's executions, one turn per leg, so a scripted Failure
//     followed by a Stream answers an SDK retry. The leg that ends the
//     execution (a finish other than tool-calls or client-tool-calls) ends
//     with a usage event after finish, as the platform sends it once per
//     execution: the script's Usage, else a zero one.
//   - Workforce, with per-agent keys: POST
//     /api/v1/workforce/agents/{agentId}/threads {message, files?} (201
//     {threadId, status}), GET .../threads/{threadId} ({threadId, status,
//     failureReason, messages}) and POST .../threads/{threadId}/messages
//     (202). Threads move through the agent's ThreadSteps, one step per
//     GET (default queued, running, completed with "Done."), their
//     messages growing as the steps' parts play; a follow-up while a run
//     goes on runs after it. Each agent has a key, Agent.WorkforceKey
//     (default "oct_agt_<id>", AgentKey returns it): only that key is
//     accepted. A missing or unknown key is 401; a key the fake knows but
//     that is not this agent's (another agent's, the project key APIKey,
//     a minted token) is 403, as the platform scopes keys; an unknown
//     thread, or one of another agent, is 404; SetBlocked makes
//     dispatches and follow-ups 402; CancelThread cancels a run.
//   - Tokens: POST /api/tokens {agentId, sessionId?, ttlSeconds?} mints
//     {token: "oct_et_...", jti, expiresAt} (DefaultTokenTTL, clamped to
//     MaxTokenTTL; the agent, and the session of that agent, must exist),
//     POST /api/tokens/revoke {token} answers {revoked, jti?} (false for
//     an unknown, revoked or expired token). A live minted token is
//     accepted as the bearer key within its scope: an agent-scoped token
//     for that agent's sessions (create, start, trigger, read, restore,
//     clear, logs, uploads) and worker executions, a session-scoped one
//     for its session only; anything else is 403, and a revoked or expired
//     token is 401.
//   - DELETE /api/agent-sessions/{id} answers {sessionId, cleared: true}
//     and expires the session (restore brings it back). GET
//     /api/agent-sessions/{id}/logs[?excludeModelRequests=true] answers
//     {sessionId, entries, total, truncated} (the most recent 3000), or
//     the expired shape. The entries, in the shapes of @octavus/core's
//     execution-log.ts, come from what happened: trigger, the user
//     message, one model-request per leg (with a requestBody when the leg
//     sent X-Octavus-Trace: true), reasoning, assistant messages,
//     tool-call, tool-result (streamed or continued), block-operation,
//     worker-execution, worker-output and error; AddLogEntries adds any
//     other.
//
// The fake is stricter than it needs to be where strictness finds SDK bugs:
// request bodies with unknown keys or wrongly typed fields are answered 400.
// The trigger body takes triggerName, input, rollbackAfterMessageId, sender,
// executionId, toolResults and dynamicToolSchemas; each tool result may carry
// further keys (browsers add their own; the platform accepts them), but its
// known keys (files, thread and workerId included) must have their types.
// All of them, and the X-Octavus-Sdk-Version header, are recorded on the
// TriggerRequest a Respond func gets; Request.SDKVersion reads the header.
//
// Faults are scripted too: Failure answers with an HTTP error (optionally with
// Retry-After), Cut drops the connection mid-stream, Stall stops writing until
// released or until the client gives up, Raw writes malformed lines, Heartbeat
// writes the platform's ": heartbeat" comment, OmitDone ends a stream without
// [DONE]. WithHeartbeat (a clock) or WithHeartbeatTicks (ticks the test
// sends) make stalled streams write heartbeats. FailNext (any request, the
// new endpoints included) and FailNextTriggers (the streaming POSTs:
// triggers, deferred starts, worker legs) inject error answers on demand,
// ahead of the script.
//
// Every request is recorded (Requests); WaitRequest and WaitDone block until
// the n-th request arrived or was served, so tests synchronise without sleeping,
// and Request.Aborted tells whether the client went away while it was served.
//
// All methods are safe to call from any goroutine while requests are in flight.
// Ids are deterministic per server ("sess_1", "exec_1", "msg_1", "call_1",
// "thread_1", "oct_et_test_1", "jti_1", "log_1", ...).
package octavustest
