package octavus

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
)

// Signed server tool results (ClientOptions.ResultSigningKey).
//
// When an execution hands client tools to the browser, the browser keeps
// the server tools' results of that round and sends them back, with its own
// results, in the continue request. Without a signature it could change
// them. With a key, the executionId handed to the browser is
//
//	<platform executionId>~<mac>
//
// where mac is the base64url HMAC-SHA256 (first 16 bytes) of the platform
// executionId and the canonical JSON of the server results. The official
// client SDK treats the executionId as opaque and returns it as it is. On
// continue, the results for tools that have a handler are checked against
// the mac, and the mark is removed before the platform sees the id.

const (
	sigSep    = "~"
	sigMACLen = 16
	sigLen    = 22 // base64url (no padding) of sigMACLen bytes
)

// resultsMAC is the mac of executionID and results.
func resultsMAC(key []byte, executionID string, results []ToolResult) ([]byte, error) {
	m := hmac.New(sha256.New, key)
	m.Write([]byte("octavus-go server results v1\x00"))
	m.Write([]byte(executionID))
	m.Write([]byte{0})
	for _, r := range results {
		b, err := canonicalResult(r)
		if err != nil {
			return nil, err
		}
		m.Write(b)
		m.Write([]byte{0})
	}
	return m.Sum(nil)[:sigMACLen], nil
}

// canonicalResult is r's JSON in a form the browser's round trip cannot
// change: decoded to plain values (numbers as float64, as JavaScript reads
// them) and encoded again with sorted keys.
func canonicalResult(r ToolResult) ([]byte, error) {
	b, err := marshalJSON(r)
	if err != nil {
		return nil, err
	}
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return nil, err
	}
	return marshalJSON(v)
}

// signExecution returns executionID marked with the mac of the server
// results, or executionID itself when no key is set.
func (s *AgentSession) signExecution(executionID string, results []ToolResult) (string, error) {
	key := s.c.signingKey
	if key == nil {
		return executionID, nil
	}
	mac, err := resultsMAC(key, executionID, results)
	if err != nil {
		return "", err
	}
	return executionID + sigSep + base64.RawURLEncoding.EncodeToString(mac), nil
}

// errForged is the answer to a continue request whose server results do
// not match their signature. It does not say what differs.
var errForged = &RequestError{Status: http.StatusBadRequest, Message: "tool results do not match the execution (signature check failed)"}

// CheckRequest checks req as Execute would before calling the platform, and
// returns the *RequestError (status 400) Execute would report as an error
// event. Today that is the signature check of ClientOptions.ResultSigningKey:
// with a key set, a continue request must carry a signed executionId and
// send back, unchanged, the results of the server tools that its
// client-tool-request listed. Without a key it returns nil.
//
// AgentSessionsAPI.Handler calls it and answers 400 without streaming; call
// it yourself when you serve Execute another way.
func (s *AgentSession) CheckRequest(req SessionRequest) error {
	_, err := s.verified(req)
	return err
}

// verified returns req with the signature mark removed from its
// executionId, after checking it (see CheckRequest).
func (s *AgentSession) verified(req SessionRequest) (SessionRequest, error) {
	key := s.c.signingKey
	if key == nil {
		return req, nil
	}
	var cr ContinueRequest
	switch r := req.(type) {
	case ContinueRequest:
		cr = r
	case *ContinueRequest:
		if r == nil {
			return req, nil
		}
		cr = *r
	default:
		return req, nil
	}
	i := strings.LastIndex(cr.ExecutionID, sigSep)
	if i < 0 || len(cr.ExecutionID)-i-len(sigSep) != sigLen {
		return nil, errForged
	}
	got, err := base64.RawURLEncoding.DecodeString(cr.ExecutionID[i+len(sigSep):])
	if err != nil {
		return nil, errForged
	}
	id := cr.ExecutionID[:i]
	var server []ToolResult
	tools, _ := s.toolSet()
	for _, r := range cr.ToolResults {
		if tools[r.ToolName] != nil {
			server = append(server, r)
		}
	}
	want, err := resultsMAC(key, id, server)
	if err != nil || !hmac.Equal(got, want) {
		return nil, errForged
	}
	cr.ExecutionID = id
	return cr, nil
}
