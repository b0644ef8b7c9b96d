// Drives the official browser client at 6.4.0 (OctavusChat and
// createPollingTransport from the oracle build of @octavus/client-sdk, see
// node/oracle.mjs) against an app server that serves the polling routes of
// octavus-go's NewPollingHandler, the way a page would, and prints where
// the chat ended.
//
// Reads one JSON job on stdin:
//
//   {"url": "http://127.0.0.1:1234",   the app server: POST {url}/api/sessions
//                                      creates the session; the polling
//                                      routes are under {url}/api/chat/
//    "mode": "send" | "reload",
//    "sends": 1,                       mode "send": how many sends, one after the other
//    "triggerName": "user-message", "input": {...}, "userMessage": "Hi",
//    "timeoutMs": 20000}
//
// mode "send": one chat; chat.send(triggerName, input, {userMessage}) and
// wait until it settled (idle or error), "sends" times.
//
// mode "reload": a page refresh mid-answer. The first chat sends; once its
// assistant message has some text the page is gone: its polls never answer
// again (no onStop: a closed tab stops nothing) and the chat object is
// dropped. A NEW OctavusChat, whose initialMessages are the first chat's
// without the in-progress assistant message (as the observe() docs ask),
// calls observe() and waits until it settled. Its polls carry &page=2, so
// that the server can tell them from the first page's.
//
// Every poll is GET {url}/api/chat/poll?sessionId=...&cursor=N[&executionId=...][&page=2],
// the trigger POST {url}/api/chat/trigger {sessionId, triggerName, input},
// the stop POST {url}/api/chat/stop?sessionId=...&executionId=... (the
// execution the page watches, from the trigger's and the polls' answers;
// none before the first: send() calls onStop before each trigger);
// pollIntervalMs is 20.
//
// Writes one JSON object on stdout: {"sessionId", "status", "error" (null
// or the OctavusError's fields), "messages" (the last chat's messages),
// "statuses" (each status the last chat took), "polls" (the cursors polled,
// per page), "stops" (the executionId of each onStop, null for none),
// "firstPageMessages" (reload: the first chat's messages when
// the page was dropped)}. Exit code 0 unless the job could not be run; on
// timeout it prints the state so far on stderr and exits 2.

import { clone, runMain, stdinJob } from './chat-driver.mjs';
import { importOracle } from './oracle.mjs';

const { OctavusChat, OctavusError, createPollingTransport } = await importOracle('client-sdk-6.4.0.mjs');

function serializeError(err) {
  if (err === null || err === undefined) {
    return null;
  }
  if (OctavusError.isInstance(err)) {
    return err.toJSON();
  }
  return { name: err.name, message: err.message };
}

// waitFor resolves once check(chat) is true, watching chat.subscribe.
function waitFor(chat, check) {
  return new Promise((resolve) => {
    let unsubscribe = () => {};
    const look = () => {
      if (check(chat)) {
        unsubscribe();
        resolve();
      }
    };
    unsubscribe = chat.subscribe(look);
    look();
  });
}

const settled = (chat) => chat.status === 'idle' || chat.status === 'error';

runMain('polling-driver', async () => {
  const { job } = await stdinJob();
  const out = { sessionId: null, status: null, error: null, messages: [], statuses: [], polls: { 1: [], 2: [] }, stops: [], firstPageMessages: null };
  let chat = null;
  const snapshot = () => ({
    ...out,
    status: chat?.status ?? null,
    error: serializeError(chat?.error),
    messages: clone(chat?.messages ?? []),
  });
  const timer = setTimeout(() => {
    process.stderr.write(`polling-driver: timed out after ${job.timeoutMs} ms; state: ${JSON.stringify(snapshot())}\n`);
    process.exit(2);
  }, job.timeoutMs ?? 20000);

  const created = await fetch(`${job.url}/api/sessions`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ input: {} }),
  });
  if (!created.ok) {
    throw new Error(`POST /api/sessions: ${created.status} ${await created.text()}`);
  }
  const { sessionId } = await created.json();
  out.sessionId = sessionId;
  const base = `${job.url}/api/chat`;
  const q = `sessionId=${encodeURIComponent(sessionId)}`;

  // transport is one page's polling transport; gone() makes its polls
  // hang forever, as a closed tab's.
  const transport = (page) => {
    let isGone = false;
    let executionId = null; // the execution this page watches (NewPollingHandler's docs)
    const t = createPollingTransport({
      onTrigger: async (triggerName, input) => {
        const res = await (await fetch(`${base}/trigger`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json' },
          body: JSON.stringify({ sessionId, triggerName, input }),
        })).json();
        executionId = res.executionId ?? null;
        return res;
      },
      onPoll: async (cursor) => {
        if (isGone) {
          return new Promise(() => {});
        }
        out.polls[page].push(cursor);
        const exec = executionId === null ? '' : `&executionId=${encodeURIComponent(executionId)}`;
        const res = await fetch(`${base}/poll?${q}&cursor=${cursor}${exec}${page === 2 ? '&page=2' : ''}`);
        if (!res.ok) {
          throw new Error(`poll: ${res.status} ${await res.text()}`);
        }
        const result = await res.json();
        executionId = result.executionId ?? executionId;
        return result;
      },
      onStop: () => {
        // send() calls it before each trigger: name the execution to stop,
        // so that a late stop cannot stop the next one.
        out.stops.push(executionId);
        if (executionId === null) return;
        void fetch(`${base}/stop?${q}&executionId=${encodeURIComponent(executionId)}`, { method: 'POST' });
      },
      pollIntervalMs: 20,
    });
    return { transport: t, gone: () => { isGone = true; } };
  };

  const watchStatuses = (c) => {
    out.statuses = [c.status];
    c.subscribe(() => {
      if (c.status !== out.statuses[out.statuses.length - 1]) {
        out.statuses.push(c.status);
      }
    });
  };
  const sendOptions = job.userMessage !== undefined ? { userMessage: { content: job.userMessage } } : undefined;

  if (job.mode === 'send') {
    chat = new OctavusChat({ transport: transport(1).transport });
    watchStatuses(chat);
    for (let i = 0; i < (job.sends ?? 1); i++) {
      await chat.send(job.triggerName, job.input, sendOptions);
      await waitFor(chat, settled);
    }
  } else if (job.mode === 'reload') {
    const first = transport(1);
    const page1 = new OctavusChat({ transport: first.transport });
    void page1.send(job.triggerName, job.input, sendOptions);
    await waitFor(page1, (c) => {
      const last = c.messages[c.messages.length - 1];
      return last?.role === 'assistant' && last.parts.some((p) => p.type === 'text' && p.text !== '');
    });
    first.gone();
    out.firstPageMessages = clone(page1.messages);
    const initialMessages = page1.messages.filter((m, i) => !(i === page1.messages.length - 1 && m.role === 'assistant' && m.status === 'streaming'));
    chat = new OctavusChat({ transport: transport(2).transport, initialMessages });
    watchStatuses(chat);
    await chat.observe();
    await waitFor(chat, settled);
  } else {
    throw new Error(`unknown mode ${JSON.stringify(job.mode)}`);
  }

  clearTimeout(timer);
  process.stdout.write(`${JSON.stringify(snapshot())}\n`, () => process.exit(0));
});
