// node/reference-server.mjs on the official @octavus/server-sdk 6.4.0 (the
// oracle build, see node/oracle.mjs): the same Node port of
// examples/nethttp (node/reference-app.mjs). OCTAVUS_MAX_RETRIES sets the
// client's maxRetries as the example reads it (-1 or 0: no retries; unset:
// 6.4.0's default of 2).

import { importOracle } from './oracle.mjs';
import { runReferenceServer } from './reference-app.mjs';

const clientConfig = {};
if (process.env.OCTAVUS_MAX_RETRIES) {
  clientConfig.maxRetries = Math.max(0, Number(process.env.OCTAVUS_MAX_RETRIES));
}
const sdk = await importOracle('server-sdk-6.4.0.mjs');
runReferenceServer(sdk, { name: 'reference-server-6.4', clientConfig });
