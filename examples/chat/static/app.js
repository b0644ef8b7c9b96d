// The chat page: plain JavaScript, without the SDK, on the Go server's
// execution log (octavus.Executions and NewPollingHandler, mounted at
// /api/chat/).
//
// A message POSTs /api/chat/trigger
//   {sessionId, type: "trigger", triggerName: "user-message", input: {USER_MESSAGE}}
// which starts an execution on the server, detached from the page, and
// answers {executionId}, the id Stop names. The page then follows the execution's log with an EventSource
// on /api/chat/events?sessionId=...&cursor=0: each event comes with
// "<executionId>:<cursor>" as its id, "data: [DONE]" ends it. When the connection drops, the
// EventSource reconnects by itself with Last-Event-ID, and the server sends
// what was missed, then the live tail. Like OctavusChat the page builds the
// assistant's message from the events (text, reasoning, tool calls), stops
// with POST /api/chat/stop, and turns an error event into an error the page
// shows, in words, with a Retry button when it is retryable (retry() of
// OctavusChat: the last trigger again, with rollbackAfterMessageId).
//
// The conversation survives a reload: the session id and the session's
// UIMessages are kept in localStorage, and on load the page asks the server
// to open the session again (POST /api/sessions/{id}/open): it answers with
// the messages (GetMessages), restores an expired session from the kept
// messages (Restore), or starts a new chat when the platform no longer
// knows the session. When the session is still answering
// (GET /api/chat/status), the page leaves the answer in progress out of the
// history and replays it from the log's start (cursor 0), as OctavusChat's
// observe() does: the answer goes on streaming where it was.

/**
 * Tools that ask the person: the server's handler waits for the answer the
 * page posts to /api/sessions/{id}/confirm (confirm.go).
 */
const ASK_TOOLS = new Set(['confirm-refund']);

/** What each tool call reads as, from its arguments (args is {} until they arrive). */
const TOOL_TITLES = {
  'get-order': (args) => (args.orderId ? `Looking up order ${args.orderId}` : 'Looking up an order'),
  'confirm-refund': (args) => (args.orderId ? `Asking you to confirm the refund of order ${args.orderId}` : 'Asking you to confirm a refund'),
};

