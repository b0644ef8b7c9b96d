// The chat page: plain JavaScript that speaks the HTTP transport of
// @octavus/client-sdk, without the SDK.
//
// Like createHttpTransport it POSTs to /api/trigger
//   {sessionId, type: "trigger", triggerName: "user-message", input: {USER_MESSAGE}}
// and, once the person answered the client tools of a client-tool-request,
//   {sessionId, type: "continue", executionId, toolResults: [...serverToolResults, ...clientResults]}
// and reads the Server-Sent Events of the answer with fetch and a
// ReadableStream: each "data: <json>" line is one event, "data: [DONE]" ends
// the stream. Like OctavusChat it builds the assistant's message from the
// events (text, reasoning, tool calls), stops with an AbortController and
// turns an error event into an error the page shows.

/** Client tools the person answers in the page, like clientTools: {name: 'interactive'}. */
const INTERACTIVE_TOOLS = new Set(['confirm-refund']);

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
/** Aborts the request in flight. */
let controller = null;

// ---------------------------------------------------------------------------
// Status and layout

/** Sets the chat status (and the status line: note, or the status's text). */
function setStatus(next, note) {
  status = next;
  ui.chat.dataset.status = next;
  // While the agent waits for the person, the prompt is the way on: no
  // new message, and no Stop (as in the SDK docs), so that the execution is
  // never left waiting for tool results.
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
  const { parts } = addMessage('user');
  const part = element('li', 'part text', text);
  keepScrolled(() => parts.append(part));
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
    executionId: null,
    serverToolResults: [],
    results: [], // this leg's client tool results
    pending: new Set(), // toolCallIds waiting for the person
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
function addTool(t, toolCallId, toolName, title) {
  const el = ui.toolTemplate.content.firstElementChild.cloneNode(true);
  el.dataset.toolCallId = toolCallId;
  el.dataset.toolName = toolName;
  el.querySelector('.tool-name').textContent = title || toolName;
  el.querySelector('.tool-id').textContent = toolName;
  const tool = { toolCallId, toolName, el, status: 'pending' };
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

/** Shows the Confirm / Decline prompt of an interactive client tool. */
function askPerson(t, tool, call) {
  t.pending.add(call.toolCallId);
  const prompt = tool.el.querySelector('.tool-prompt');
  const args = call.args ?? {};
  prompt.querySelector('.tool-question').textContent =
    typeof args.question === 'string' ? args.question : `Allow ${call.toolName}?`;
  for (const button of prompt.querySelectorAll('button')) {
    button.disabled = true; // until the leg finished: see setStatus
    button.onclick = () => answer(t, call, { result: { confirmed: button.dataset.action === 'confirm' } });
  }
  setToolStatus(tool, 'running', 'waiting for you');
  keepScrolled(() => {
    prompt.hidden = false;
  });
}

/** Records a client tool's outcome ({result} or {error}) as OctavusChat does. */
function completeClientTool(t, call, outcome) {
  t.results.push({
    toolCallId: call.toolCallId,
    toolName: call.toolName,
    result: outcome.error === undefined ? outcome.result : undefined,
    error: outcome.error,
    outputVariable: call.outputVariable,
    blockIndex: call.blockIndex,
  });
  const tool = toolFor(t, call.toolCallId, call.toolName);
  if (outcome.error !== undefined) {
    setToolError(tool, outcome.error);
  } else {
    setToolResult(tool, outcome.result);
  }
}

/** The person answered a prompt; once all are answered, continue. */
function answer(t, call, outcome) {
  if (t !== turn || status !== 'awaiting-input' || !t.pending.has(call.toolCallId)) {
    return;
  }
  t.pending.delete(call.toolCallId);
  toolFor(t, call.toolCallId).el.querySelector('.tool-prompt').hidden = true;
  completeClientTool(t, call, outcome);
  if (t.pending.size === 0) {
    continueTurn(t);
  }
}

/** Sends the continue request: the server results, then the client ones. */
function continueTurn(t) {
  const toolResults = [...t.serverToolResults, ...t.results];
  t.serverToolResults = [];
  t.results = [];
  void request(t, { type: 'continue', executionId: t.executionId, toolResults });
}

// ---------------------------------------------------------------------------
// Events

/**
 * Applies one stream event to the turn. leg.ended is set by the events that
 * end a leg (finish, error); a true return value stops reading.
 */
function handleEvent(t, leg, ev) {
  switch (ev.type) {
    case 'start':
      t.executionId = ev.executionId ?? t.executionId;
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
      break;
    }
    case 'tool-output-available':
      setToolResult(toolFor(t, ev.toolCallId), ev.output);
      break;
    case 'tool-output-error':
      setToolError(toolFor(t, ev.toolCallId), ev.error);
      break;
    case 'client-tool-request':
      t.executionId = ev.executionId ?? t.executionId;
      t.serverToolResults = ev.serverToolResults ?? [];
      for (const call of ev.toolCalls ?? []) {
        const tool = toolFor(t, call.toolCallId, call.toolName);
        if (INTERACTIVE_TOOLS.has(call.toolName)) {
          askPerson(t, tool, call);
        } else {
          completeClientTool(t, call, { error: `No client handler for tool: ${call.toolName}` });
        }
      }
      break;
    case 'finish':
      leg.ended = true;
      if (ev.finishReason === 'client-tool-calls') {
        if (t.pending.size > 0) {
          setStatus('awaiting-input');
        } else {
          leg.continueAfter = true;
        }
      } else {
        settle(t, 'done');
        setStatus('idle');
      }
      break;
    case 'error':
      leg.ended = true;
      fail(t, ev);
      return true;
    default:
      // block-start, resource-update, source, file-available, ...: not shown here.
      break;
  }
  return false;
}

/**
 * Reads a text/event-stream body, calling onEvent with each parsed event
 * until "data: [DONE]", the end of the body, or onEvent returning true.
 */
async function readEvents(body, onEvent) {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) {
        return;
      }
      buffer += decoder.decode(value, { stream: true });
      const lines = buffer.split('\n');
      buffer = lines.pop() ?? '';
      for (const raw of lines) {
        const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
        if (!line.startsWith('data: ')) {
          continue;
        }
        const data = line.slice('data: '.length);
        if (data === '[DONE]') {
          return;
        }
        let ev;
        try {
          ev = JSON.parse(data);
        } catch {
          continue; // not an event: skipped, as the SDK does
        }
        if (ev !== null && typeof ev === 'object' && typeof ev.type === 'string' && onEvent(ev)) {
          return;
        }
      }
    }
  } finally {
    reader.cancel().catch(() => {});
  }
}

