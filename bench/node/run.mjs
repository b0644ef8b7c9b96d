// Runs one octavus bench job through the official @octavus/server-sdk:
// toSSEStream(session.execute(request)) against the bench's scripted
// platform, drained into a sink (byte count and CRC-32 of the output).
//
//   node bench/node/run.mjs '<job JSON>'
//
// job: {"modules": "<dir with @octavus/server-sdk>", "baseUrl": "...",
//       "apiKey": "...", "sessionId": "...", "request": {...}}
// or, instead of "modules", "sdkFile": "<the SDK as one ES module>" and
// "sdkVersion": "6.4.0" (the oracle bundle server-sdk-6.4.0.mjs).
//
// Prints one JSON line: {"seconds", "bytes", "crc", "sdkVersion",
// "heartbeats", "maxRssKiB"}. The clock starts before execute and stops
// when the stream is drained, so Node's start-up is not counted.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import zlib from 'node:zlib';

const job = JSON.parse(process.argv[2]);
let sdk, sdkVersion;
if (job.sdkFile) {
  // One ES module of the whole SDK (the oracle bundle of 6.4.0).
  sdk = await import(pathToFileURL(job.sdkFile).href);
  sdkVersion = job.sdkVersion;
} else {
  const pkgDir = join(job.modules, '@octavus', 'server-sdk');
  const pkg = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8'));
  sdk = await import(pathToFileURL(join(pkgDir, pkg.exports['.'].import)).href);
  sdkVersion = pkg.version;
}
const { OctavusClient, toSSEStream } = sdk;

const client = new OctavusClient({ baseUrl: job.baseUrl, apiKey: job.apiKey });
const session = client.agentSessions.attach(job.sessionId, {
  tools: { lookup: async () => ({ ok: true }) },
});

// The CRC is taken over 32 KiB pieces, as the Go clients' sink does, so
// that every client pays the same for it.
const crc32 = typeof zlib.crc32 === 'function' ? zlib.crc32 : null;
const piece = Buffer.allocUnsafe(32 << 10);
let filled = 0;
let crc = 0;
function sum() {
  if (crc32) crc = crc32(piece.subarray(0, filled), crc);
  filled = 0;
}
const t0 = process.hrtime.bigint();
const reader = toSSEStream(session.execute(job.request)).getReader();
let bytes = 0;
// toSSEStream enqueues ": heartbeat\n\n" as a chunk of its own every 15 s
// however fast events flow (octavus-go writes one only after 15 s without
// an event): a run that slow gets them between events. They are counted,
// not summed, so that the CRC compares the events.
const heartbeat = ': heartbeat\n\n';
let heartbeats = 0;
for (;;) {
  const { done, value } = await reader.read();
  if (done) break;
  if (value.length === heartbeat.length && Buffer.from(value).toString('latin1') === heartbeat) {
    heartbeats++;
    continue;
  }
  bytes += value.length;
  for (let off = 0; off < value.length; ) {
    const k = Math.min(value.length - off, piece.length - filled);
    piece.set(value.subarray(off, off + k), filled);
    filled += k;
    off += k;
    if (filled === piece.length) sum();
  }
}
sum();
const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
process.stdout.write(
  JSON.stringify({
    seconds,
    bytes,
    crc: crc32 ? crc >>> 0 : null,
    sdkVersion,
    heartbeats,
    maxRssKiB: process.resourceUsage().maxRSS,
  }) + '\n',
);