/** The title of a tool call: ours, else the agent's display name, else its name in words. */
function toolTitle(toolName, args, displayName) {
  const title = TOOL_TITLES[toolName]?.(args ?? {});
  if (title) {
    return title;
  }
  if (displayName) {
    return displayName;
  }
  const words = String(toolName).replace(/[-_]+/g, ' ').trim();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

/**
 * What an error says, by its code, then its errorType. network_error is the
 * page's own: fetch failed before the server answered.
 */
const ERROR_CODE_SENTENCES = {
  SESSION_BUSY: 'The agent is still busy with another answer in this chat. Wait a moment, then retry.',
};
const ERROR_SENTENCES = {
  network_error: 'Could not reach the chat server. Check your connection, then retry.',
  rate_limit_error: 'Too many requests right now. Wait a moment, then retry.',
  quota_exceeded_error: 'The agent has used up its quota for now.',
  provider_overloaded: 'The AI model is overloaded right now. Retry in a moment.',
  provider_timeout: 'The AI model took too long to answer.',
  provider_error: 'The AI model could not answer.',
  authentication_error: 'The chat server could not sign in to the agent platform.',
  permission_error: 'This chat is not allowed to do that.',
  not_found_error: 'This chat no longer exists on the server (it may have restarted).',
  validation_error: 'The agent could not accept that request.',
  tool_error: 'A tool the agent used failed.',
  execution_error: 'The agent stopped with an error.',
  protocol_error: 'The agent sent something this page does not understand.',
  internal_error: 'Something went wrong on the server.',
};

/** The sentence an error is shown with. */
function errorSentence(err) {
  return ERROR_CODE_SENTENCES[err.code] ?? ERROR_SENTENCES[err.errorType] ?? 'Something went wrong.';
}

/** Where the conversation is kept: {sessionId, messages: UIMessage[]}. */
const STORAGE_KEY = 'octavus-chat';

/** The kept conversation, or {}. */
function kept() {
  try {
    return JSON.parse(localStorage.getItem(STORAGE_KEY) ?? '{}') ?? {};
  } catch {
    return {};
  }
}

/** Keeps what changed of the conversation (storage may be full or off: then it is not kept). */
function keep(changes) {
  try {
    localStorage.setItem(STORAGE_KEY, JSON.stringify({ ...kept(), ...changes }));
  } catch {
    // not kept
  }
}

/** What the status line says after opening a kept session. */
const OPEN_NOTES = {
  restored: 'Your chat had expired on the server; it was restored from this browser.',
  lost: 'Your previous chat was not found on the server (it may have restarted), so this is a new chat.',
};

const byId = (id) => document.getElementById(id);
const ui = {
  chat: byId('chat'),
  scroller: byId('scroller'),
  welcome: byId('welcome'),
  suggestions: byId('suggestions'),
  platform: byId('platform'),
  messages: byId('messages'),
  status: byId('status'),
  form: byId('composer'),
  input: byId('input'),
  send: byId('send'),
  stop: byId('stop'),
  newChat: byId('new-chat'),
  toolTemplate: byId('tool-template'),
};

/** What the status line says in each chat status, unless told otherwise. */
const STATUS_TEXT = {
  connecting: 'Connecting…',
  idle: '',
  streaming: 'The agent is answering…',
  'awaiting-input': 'The agent is waiting for your answer.',
  error: 'The last answer failed.',
};

/** The badge of a tool call in each state. */
const TOOL_STATUS_TEXT = {
  pending: 'pending',
  running: 'running',
  done: 'done',
  error: 'error',
  cancelled: 'cancelled',
};

let sessionId = null;
/** The chat status: connecting | idle | streaming | awaiting-input | error. */
let status = 'connecting';
/** The assistant answer being built, or null. */
let turn = null;
/** The id of the conversation's last message as the server has it, or null. */
let lastMessageId = null;
/**
 * The last trigger, for retry(): its name, input, the user's text, the
 * rollback anchor (the message before it: rollbackAfterMessageId) and the
 * elements it added.
 */
let lastTrigger = null;

// ---------------------------------------------------------------------------
// Status and layout

/** Sets the chat status (and the status line: note, or the status's text). */
function setStatus(next, note) {
  status = next;
  ui.chat.dataset.status = next;
  // While the agent waits for the person, the prompt is the way on: no
  // new message, and no Stop (as in the SDK docs).
  const busy = next === 'streaming' || next === 'awaiting-input';
  ui.messages.setAttribute('aria-busy', String(next === 'streaming'));
  ui.send.hidden = next === 'streaming';
  ui.stop.hidden = next !== 'streaming';
  ui.input.disabled = busy || sessionId === null;
  ui.send.disabled = busy || sessionId === null;
  ui.status.textContent = note ?? STATUS_TEXT[next] ?? '';
  for (const button of ui.messages.querySelectorAll('.tool-prompt button')) {
    button.disabled = next !== 'awaiting-input';
  }
  if ((next === 'idle' || next === 'error') && sessionId !== null && document.activeElement === document.body) {
    ui.input.focus();
  }
}

/** Runs change, keeping the conversation scrolled to the bottom if it was. */
function keepScrolled(change) {
  const s = ui.scroller;
  const atBottom = s.scrollHeight - s.scrollTop - s.clientHeight < 48;
  const result = change();
  if (atBottom) {
    s.scrollTop = s.scrollHeight;
  }
  return result;
}

/** Creates an element with a class and a text. */
function element(tag, className, text) {
  const el = document.createElement(tag);
  if (className) {
    el.className = className;
  }
  if (text !== undefined) {
    el.textContent = text;
  }
  return el;
}

// ---------------------------------------------------------------------------
// Messages

/** Adds an empty message of role ('user' | 'assistant') to the conversation. */
function addMessage(role) {
  ui.welcome.hidden = true;
  const el = element('li', `msg ${role}`);
  el.dataset.testid = `${role}-message`;
  el.append(element('span', 'role', role === 'user' ? 'You' : 'Agent'));
  const parts = element('ol', 'parts');
  el.append(parts);
  keepScrolled(() => ui.messages.append(el));
  return { el, parts };
}

/** Shows the person's message, as send() with userMessage does. */
function addUserMessage(text) {
  const { el, parts } = addMessage('user');
  const part = element('li', 'part text', text);
  keepScrolled(() => parts.append(part));
  return el;
}

/** Starts the assistant's answer to one user message. */
function newTurn() {
  const { el, parts } = addMessage('assistant');
  el.dataset.state = 'streaming';
  const typing = element('li', 'part typing');
  typing.setAttribute('aria-label', 'The agent is typing');
  typing.append(element('span'), element('span'), element('span'));
  parts.append(typing);
  return {
    el,
    parts,
    typing,
    text: null, // the text part being streamed
    reasoning: null, // the reasoning part being streamed
    streaming: [], // every text and reasoning part not yet done
    tools: new Map(), // toolCallId -> tool
    executionId: null, // the platform's, from the start event
    runId: null, // the server's execution (its log), which Stop names
    pending: new Set(), // toolCallIds waiting for the person
    source: null, // the EventSource that follows the execution
    settled: false,
  };
}

/** Appends a part to the turn's message. */
function addPart(t, el) {
  t.typing.remove();
  keepScrolled(() => t.parts.append(el));
}

/** Adds a text or reasoning part; deltas are appended to its text node. */
function addTextPart(t, kind) {
  let el;
  let body;
  if (kind === 'reasoning') {
    el = element('li', 'part reasoning');
    const details = element('details');
    details.open = true;
    const summary = element('summary', '', 'Thinking…');
    body = element('div', 'reasoning-text');
    details.append(summary, body);
    el.append(details);
  } else {
    el = element('li', 'part text');
    body = el;
  }
  el.dataset.testid = `${kind}-part`;
  el.dataset.state = 'streaming';
  const node = document.createTextNode('');
  body.append(node);
  addPart(t, el);
  const part = { kind, el, node };
  t.streaming.push(part);
  return part;
}

/** Appends a delta to the part's text node: no re-render, no flicker. */
function appendDelta(part, delta) {
  if (typeof delta === 'string') {
    keepScrolled(() => part.node.appendData(delta));
  }
}

/** Marks a text or reasoning part done; reasoning collapses. */
function endTextPart(t, part) {
  if (!part || part.el.dataset.state === 'done') {
    return;
  }
  part.el.dataset.state = 'done';
  t.streaming = t.streaming.filter((p) => p !== part);
  if (part.kind === 'reasoning') {
    const details = part.el.querySelector('details');
    details.open = false;
    details.querySelector('summary').textContent = 'Reasoning';
  }
}

// ---------------------------------------------------------------------------
// Tool calls

/** Adds a tool call part (tool-input-start). */
function addTool(t, toolCallId, toolName, displayName) {
  const el = ui.toolTemplate.content.firstElementChild.cloneNode(true);
  el.dataset.toolCallId = toolCallId;
  el.dataset.toolName = toolName;
  el.title = `Tool: ${toolName}`;
  el.querySelector('.tool-name').textContent = toolTitle(toolName, {}, displayName);
  const tool = { toolCallId, toolName, displayName, el, status: 'pending' };
  setToolStatus(tool, 'pending');
  t.tools.set(toolCallId, tool);
  addPart(t, el);
  return tool;
}

/** The tool call part of toolCallId, added if the stream had none. */
function toolFor(t, toolCallId, toolName) {
  return t.tools.get(toolCallId) ?? addTool(t, toolCallId, toolName ?? 'tool');
}

/** Sets a tool call's state: pending | running | done | error | cancelled. */
function setToolStatus(tool, next, label) {
  tool.status = next;
  tool.el.dataset.status = next;
  tool.el.querySelector('.badge').textContent = label ?? TOOL_STATUS_TEXT[next] ?? next;
}

/** Shows a tool call's arguments. */
function setToolArgs(tool, args) {
  const el = tool.el.querySelector('.tool-args');
  el.textContent = '';
  if (!args || typeof args !== 'object') {
    return;
  }
  tool.el.querySelector('.tool-name').textContent = toolTitle(tool.toolName, args, tool.displayName);
  for (const [key, value] of Object.entries(args)) {
    if (key === 'question') {
      continue; // shown in the prompt
    }
    const arg = element('span', 'arg');
    arg.append(element('span', 'arg-name', key), element('span', 'arg-value', typeof value === 'string' ? value : JSON.stringify(value)));
    el.append(arg);
  }
}

/** A flat object (only strings, numbers, booleans, null) shows as a table. */
function isFlatObject(v) {
  return v !== null && typeof v === 'object' && !Array.isArray(v) &&
    Object.values(v).every((x) => x === null || typeof x !== 'object');
}

/** Shows a tool call's result; the raw JSON is in data-json. */
function setToolResult(tool, output) {
  const el = tool.el.querySelector('.tool-result');
  el.textContent = '';
  el.dataset.json = JSON.stringify(output ?? null);
  if (isFlatObject(output) && Object.keys(output).length > 0) {
    const table = element('dl', 'kv');
    for (const [key, value] of Object.entries(output)) {
      table.append(element('dt', '', key), element('dd', '', typeof value === 'string' ? value : JSON.stringify(value)));
    }
    el.append(table);
  } else {
    el.append(element('pre', '', output === undefined ? '(no result)' : JSON.stringify(output, null, 2)));
  }
  keepScrolled(() => {
    el.hidden = false;
  });
  setToolStatus(tool, 'done');
}

/** Shows a tool call's error. */
function setToolError(tool, error) {
  const el = tool.el.querySelector('.tool-error');
  el.textContent = error || 'The tool failed.';
  keepScrolled(() => {
    el.hidden = false;
  });
  setToolStatus(tool, 'error');
}

/** Shows the Confirm / Decline prompt of a tool that asks the person. */
function askPerson(t, tool, args) {
  t.pending.add(tool.toolCallId);
  const prompt = tool.el.querySelector('.tool-prompt');
  prompt.querySelector('.tool-question').textContent =
    typeof args?.question === 'string' ? args.question : `Allow ${tool.toolName}?`;
  for (const button of prompt.querySelectorAll('button')) {
    button.disabled = true; // until the status is awaiting-input: see setStatus
    button.onclick = () => void answer(t, tool, button.dataset.action === 'confirm');
  }
  setToolStatus(tool, 'running', 'waiting for you');
  keepScrolled(() => {
    prompt.hidden = false;
  });
  setStatus('awaiting-input');
}

/** The prompt of a tool call is answered (or the call ended): it goes away. */
function closePrompt(t, tool) {
  tool.el.querySelector('.tool-prompt').hidden = true;
  if (t.pending.delete(tool.toolCallId) && t.pending.size === 0 && status === 'awaiting-input') {
    setStatus('streaming');
  }
}

/** The person answered a prompt: the server's waiting tool gets it. */
async function answer(t, tool, confirmed) {
  if (t !== turn || status !== 'awaiting-input' || !t.pending.has(tool.toolCallId)) {
    return;
  }
  closePrompt(t, tool);
  setToolStatus(tool, 'running');
  try {
    const res = await fetch(`/api/sessions/${encodeURIComponent(sessionId)}/confirm`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ confirmed }),
    });
    if (!res.ok) {
      throw new Error(await errorText(res));
    }
  } catch (err) {
    setToolError(tool, `Your answer did not reach the server: ${err instanceof Error ? err.message : err}`);
  }
}

