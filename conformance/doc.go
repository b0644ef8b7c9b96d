// Package conformance holds the conformance suite of octavus-go.
//
// Every scenario in scenarios/ (plus, when OCTAVUS_CONFORMANCE_DIR is set,
// every *.json file of that folder) is played through octavus-go and
// through the official Node SDK against a scripted platform, and the SSE
// payloads each SDK wrote and the trigger bodies each SDK posted must match.
// The references are the official @octavus/server-sdk@6.4.0 (the oracle
// bundle in $OCTAVUS_ORACLE_DIR or ../shared/oracle, live when it is there,
// and always its recording in recorded/), and the npm 2.0.0 package for the
// scenarios where both versions agree (node/run-scenario.mjs runs either).
// The format of a scenario and of a recording is described in README.md;
// -update-recordings rewrites the recordings from the live oracle.
//
// TestClientChat goes one step further: the official browser client
// (@octavus/client-sdk OctavusChat, in Node) chats with the example
// examples/nethttp and with a Node port of it written with the reference
// SDK (node/reference-server.mjs), and both chats must end with the same
// UIMessages.
//
// Run it with:
//
//	go test ./conformance/...
//
// The package has no API of its own: everything lives in its tests.
package conformance
