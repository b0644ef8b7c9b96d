package octavus

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
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

// resultsMAC is the mac of executionID, the server results and the ids
// of the client calls handed to the browser (sorted, so the browser may
// answer them in any order).
func resultsMAC(key []byte, executionID string, results []ToolResult, clientIDs []string) ([]byte, error) {
	m := hmac.New(sha256.New, key)
	m.Write([]byte("octavus-go server results v2\x00"))
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
	m.Write([]byte{1})
	ids := slices.Clone(clientIDs)
	slices.Sort(ids)
	for _, id := range ids {
		m.Write([]byte(id))
		m.Write([]byte{0})
	}
	return m.Sum(nil)[:sigMACLen], nil
}

// canonicalResult is r's JSON in a form the browser's round trip cannot
// change: the canonical form of canonicalJSON.
func canonicalResult(r ToolResult) ([]byte, error) {
	b, err := marshalJSON(r)
	if err != nil {
		return nil, err
	}
	return canonicalJSON(b)
}

// signExecution returns executionID marked with the mac of the server
// results, or executionID itself when no key is set.
// client are the calls handed to the browser with them: a continue may
// answer only those.
func (s *AgentSession) signExecution(executionID string, results []ToolResult, client []PendingToolCall) (string, error) {
	key := s.c.signingKey
	if key == nil {
		return executionID, nil
	}
	ids := make([]string, len(client))
	for i, c := range client {
		ids[i] = c.ToolCallID
	}
	mac, err := resultsMAC(key, executionID, results, ids)
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
// event. A continue request must not answer one tool call id twice (a
// second result would reach the platform beside the first). With
// ClientOptions.ResultSigningKey set, it must also carry a signed
// executionId and send back, unchanged, the results of the server tools
// that its client-tool-request listed, plus results for exactly the client
// calls it listed: no result for an unknown call id. Without a key, the
// call ids are not known and only duplicates are refused.
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
	if err := checkCallIDs(cr.ToolResults); err != nil {
		return nil, err
	}
	key := s.c.signingKey
	if key == nil {
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
	var client []string
	tools, _ := s.toolSet()
	for _, r := range cr.ToolResults {
		if tools[r.ToolName] != nil {
			server = append(server, r)
		} else {
			client = append(client, r.ToolCallID)
		}
	}
	want, err := resultsMAC(key, id, server, client)
	if err != nil || !hmac.Equal(got, want) {
		return nil, errForged
	}
	cr.ExecutionID = id
	return cr, nil
}

// checkCallIDs refuses results that answer one tool call id twice.
func checkCallIDs(results []ToolResult) error {
	if len(results) < 2 {
		return nil
	}
	seen := make(map[string]struct{}, len(results))
	for _, r := range results {
		if _, dup := seen[r.ToolCallID]; dup {
			return badRequest("tool call %q is answered twice", r.ToolCallID)
		}
		seen[r.ToolCallID] = struct{}{}
	}
	return nil
}

// canonicalJSON is the canonical form of the JSON value data, the one
// both ends of the browser's round trip agree on: the value as
// JavaScript's JSON.stringify(JSON.parse(data)) writes it, with object keys
// sorted (by UTF-16 code units, as Array.prototype.sort compares). Numbers
// are read as IEEE doubles (so big integers lose precision as they do in
// the browser) and written as Number.prototype.toString does (jsNumber):
// -0 as 0, 1e21 and up and under 1e-6 in exponent form, and a number out of
// the double range (1e400) as null, as JSON.stringify writes Infinity.
// Strings are written as JSON.stringify writes them (only ", \ and control
// characters escaped; invalid UTF-8 is read as U+FFFD, as the browser's
// decoder does).
func canonicalJSON(data []byte) ([]byte, error) {
	d := json.NewDecoder(bytes.NewReader(data))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, err
	}
	if _, err := d.Token(); err != io.EOF {
		return nil, errors.New("octavus: canonical JSON: data after the value")
	}
	return appendCanonical(nil, v), nil
}