// ---------------------------------------------------------------------------
// Events

/** Applies one stream event to the turn; a true return value ends the turn (finish, error). */
function handleEvent(t, ev) {
  switch (ev.type) {
    case 'start':
      t.executionId = ev.executionId ?? t.executionId;
      // As OctavusChat: the first start event of a trigger tells the
      // message before it (lastMessageId), the anchor a retry rolls back
      // to; a continuation's start events do not move it.
      if (lastTrigger?.turn === t && !lastTrigger.synced) {
        if (ev.lastMessageId !== undefined) {
          lastTrigger.rollbackAfterMessageId = ev.lastMessageId;
        }
        lastTrigger.synced = true;
      }
      break;
    case 'text-start':
      t.text = addTextPart(t, 'text');
      break;
    case 'text-delta':
      appendDelta(t.text ?? (t.text = addTextPart(t, 'text')), ev.delta);
      break;
    case 'text-end':
      endTextPart(t, t.text);
      t.text = null;
      break;
    case 'reasoning-start':
      t.reasoning = addTextPart(t, 'reasoning');
      break;
    case 'reasoning-delta':
      appendDelta(t.reasoning ?? (t.reasoning = addTextPart(t, 'reasoning')), ev.delta);
      break;
    case 'reasoning-end':
      endTextPart(t, t.reasoning);
      t.reasoning = null;
      break;
    case 'tool-input-start':
      addTool(t, ev.toolCallId, ev.toolName, ev.title);
      break;
    case 'tool-input-delta': {
      const tool = t.tools.get(ev.toolCallId);
      try {
        if (tool) {
          setToolArgs(tool, JSON.parse(ev.inputTextDelta));
        }
      } catch {
        // Partial JSON: the whole input comes with tool-input-available.
      }
      break;
    }
    case 'tool-input-available': {
      const tool = toolFor(t, ev.toolCallId, ev.toolName);
      setToolArgs(tool, ev.input);
      setToolStatus(tool, 'running');
      if (ASK_TOOLS.has(tool.toolName)) {
        askPerson(t, tool, ev.input);
      }
      break;
    }
    case 'tool-output-available': {
      const tool = toolFor(t, ev.toolCallId);
      closePrompt(t, tool);
      setToolResult(tool, ev.output);
      break;
    }
    case 'tool-output-error': {
      const tool = toolFor(t, ev.toolCallId);
      closePrompt(t, tool);
      setToolError(tool, ev.error);
      break;
    }
    case 'finish':
      settle(t, 'done');
      setStatus('idle');
      return true;
    case 'error':
      fail(t, ev);
      return true;
    default:
      // block-start, resource-update, source, file-available, ...: not shown here.
      break;
  }
  return false;
}

