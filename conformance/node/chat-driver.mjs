// The OctavusChat driving loop the chat drivers share (chat-client.mjs and
// socket-client.mjs for the 2.0.0 client, chat-client-6.4.mjs for 6.4.0):
// the transports, the client tools, stop, settle, and printing the end
// state. Each driver passes its client version's OctavusChat and
// OctavusError and says what differs (see runChat); the job and output are
// described in each driver.

import readline from 'node:readline';

export function clone(value) {
  return value === undefined ? undefined : JSON.parse(JSON.stringify(value));
}

function serializeError(OctavusError, err) {
  if (err === null || err === undefined) {
    return null;
  }
  if (OctavusError.isInstance(err)) {
    return err.toJSON();
  }
  return { name: err.name, message: err.message };
}

// stdinJob reads the job from the first line of stdin. Its holdOpen, when
// the job asks for it, says "settled" on stdout and waits for a line (or
// the end) of stdin before the socket is closed: the test first waits until
// the platform has answered every request, so that closing the socket
// cannot cancel an answer still being read (the end of a stream after its
// finish event).
export async function stdinJob() {
  const lines = readline.createInterface({ input: process.stdin })[Symbol.asyncIterator]();
  const { value, done } = await lines.next();
  if (done) {
    throw new Error('no job on stdin');
  }
  const job = JSON.parse(value);
  const holdOpen = async () => {
    if (job.holdOpen) {
      process.stdout.write('settled\n');
      await lines.next();
    }
  };
  return { job, holdOpen };
}

// httpTransport creates the session with POST {url}/api/sessions (or uses
// job.sessionId in place of the one created) and returns the docs' HTTP
// transport, posting each request to {url}/api/trigger with the sessionId
// and forwarding the signal so that stop() aborts the HTTP request.
export async function httpTransport(createHttpTransport, job, out) {
  const created = await fetch(`${job.url}/api/sessions`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ input: job.sessionInput ?? {} }),
  });
  if (!created.ok) {
    throw new Error(`POST /api/sessions: ${created.status} ${await created.text()}`);
  }
  let { sessionId } = await created.json();
  if (job.sessionId !== undefined) {
    sessionId = job.sessionId;
  }
  out.sessionId = sessionId;
  const transport = createHttpTransport({
    request: (payload, options) => {
      out.requests.push(clone(payload));
      return fetch(`${job.url}/api/trigger`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ sessionId, ...payload }),
        signal: options?.signal,
      });
    },
  });
  return { transport, close: async () => {} };
}

// socketTransport returns the docs' socket transport over a `ws` WebSocket
// (the docs' native WebSocket connect), recording the traffic in out.sent,
// out.received (then calling onMessage, if any, with each message) and
// out.connectionStates. Its close leaves as a page does, and lets the close
// handshake finish so that the server sees a clean close.
export async function socketTransport(createSocketTransport, job, out, onMessage) {
  const { default: WebSocket } = await import('ws');
  out.sent = [];
  out.received = [];
  out.connectionStates = [];
  let sock = null; // the open WebSocket, to wait for its close at the end
  const transport = createSocketTransport({
    connect: () =>
      new Promise((resolve, reject) => {
        const ws = new WebSocket(job.url);
        ws.onopen = () => {
          const send = ws.send.bind(ws);
          ws.send = (data) => {
            const msg = JSON.parse(data);
            out.sent.push(msg);
            if (msg.type === 'trigger' || msg.type === 'continue') {
              out.requests.push(msg);
            }
            send(data);
          };
          sock = ws;
          resolve(ws);
        };
        ws.onerror = (e) => reject(new Error(`WebSocket connection failed: ${e.message}`));
      }),
    onMessage: (data) => {
      out.received.push(clone(data));
      onMessage?.(data);
    },
  });
  transport.onConnectionStateChange((state) => out.connectionStates.push(state));
  const close = async () => {
    if (sock !== null && sock.readyState !== WebSocket.CLOSED) {
      const closed = new Promise((resolve) => sock.once('close', resolve));
      transport.disconnect();
      await closed;
    }
  };
  return { transport, close };
}

