// Package conformance holds the conformance suite of octavus-go.
//
// Every scenario in scenarios/ (plus, when OCTAVUS_CONFORMANCE_DIR is set,
// every *.json file of that folder) is played twice against a scripted
// platform: once through the official Node package @octavus/server-sdk@2.0.0
// (node/run-scenario.mjs) and once through octavus-go. The SSE payloads each
// SDK wrote and the trigger bodies each SDK posted must match. The format of
// a scenario is described in README.md.
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