/**
 * Starts a trigger on the server, then follows its events. A refused
 * trigger (429 SESSION_BUSY, 4xx, 5xx) fails the turn with its error.
 */
async function request(t, payload) {
  setStatus('streaming');
  let res;
  try {
    res = await fetch('/api/chat/trigger', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ sessionId, ...payload }),
    });
  } catch (err) {
    // fetch rejects with a TypeError when the server cannot be reached.
    fail(t, { errorType: 'network_error', message: err instanceof Error ? err.message : String(err), source: 'client', retryable: true });
    return;
  }
  if (!res.ok) {
    const body = await res.json().catch(() => ({}));
    fail(t, {
      errorType: res.status === 429 ? 'rate_limit_error' : 'internal_error',
      code: body.code,
      message: body.error ?? `Request failed: ${res.status}`,
      source: 'server',
      retryable: res.status === 429 || res.status >= 500,
    });
    return;
  }
  const started = await res.json().catch(() => ({}));
  t.runId = typeof started.executionId === 'string' ? started.executionId : null;
  if (!t.settled) {
    follow(t, 0);
  }
}

/**
 * Follows the session's execution log from cursor with an EventSource:
 * each message is one event, "[DONE]" ends it. The EventSource reconnects
 * by itself after a dropped connection, with Last-Event-ID, and the server
 * goes on from there.
 */