// runChat runs the job's sends through a new OctavusChat and prints the end
// state (out, with the chat's status, error and messages) on stdout, then
// exits 0; on timeout it prints the state so far on stderr and exits 2.
//
//   name          the driver, for messages
//   OctavusChat, OctavusError   the client version's
//   connect       async () => {transport, close}: called once the timer is
//                 running; close() runs after the last send has settled
//   beforeAutomaticTool   optional: awaited before each automatic client
//                 tool handler answers
//   retry         whether {"retry": true} sends mean chat.retry() (6.4.0);
//                 out.canRetry gets chat.canRetry before each
export async function runChat({ name, job, out, OctavusChat, OctavusError, connect, beforeAutomaticTool, retry }) {
  let chat = null;
  const snapshot = () => ({
    ...out,
    status: chat?.status ?? null,
    error: serializeError(OctavusError, chat?.error),
    messages: clone(chat?.messages ?? []),
  });

  const timer = setTimeout(() => {
    process.stderr.write(`${name}: timed out after ${job.timeoutMs} ms; state: ${JSON.stringify(snapshot())}\n`);
    process.exit(2);
  }, job.timeoutMs ?? 20000);

  const conn = await connect();

  // A client tool is an automatic handler that returns `result` or throws
  // `error`, or with `interactive` the string 'interactive' (answered below).
  const clientTools = {};
  for (const [toolName, spec] of Object.entries(job.clientTools ?? {})) {
    if (spec.interactive) {
      clientTools[toolName] = 'interactive';
      continue;
    }
    clientTools[toolName] = async (args, ctx) => {
      if (beforeAutomaticTool) {
        await beforeAutomaticTool();
      }
      out.clientToolCalls.push({ toolCallId: ctx.toolCallId, toolName: ctx.toolName, args: clone(args) });
      if (Object.prototype.hasOwnProperty.call(spec, 'error')) {
        throw new Error(spec.error);
      }
      return spec.result;
    };
  }

  chat = new OctavusChat({
    transport: conn.transport,
    clientTools,
    onFinish: () => out.callbacks.push('finish'),
    onStop: () => out.callbacks.push('stop'),
    onError: (err) => out.callbacks.push(`error:${err.errorType}`),
  });

  out.statuses.push(chat.status);
  let stopArmed = false; // the current send stops on its first text delta
  const answered = new Set(); // interactive toolCallIds already answered
  const waiters = new Set();
  chat.subscribe(() => {
    if (chat.status !== out.statuses[out.statuses.length - 1]) {
      out.statuses.push(chat.status);
    }
    if (stopArmed && chat.status === 'streaming') {
      const last = chat.messages[chat.messages.length - 1];
      if (last?.role === 'assistant' && last.parts.some((p) => p.type === 'text' && p.text !== '')) {
        stopArmed = false;
        setImmediate(() => {
          out.stopped = true;
          chat.stop();
        });
      }
    }
    if (chat.status === 'awaiting-input') {
      for (const [toolName, tools] of Object.entries(chat.pendingClientTools)) {
        const spec = job.clientTools?.[toolName] ?? {};
        for (const tool of tools) {
          if (answered.has(tool.toolCallId)) {
            continue;
          }
          answered.add(tool.toolCallId);
          setImmediate(() => {
            out.clientToolCalls.push({ toolCallId: tool.toolCallId, toolName: tool.toolName, args: clone(tool.args) });
            if (Object.prototype.hasOwnProperty.call(spec, 'error')) {
              tool.cancel(spec.error);
            } else {
              tool.submit(spec.result);
            }
          });
        }
      }
    }
    for (const check of waiters) {
      check();
    }
  });

  // settled resolves once the chat is idle or in error.
  const settled = () =>
    new Promise((resolve) => {
      const check = () => {
        if (chat.status === 'idle' || chat.status === 'error') {
          waiters.delete(check);
          resolve();
        }
      };
      waiters.add(check);
      check();
    });

  for (const send of job.sends ?? []) {
    if (retry && send.retry) {
      out.canRetry.push(chat.canRetry);
      await chat.retry();
      await settled();
      continue;
    }
    const options = send.userMessage !== undefined ? { userMessage: { content: send.userMessage } } : undefined;
    stopArmed = Boolean(send.stopOnFirstTextDelta);
    await chat.send(send.triggerName, send.input, options);
    await settled();
    stopArmed = false;
  }

  await conn.close();
  clearTimeout(timer);
  const result = JSON.stringify(snapshot());
  process.stdout.write(`${result}\n`, () => process.exit(0));
}

// runMain runs main, and on an error prints it on stderr and exits 1.
export function runMain(name, main) {
  main().catch((err) => {
    process.stderr.write(`${name}: ${err && err.stack ? err.stack : String(err)}\n`);
    process.exit(1);
  });
}
