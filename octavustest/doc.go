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
// The fake behaves like the platform where the SDK can observe it:
//
//   - A Stream turn opens with a start event {messageId, executionId}, writes
//     each event as "data: <compact JSON>\n\n" and flushes it, closes with a
//     finish event and ends with "data: [DONE]\n\n".
//   - When a turn requested tools (a tool-request event), the next trigger POST
//     of that session must continue that execution: its executionId must match
//     and its toolResults must answer every pending toolCallId. Otherwise the
//     fake answers 400 with a JSON body naming what is wrong, and the script
//     does not advance.
//   - Each session keeps its messages as the platform would: a user message for
//     a trigger whose input has USER_MESSAGE, and one assistant message per
//     execution built from what was streamed, with tool results filled in from
//     the continuation. GET /api/agent-sessions/{id}?format=ui returns them as
//     UIMessages, the plain GET as ChatMessages.
//
// The fake is stricter than it needs to be where strictness finds SDK bugs:
// request bodies with unknown keys or wrongly typed fields are answered 400.
//
// Faults are scripted too: Failure answers with an HTTP error (optionally with
// Retry-After), Cut drops the connection mid-stream, Stall stops writing until
// released or until the client gives up, Raw writes malformed lines, Heartbeat
// writes a comment line, OmitDone ends a stream without [DONE]. FailNext and
// FailNextTriggers inject error answers on demand, ahead of the script.
//
// Every request is recorded (Requests); WaitRequest and WaitDone block until
// the n-th request arrived or was served, so tests synchronise without sleeping,
// and Request.Aborted tells whether the client went away while it was served.
//
// All methods are safe to call from any goroutine while requests are in flight.
// Ids are deterministic per server ("sess_1", "exec_1", "msg_1", "call_1", ...).
package octavustest