function follow(t, cursor) {
  const source = new EventSource(`/api/chat/events?sessionId=${encodeURIComponent(sessionId)}&cursor=${cursor}`);
  t.source = source;
  source.onmessage = (e) => {
    if (t.settled) {
      source.close();
      return;
    }
    if (e.data === '[DONE]') {
      source.close();
      settle(t, 'done'); // a log that ended without finish: keep what came
      setStatus('idle');
      return;
    }
    let ev;
    try {
      ev = JSON.parse(e.data);
    } catch {
      return; // not an event: skipped, as the SDK does
    }
    if (ev !== null && typeof ev === 'object' && typeof ev.type === 'string' && handleEvent(t, ev)) {
      source.close();
    }
  };
  source.onopen = () => {
    if (!t.settled && turn === t) {
      setStatus(status); // the status line again, after "Reconnecting…"
    }
  };
  source.onerror = () => {
    if (t.settled) {
      source.close();
    } else if (source.readyState === EventSource.CLOSED) {
      // The server has no execution to follow (204), or refused.
      fail(t, { errorType: 'network_error', message: 'The answer stream was lost.', source: 'client', retryable: true });
    } else {
      ui.chat.dataset.reconnects = String(Number(ui.chat.dataset.reconnects ?? 0) + 1);
      ui.status.textContent = 'Reconnecting…';
    }
  };
}