/** POSTs one request of the turn to /api/trigger and applies its events. */
async function request(t, payload) {
  const ac = new AbortController();
  controller = ac;
  setStatus('streaming');
  const leg = { ended: false, continueAfter: false };
  try {
    const res = await fetch('/api/trigger', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ sessionId, ...payload }),
      signal: ac.signal,
    });
    if (!res.ok) {
      throw new Error(await errorText(res));
    }
    if (!res.body) {
      throw new Error('Response body is empty');
    }
    await readEvents(res.body, (ev) => t.settled || ac.signal.aborted || handleEvent(t, leg, ev));
  } catch (err) {
    if (!ac.signal.aborted && !t.settled) {
      fail(t, {
        errorType: 'internal_error',
        message: err instanceof Error ? err.message : 'Unknown error',
        source: 'client',
        retryable: false,
      });
    }
    return;
  } finally {
    if (controller === ac) {
      controller = null;
    }
  }
  if (t.settled || ac.signal.aborted) {
    return;
  }
  if (leg.continueAfter) {
    continueTurn(t);
  } else if (!leg.ended) {
    // The stream ended without finish or error: keep what came.
    settle(t, 'done');
    setStatus('idle');
  }
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
}

/** Ends the turn with an error event (or an error of the request itself). */
function fail(t, err) {
  settle(t, 'error');
  const box = element('li', 'part error');
  box.setAttribute('role', 'alert');
  box.dataset.testid = 'error';
  box.dataset.errorType = err.errorType ?? 'unknown_error';
  box.dataset.retryable = String(Boolean(err.retryable));
  box.append(element('strong', 'error-title', 'Something went wrong'), element('p', 'error-message', err.message || 'Unknown error'));
  let hint = err.retryable ? 'Retryable: try again' : 'Not retryable';
  if (err.retryable && typeof err.retryAfter === 'number') {
    hint += ` in ${err.retryAfter} s`;
  }
  hint += '.';
  const meta = element('p', 'error-meta');
  meta.append(element('code', '', box.dataset.errorType), ` · ${err.source ?? 'platform'} · `, element('span', 'error-retry', hint));
  box.append(meta);
  keepScrolled(() => t.parts.append(box));
  setStatus('error');
}

/** Stops the answer being streamed, like OctavusChat.stop(). */
function stop() {
  if (status !== 'streaming') {
    return;
  }
  controller?.abort();
  controller = null;
  if (turn) {
    settle(turn, 'stopped');
  }
  setStatus('idle', 'Stopped.');
}

// ---------------------------------------------------------------------------
// Start

/** Sends a user message: the user-message trigger with USER_MESSAGE. */
function send(text) {
  if (sessionId === null || status === 'streaming' || status === 'awaiting-input') {
    return;
  }
  addUserMessage(text);
  turn = newTurn();
  void request(turn, { type: 'trigger', triggerName: 'user-message', input: { USER_MESSAGE: text } });
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
ui.suggestions.addEventListener('click', (e) => {
  const button = e.target.closest('button[data-message]');
  if (button) {
    send(button.dataset.message);
  }
});

/** Creates the chat's session, then lets the person type. */
async function start() {
  setStatus('connecting');
  try {
    const info = await fetch('/api/info').then((r) => (r.ok ? r.json() : {}));
    const demo = info.platform === 'demo';
    ui.platform.textContent = demo ? 'demo platform' : 'Octavus platform';
    ui.platform.hidden = false;
    ui.suggestions.hidden = !demo;

    const res = await fetch('/api/sessions', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ input: {} }),
    });
    if (!res.ok) {
      throw new Error(await errorText(res));
    }
    ({ sessionId } = await res.json());
    ui.input.placeholder = 'Ask about an order…';
    setStatus('idle');
  } catch (err) {
    ui.input.placeholder = 'No session';
    setStatus('error', `Could not start a chat: ${err instanceof Error ? err.message : err}`);
  }
}

void start();
