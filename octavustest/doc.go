// Package octavustest runs a fake Octavus platform for tests, the way
// net/http/httptest serves net/http.
//
// NewServer starts a local HTTP server that speaks the platform API the SDK
// calls (sessions, triggers, agents, upload URLs) with the same paths, JSON
// shapes, API key check and error bodies. What each trigger POST streams back
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
// sends) make stalled streams write heartbeats. FailNext and FailNextTriggers
// inject error answers on demand, ahead of the script.
//
// Every request is recorded (Requests); WaitRequest and WaitDone block until
// the n-th request arrived or was served, so tests synchronise without sleeping,
// and Request.Aborted tells whether the client went away while it was served.
//
// All methods are safe to call from any goroutine while requests are in flight.
// Ids are deterministic per server ("sess_1", "exec_1", "msg_1", "call_1", ...).
package octavustest