/** The message of a non-2xx answer: its JSON "error", else its text. */
async function errorText(res) {
  const text = await res.text().catch(() => '');
  try {
    const body = JSON.parse(text);
    if (typeof body?.error === 'string') {
      return body.error;
    }
  } catch {
    // not JSON
  }
  return text || `Request failed: ${res.status}`;
}

// ---------------------------------------------------------------------------
// Ending a turn

/** Ends the turn: streaming parts are done, unfinished tool calls cancelled. */
function settle(t, how) {
  if (t.settled) {
    return;
  }
  t.settled = true;
  t.typing.remove();
  for (const part of [...t.streaming]) {
    endTextPart(t, part);
  }
  for (const tool of t.tools.values()) {
    if (tool.status === 'pending' || tool.status === 'running') {
      tool.el.querySelector('.tool-prompt').hidden = true;
      setToolStatus(tool, 'cancelled');
    }
  }
  t.pending.clear();
  t.el.dataset.state = how;
  if (how === 'stopped') {
    const note = element('li', 'part note', 'Stopped');
    note.dataset.testid = 'stopped-note';
    keepScrolled(() => t.parts.append(note));
  }
  if (turn === t) {
    turn = null;
  }
  t.source?.close();
  if (!t.fromHistory) {
    void saveMessages();
  }
}

/**
 * Ends the turn with an error event (or an error of the request itself):
 * the error in words, its details, and the way on: Retry for a retryable
 * error, New chat for a chat the server lost.
 */
function fail(t, err) {
  settle(t, 'error');
  const box = element('li', 'part error');
  box.setAttribute('role', 'alert');
  box.dataset.testid = 'error';
  box.dataset.errorType = err.errorType ?? 'unknown_error';
  box.dataset.retryable = String(Boolean(err.retryable));
  if (err.code) {
    box.dataset.code = err.code;
  }
  box.append(element('strong', 'error-title', errorSentence(err)));
  if (err.message) {
    box.append(element('p', 'error-message', err.message));
  }
  const actions = element('p', 'error-actions');
  if (err.retryable && lastTrigger?.turn === t) {
    const button = element('button', 'button', 'Retry');
    button.type = 'button';
    button.dataset.testid = 'retry';
    button.addEventListener('click', retry);
    actions.append(button);
    if (typeof err.retryAfter === 'number') {
      actions.append(element('span', 'error-hint', `The platform suggests waiting ${err.retryAfter} s.`));
    }
  } else if (err.errorType === 'not_found_error') {
    const button = element('button', 'button', 'Start a new chat');
    button.type = 'button';
    button.dataset.testid = 'error-new-chat';
    button.addEventListener('click', () => void newChat());
    actions.append(button);
  }
  if (actions.childElementCount > 0) {
    box.append(actions);
  }
  const meta = element('p', 'error-meta');
  meta.append(element('code', '', err.code ?? box.dataset.errorType), ` · ${err.source ?? 'platform'}`);
  box.append(meta);
  keepScrolled(() => t.parts.append(box));
  setStatus('error');
}

