// Runs the official SDK's error helpers (@octavus/server-sdk 6.4.0:
// createApiErrorEvent and the is...Error guards) and prints what they give,
// so that errors_oracle_test.go can compare NewAPIErrorEvent and the Go
// guards with them.
//
// Usage: node testdata/errors-oracle.mjs <server-sdk-6.4.0.mjs>
//
// Regenerate the committed golden with:
//   OCTAVUS_UPDATE_GOLDEN=1 go test -run TestErrorOracleFresh .
import { pathToFileURL } from 'node:url';
import { resolve } from 'node:path';

const oracle = process.argv[2];
if (!oracle) {
  console.error('usage: node errors-oracle.mjs <server-sdk-6.4.0.mjs>');
  process.exit(2);
}
const sdk = await import(pathToFileURL(resolve(oracle)).href);

const guards = (err) => ({
  rateLimit: sdk.isRateLimitError(err),
  quotaExceeded: sdk.isQuotaExceededError(err),
  authentication: sdk.isAuthenticationError(err),
  provider: sdk.isProviderError(err),
  tool: sdk.isToolError(err),
  retryable: sdk.isRetryableError(err),
  validation: sdk.isValidationError(err),
});

const statuses = [0, 200, 302, 400, 401, 402, 403, 404, 408, 409, 410, 422, 428, 429, 430, 499, 500, 501, 502, 503, 504, 599];
const apiErrors = statuses.map((status) => {
  const event = sdk.createApiErrorEvent(status, 'msg');
  const { type, ...opts } = event;
  return JSON.stringify({ status, event: JSON.stringify(event), guards: guards(new sdk.OctavusError(opts)) });
});

const errorTypes = [
  'authentication_error', 'permission_error', 'validation_error', 'not_found_error',
  'rate_limit_error', 'quota_exceeded_error', 'provider_error', 'provider_overloaded',
  'provider_timeout', 'execution_error', 'tool_error', 'protocol_error', 'internal_error',
  'unknown_error', 'unsupported_error',
];
const sources = ['platform', 'provider', 'tool', 'client'];
const octavusErrors = [];
for (const errorType of errorTypes) {
  for (const source of sources) {
    for (const retryable of [false, true]) {
      const err = new sdk.OctavusError({ errorType, source, retryable, message: 'm' });
      octavusErrors.push(JSON.stringify({ errorType, source, retryable, guards: guards(err) }));
    }
  }
}

process.stdout.write(
  '{"oracle":"@octavus/server-sdk 6.4.0 createApiErrorEvent and guards",\n' +
    '"regenerate":"OCTAVUS_UPDATE_GOLDEN=1 go test -run TestErrorOracleFresh .",\n' +
    '"apiErrors":[\n' + apiErrors.join(',\n') + '\n],\n' +
    '"octavusErrors":[\n' + octavusErrors.join(',\n') + '\n]}\n',
);
