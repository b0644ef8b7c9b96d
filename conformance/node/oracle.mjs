// Where the official SDKs at 6.4.0 are: the folder OCTAVUS_ORACLE_DIR names
// (relative to the working directory, conformance/ under `go test`), else
// ../shared/oracle beside the repository's root.

import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export function oracleDir() {
  if (process.env.OCTAVUS_ORACLE_DIR) {
    return path.resolve(process.env.OCTAVUS_ORACLE_DIR);
  }
  const here = path.dirname(fileURLToPath(import.meta.url)); // conformance/node
  return path.resolve(here, '..', '..', '..', 'shared', 'oracle');
}

// importOracle imports one of the oracle's modules, e.g. 'client-sdk-6.4.0.mjs'.
export function importOracle(file) {
  return import(pathToFileURL(path.join(oracleDir(), file)).href);
}