/**
 * Stops the answer being streamed, like OctavusChat.stop(): the server stops
 * the execution (its platform request is cancelled), and the page stops
 * reading it.
 */
function stop() {
  if (status !== 'streaming' || !turn) {
    return;
  }
  // Name the execution: a stop arriving late must not stop the next one.
  const run = turn.runId === null ? '' : `&executionId=${encodeURIComponent(turn.runId)}`;
  void fetch(`/api/chat/stop?sessionId=${encodeURIComponent(sessionId)}${run}`, { method: 'POST' }).catch(() => {});
  settle(turn, 'stopped');
  setStatus('idle', 'Stopped.');
}

// ---------------------------------------------------------------------------
// Start

/**
 * Runs a trigger: shows the user's text (when there is one), starts the
 * answer and remembers it all for retry(). rollbackAfterMessageId is sent
 * only when given (a retry).
 */
function runTrigger(triggerName, input, text, rollbackAfterMessageId) {
  for (const button of ui.messages.querySelectorAll('.error-actions button')) {
    button.remove(); // an older error's way on is gone once the chat moved on
  }
  const userEl = text === undefined ? null : addUserMessage(text);
  const t = newTurn();
  turn = t;
  lastTrigger = {
    triggerName,
    input,
    text,
    // Until the start event tells: the last message the page knows.
    rollbackAfterMessageId: rollbackAfterMessageId === undefined ? lastMessageId : rollbackAfterMessageId,
    synced: false,
    userEl,
    turn: t,
  };
  const payload = { type: 'trigger', triggerName, input };
  if (rollbackAfterMessageId !== undefined) {
    payload.rollbackAfterMessageId = rollbackAfterMessageId;
  }
  void request(t, payload);
}

/** Sends a user message: the user-message trigger with USER_MESSAGE. */
function send(text) {
  if (sessionId === null || status === 'streaming' || status === 'awaiting-input') {
    return;
  }
  runTrigger('user-message', { USER_MESSAGE: text }, text);
}

/**
 * Retries the last trigger, like OctavusChat.retry(): the failed turn is
 * removed, and the trigger is sent again with rollbackAfterMessageId, so
 * that the platform drops what the failed try left.
 */
function retry() {
  const last = lastTrigger;
  if (!last || sessionId === null || status === 'streaming' || status === 'awaiting-input') {
    return;
  }
  last.userEl?.remove();
  last.turn.el.remove();
  runTrigger(last.triggerName, last.input, last.text, last.rollbackAfterMessageId);
}

ui.form.addEventListener('submit', (e) => {
  e.preventDefault();
  const text = ui.input.value.trim();
  if (text !== '') {
    ui.input.value = '';
    send(text);
  }
});
ui.stop.addEventListener('click', stop);
ui.newChat.addEventListener('click', () => void newChat());
ui.suggestions.addEventListener('click', (e) => {
  const button = e.target.closest('button[data-message]');
  if (button) {
    send(button.dataset.message);
  }
});

// ---------------------------------------------------------------------------
// History

/** Shows the messages of a kept session, as OctavusChat's initialMessages. */
function renderHistory(messages) {
  for (const m of messages) {
    if (m.role === 'user') {
      addUserMessage(m.parts.filter((p) => p.type === 'text').map((p) => p.text).join(''));
      continue;
    }
    const t = newTurn();
    t.fromHistory = true;
    for (const p of m.parts) {
      renderPart(t, p);
    }
    settle(t, 'done');
  }
  ui.scroller.scrollTop = ui.scroller.scrollHeight;
}

/** Shows one part of a kept assistant message (text, reasoning, tool calls). */
function renderPart(t, p) {
  switch (p.type) {
    case 'text':
    case 'reasoning': {
      const part = addTextPart(t, p.type);
      appendDelta(part, p.text);
      endTextPart(t, part);
      break;
    }
    case 'tool-call': {
      const tool = addTool(t, p.toolCallId, p.toolName, p.displayName);
      setToolArgs(tool, p.args);
      if (p.status === 'done') {
        setToolResult(tool, p.result);
      } else if (p.status === 'error') {
        setToolError(tool, p.error);
      }
      break;
    }
    default:
      // step-start, operation, source, file, object, worker, todo: not shown here.
      break;
  }
}