func appendCanonical(b []byte, v any) []byte {
	switch v := v.(type) {
	case nil:
		return append(b, "null"...)
	case bool:
		return strconv.AppendBool(b, v)
	case json.Number:
		f, err := strconv.ParseFloat(string(v), 64)
		if err != nil && !errors.Is(err, strconv.ErrRange) {
			return append(b, "null"...)
		}
		return appendJSNumber(b, f)
	case string:
		return appendJSString(b, v)
	case []any:
		b = append(b, '[')
		for i, e := range v {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendCanonical(b, e)
		}
		return append(b, ']')
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		slices.SortFunc(keys, compareUTF16)
		b = append(b, '{')
		for i, k := range keys {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSString(b, k)
			b = append(b, ':')
			b = appendCanonical(b, v[k])
		}
		return append(b, '}')
	}
	return append(b, "null"...)
}

// compareUTF16 orders strings by their UTF-16 code units, as JavaScript
// compares strings.
func compareUTF16(a, b string) int {
	ua, ub := utf16.Encode([]rune(a)), utf16.Encode([]rune(b))
	return slices.Compare(ua, ub)
}

// appendJSString writes s as JSON.stringify does: ", \ and the control
// characters under U+0020 escaped (\b \t \n \f \r, the others as
// \u00xx), everything else as itself.
func appendJSString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for _, c := range s { // invalid UTF-8 is read as U+FFFD
		switch {
		case c == '"':
			b = append(b, '\\', '"')
		case c == '\\':
			b = append(b, '\\', '\\')
		case c == '\b':
			b = append(b, '\\', 'b')
		case c == '\t':
			b = append(b, '\\', 't')
		case c == '\n':
			b = append(b, '\\', 'n')
		case c == '\f':
			b = append(b, '\\', 'f')
		case c == '\r':
			b = append(b, '\\', 'r')
		case c < 0x20:
			b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		default:
			b = utf8.AppendRune(b, c)
		}
	}
	return append(b, '"')
}

// appendJSNumber writes f as JSON.stringify does, the rules of
// Number.prototype.toString (ECMA-262 Number::toString): NaN and the
// infinities as null; zero, negative zero included, as 0; otherwise the
// shortest digits that read back as f (strconv's, the same as
// JavaScript's), with n the position of the decimal point: the integer
// digits padded with zeros when k <= n <= 21, a fraction when 0 < n <= 21
// or -6 < n <= 0, else the exponent form d.ddde+x / d.ddde-x.
func appendJSNumber(b []byte, f float64) []byte {
	switch {
	case math.IsNaN(f) || math.IsInf(f, 0):
		return append(b, "null"...)
	case f == 0:
		return append(b, '0')
	}
	if f < 0 {
		b = append(b, '-')
		f = -f
	}
	e := strconv.AppendFloat(nil, f, 'e', -1, 64) // d[.ddd]e±xx
	i := bytes.IndexByte(e, 'e')
	exp, _ := strconv.Atoi(string(e[i+1:]))
	digits := make([]byte, 0, i)
	for _, c := range e[:i] {
		if c != '.' {
			digits = append(digits, c)
		}
	}
	k, n := len(digits), exp+1
	switch {
	case k <= n && n <= 21:
		b = append(b, digits...)
		for j := k; j < n; j++ {
			b = append(b, '0')
		}
	case 0 < n && n <= 21:
		b = append(b, digits[:n]...)
		b = append(b, '.')
		b = append(b, digits[n:]...)
	case -6 < n && n <= 0:
		b = append(b, '0', '.')
		for j := 0; j < -n; j++ {
			b = append(b, '0')
		}
		b = append(b, digits...)
	default:
		b = append(b, digits[0])
		if k > 1 {
			b = append(b, '.')
			b = append(b, digits[1:]...)
		}
		b = append(b, 'e')
		if n-1 >= 0 {
			b = append(b, '+')
		}
		b = strconv.AppendInt(b, int64(n-1), 10)
	}
	return b
}
