// The whole frontend: a chat with an Octavus agent on the official
// @octavus/react hook and its HTTP transport. The Go server (main.go) serves
// this app and the two API routes it calls:
//
//   POST /api/sessions  -> {sessionId}   (a session of the agent)
//   POST /api/trigger   -> SSE           (octavus-go's AgentSessions.Handler)
//
// get-order is a server tool: Go runs it and the page only shows its result.
// confirm-refund is a client tool: the page asks the person and sends the
// answer back, which the transport turns into a "continue" request.
import { useEffect, useMemo, useState } from 'react';
import { createHttpTransport, useOctavusChat } from '@octavus/react';

export default function App() {
  const [sessionId, setSessionId] = useState(null);
  const [failure, setFailure] = useState(null);

  useEffect(() => {
    let cancelled = false;
    fetch('/api/sessions', { method: 'POST' })
      .then((r) => (r.ok ? r.json() : Promise.reject(new Error(`creating a session: HTTP ${r.status}`))))
      .then((body) => !cancelled && setSessionId(body.sessionId))
      .catch((err) => !cancelled && setFailure(err.message));
    return () => {
      cancelled = true;
    };
  }, []);

  if (failure) return <p role="alert">{failure}</p>;
  if (!sessionId) return <p className="connecting">Connecting…</p>;
  return <Chat sessionId={sessionId} />;
}

function Chat({ sessionId }) {
  // One transport per session: both kinds of request (trigger and
  // continue) go to the same route, with the session id added.
  const transport = useMemo(
    () =>
      createHttpTransport({
        request: (payload, options) =>
          fetch('/api/trigger', {
            method: 'POST',
            headers: { 'Content-Type': 'application/json' },
            body: JSON.stringify({ sessionId, ...payload }),
            signal: options?.signal,
          }),
      }),
    [sessionId],
  );

  const { messages, status, error, pendingClientTools, send, stop } = useOctavusChat({
    transport,
    // 'interactive': the call waits in pendingClientTools for the person.
    clientTools: { 'confirm-refund': 'interactive' },
  });

  const [draft, setDraft] = useState('');
  const busy = status === 'streaming' || status === 'awaiting-input';

  function onSubmit(e) {
    e.preventDefault();
    const text = draft.trim();
    if (!text || busy) return;
    setDraft('');
    send('user-message', { USER_MESSAGE: text }, { userMessage: { content: text } });
  }

  // The pending call of a tool part, if the person still has to answer it.
  const pendingCall = (part) =>
    (pendingClientTools[part.toolName] ?? []).find((t) => t.toolCallId === part.toolCallId);

  return (
    <div id="chat" className="chat" data-status={status}>
      <h1>Order assistant</h1>
      <ol className="messages">
        {messages.map((msg) => (
          <li key={msg.id} className={`msg ${msg.role}`} data-testid={`${msg.role}-message`} data-state={msg.status}>
            {msg.parts.map((part, i) => (
              <Part key={part.toolCallId ?? i} part={part} pending={part.type === 'tool-call' ? pendingCall(part) : undefined} />
            ))}
          </li>
        ))}
      </ol>
      {error && (
        <p role="alert" className="error" data-testid="error" data-error-type={error.errorType}>
          {error.message}
        </p>
      )}
      <form className="composer" onSubmit={onSubmit}>
        <input
          id="input"
          value={draft}
          onChange={(e) => setDraft(e.target.value)}
          placeholder={status === 'awaiting-input' ? 'Answer the question above first' : 'Ask about an order, e.g. "Refund order 1042"'}
          disabled={busy}
          aria-label="Message"
        />
        {status === 'streaming' ? (
          <button id="stop" type="button" onClick={stop}>
            Stop
          </button>
        ) : (
          <button id="send" type="submit" disabled={busy}>
            Send
          </button>
        )}
      </form>
    </div>
  );
}

function Part({ part, pending }) {
  switch (part.type) {
    case 'text':
      return <p data-testid="text-part">{part.text}</p>;
    case 'reasoning':
      return (
        <details className="reasoning" data-testid="reasoning-part" open={part.status === 'streaming'}>
          <summary>Thinking</summary>
          {part.text}
        </details>
      );
    case 'tool-call':
      return <ToolCall part={part} pending={pending} />;
    default:
      return null; // sources, files, operations: not used by this agent
  }
}

function ToolCall({ part, pending }) {
  return (
    <div className="tool" data-tool-name={part.toolName} data-status={part.status}>
      <div className="tool-head">
        {part.displayName ?? part.toolName} <span className="badge">{part.status}</span>
      </div>
      {pending ? (
        // A confirm-refund call the person answers: submit() or cancel()
        // completes it and the chat continues the execution.
        <div className="prompt">
          <p>{String(pending.args.question ?? 'Confirm?')}</p>
          <button data-testid="confirm" onClick={() => pending.submit({ confirmed: true })}>
            Confirm
          </button>
          <button data-testid="decline" onClick={() => pending.submit({ confirmed: false })}>
            Decline
          </button>
        </div>
      ) : (
        <code data-testid="tool-args">{JSON.stringify(part.args)}</code>
      )}
      {part.result !== undefined && (
        <pre data-testid="tool-result" data-json={JSON.stringify(part.result)}>
          {JSON.stringify(part.result, null, 2)}
        </pre>
      )}
      {part.error && <p className="error">{part.error}</p>}
    </div>
  );
}