/** Keeps the session's messages as the server has them, after each answer. */
async function saveMessages() {
  const id = sessionId;
  try {
    const res = await fetch(`/api/sessions/${encodeURIComponent(id)}/messages`);
    if (!res.ok) {
      return;
    }
    const { messages } = await res.json();
    if (id === sessionId && Array.isArray(messages)) {
      keep({ sessionId: id, messages });
      lastMessageId = messages.at(-1)?.id ?? null;
      ui.chat.dataset.kept = String(messages.length);
    }
  } catch {
    // not kept this time; the next answer keeps them
  }
}

/** POSTs body as JSON and returns the JSON answer; a non-2xx answer throws. */
async function postJSON(url, body) {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (!res.ok) {
    throw new Error(await errorText(res));
  }
  return res.json();
}

/**
 * Shows an opened session: its messages, and a note when it was restored or
 * lost. When the session is still answering (a reload mid-answer), the
 * answer is followed from the start of its execution's log, as observe()
 * does; the answer in progress is left out of the history, which the log
 * rebuilds.
 */
async function showSession(opened, keptId) {
  sessionId = opened.sessionId;
  const messages = Array.isArray(opened.messages) ? opened.messages : [];
  keep({ sessionId, messages });
  lastMessageId = messages.at(-1)?.id ?? null;
  ui.chat.dataset.kept = String(messages.length);
  let how = opened.status;
  if (how === 'new' && keptId) {
    how = 'lost';
  }
  ui.chat.dataset.opened = how;
  ui.input.placeholder = 'Ask about an order…';
  const q = `sessionId=${encodeURIComponent(sessionId)}`;
  const current = how === 'active' ? await fetch(`/api/chat/status?${q}`).then((r) => (r.ok ? r.json() : {})) : {};
  const running = current.status === 'streaming';
  if (running && messages.at(-1)?.role === 'assistant') {
    messages.pop();
  }
  renderHistory(messages);
  if (running) {
    turn = newTurn();
    turn.runId = typeof current.executionId === 'string' ? current.executionId : null;
    ui.chat.dataset.resumed = 'true';
    setStatus('streaming');
    follow(turn, 0);
    return;
  }
  setStatus('idle', OPEN_NOTES[how]);
}

/** Empties the conversation and starts a new session. */
async function newChat() {
  if (status === 'connecting') {
    return;
  }
  turn?.source?.close();
  turn = null;
  lastTrigger = null;
  sessionId = null;
  ui.messages.textContent = '';
  ui.welcome.hidden = false;
  setStatus('connecting');
  try {
    const { sessionId: id } = await postJSON('/api/sessions', { input: {} });
    await showSession({ sessionId: id, status: 'new', messages: [] });
  } catch (err) {
    ui.input.placeholder = 'No session';
    setStatus('error', `Could not start a chat: ${err instanceof Error ? err.message : err}`);
  }
}

/** Opens the kept session (or a new one), then lets the person type. */
async function start() {
  setStatus('connecting');
  try {
    const info = await fetch('/api/info').then((r) => (r.ok ? r.json() : {}));
    const demo = info.platform === 'demo';
    ui.platform.textContent = demo ? 'demo platform' : 'Octavus platform';
    ui.platform.hidden = false;
    ui.suggestions.hidden = !demo;

    const { sessionId: keptId, messages } = kept();
    if (typeof keptId === 'string' && keptId !== '') {
      const opened = await postJSON(`/api/sessions/${encodeURIComponent(keptId)}/open`, {
        messages: Array.isArray(messages) ? messages : [],
      });
      await showSession(opened, keptId);
    } else {
      const { sessionId: id } = await postJSON('/api/sessions', { input: {} });
      await showSession({ sessionId: id, status: 'new', messages: [] });
    }
  } catch (err) {
    ui.input.placeholder = 'No session';
    setStatus('error', `Could not start a chat: ${err instanceof Error ? err.message : err}`);
  }
}

void start();
