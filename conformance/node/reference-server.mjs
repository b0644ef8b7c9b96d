// A Node port of examples/nethttp written with the official
// @octavus/server-sdk 2.0.0 (npm), as the docs' HTTP transport page writes
// the route. The app itself is node/reference-app.mjs, shared with
// node/reference-server-6.4.mjs; see there for the routes and the
// configuration.

import * as sdk from '@octavus/server-sdk';
import { runReferenceServer } from './reference-app.mjs';

runReferenceServer(sdk);
