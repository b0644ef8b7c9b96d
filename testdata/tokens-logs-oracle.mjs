// Runs the official server SDK 6.4.0's tokens.mint/revoke,
// agentSessions.clear/getLogs, getSessionUrl/getAgentUrl and the skill and
// MCP tool constants against the platform at <baseUrl> (the Go test's
// httptest server), and prints what each call gave, so that
// tokens_logs_oracle_test.go can compare octavus-go with it.
//
// Usage: node testdata/tokens-logs-oracle.mjs <server-sdk-6.4.0.mjs> <baseUrl>
//
// Regenerate the committed golden with:
//   OCTAVUS_UPDATE_GOLDEN=1 go test -run TestTokensLogsOracle .
import { pathToFileURL } from 'node:url';
import { resolve } from 'node:path';

const [oracle, baseUrl] = process.argv.slice(2);
if (!oracle || !baseUrl) {
  console.error('usage: node tokens-logs-oracle.mjs <server-sdk-6.4.0.mjs> <baseUrl>');
  process.exit(2);
}
const sdk = await import(pathToFileURL(resolve(oracle)).href);

let n = 0;
const client = new sdk.OctavusClient({
  baseUrl: baseUrl + '/',
  apiKey: async () => `rotating-${++n}`,
  traceModelRequests: true,
  maxRetries: 0,
});

const calls = [
  ['mint scoped', () => client.tokens.mint({ agentId: 'agent_1', sessionId: 'sess_1', ttlSeconds: 3600 })],
  ['mint agent only', () => client.tokens.mint({ agentId: 'agent_2' })],
  ['mint bad answer', () => client.tokens.mint({ agentId: 'agent_bad' })],
  ['mint forbidden', () => client.tokens.mint({ agentId: 'agent_403' })],
  ['revoke live', () => client.tokens.revoke('oct_et_live')],
  ['revoke gone', () => client.tokens.revoke('oct_et_gone')],
  ['revoke bad answer', () => client.tokens.revoke('oct_et_badjti')],
  ['clear', () => client.agentSessions.clear('sess_1')],
  ['clear bad answer', () => client.agentSessions.clear('sess_bad')],
  ['logs', () => client.agentSessions.getLogs('sess_1')],
  ['logs without model requests', () => client.agentSessions.getLogs('sess_1', { excludeModelRequests: true })],
  ['logs expired', () => client.agentSessions.getLogs('sess_exp')],
  ['logs expired with entries', () => client.agentSessions.getLogs('sess_exp_entries')],
  ['logs bad entry', () => client.agentSessions.getLogs('sess_badentry')],
  ['logs bad total', () => client.agentSessions.getLogs('sess_badtotal')],
];

const results = [];
for (const [name, call] of calls) {
  try {
    results.push({ name, accepted: true, value: await call() });
  } catch (err) {
    results.push({ name, accepted: false, status: err.status ?? 0 });
  }
}

const urlClient = new sdk.OctavusClient({ baseUrl: 'https://octavus.example/' });
const names = Object.values(sdk.OCTAVUS_SKILL_TOOLS).concat(Object.values(sdk.OCTAVUS_MCP_TOOLS), [
  'octavus_reference_list', 'octavus_web_search', 'octavus_skill', 'get-user', '',
]);
console.log(JSON.stringify({
  results,
  urls: { session: urlClient.getSessionUrl('sess_1'), agent: urlClient.getAgentUrl('agent_1') },
  skillTools: Object.values(sdk.OCTAVUS_SKILL_TOOLS),
  mcpTools: Object.values(sdk.OCTAVUS_MCP_TOOLS),
  guards: Object.fromEntries(names.map((t) => [t, { skill: sdk.isOctavusSkillTool(t), mcp: sdk.isOctavusMcpTool(t) }])),
}, null, 2));
