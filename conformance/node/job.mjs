// What the scenario runners (run-scenario.mjs, run-worker.mjs) and the
// 2.0.0 HTTP chat driver (chat-client.mjs) share: reading the job from
// stdin and making a scenario's tool handlers.

// readStdin reads all of stdin as UTF-8.
export async function readStdin() {
  const chunks = [];
  for await (const chunk of process.stdin) {
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

// makeHandler builds the tool handler a scenario describes: wait delayMs,
// then throw new Error(error) when error is set, else return result
// (undefined when the key is absent, null when it is null).
export function makeHandler(spec) {
  const delayMs = typeof spec.delayMs === 'number' ? spec.delayMs : 0;
  const hasError = Object.prototype.hasOwnProperty.call(spec, 'error');
  const hasResult = Object.prototype.hasOwnProperty.call(spec, 'result');
  return async () => {
    if (delayMs > 0) {
      await sleep(delayMs);
    }
    if (hasError) {
      throw new Error(spec.error);
    }
    return hasResult ? spec.result : undefined;
  };
}
