package octavus

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzReadRequest feeds ReadRequest arbitrary bodies. It must never panic,
// and must either refuse with a 4xx *RequestError or return a request that
// survives a round trip: encoded as the browser would send it and read
// again, it is the same request.
func FuzzReadRequest(f *testing.F) {
	for _, s := range []string{
		`{"sessionId":"s","type":"trigger","triggerName":"user-message","input":{"USER_MESSAGE":"hi"}}`,
		`{"sessionId":"s","triggerName":"t"}`,
		`{"sessionId":"s","type":"trigger","triggerName":"t","input":null}`,
		`{"sessionId":"s","type":"continue","executionId":"e","toolResults":[]}`,
		`{"sessionId":"s","type":"continue","executionId":"e~sig","toolResults":[{"toolCallId":"c","toolName":"t","result":{"a":[1,2.5,"x"]},"outputVariable":"","blockIndex":1.5,"extra":true}]}`,
		`{"sessionId":"s","type":"continue","executionId":"e","toolResults":[{"toolCallId":"c","error":""}]}`,
		`{"sessionId":"s","type":"continue","executionId":"e","toolResults":[{"toolCallId":1}]}`,
		`{"sessionId":"s","type":"restart"}`,
		`{"sessionId":"","type":"trigger","triggerName":"t"}`,
		`{"sessionId":"s","type":"trigger","triggerName":"t","input":[1]}`,
		`{"sessionId":"s","type":"trigger","triggerName":"t","rollbackAfterMessageId":"m1","sender":{"id":"x"}}`,
		`{"sessionId":"s","type":"trigger","triggerName":"t","rollbackAfterMessageId":null}`,
		`{"sessionId":"s","type":"trigger","triggerName":"t","rollbackAfterMessageId":"\u00e9\n"}`,
		`{"sessionId":"s","type":"trigger","triggerName":"t","rollbackAfterMessageId":7}`,
		`[]`, `null`, `"x"`, `{`, ``,
		`{"sessionId":"s","sessionId":"t","triggerName":"a"}`,
		"{\"sessionId\":\"\xff\",\"triggerName\":\"t\"}",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(string(body)))
		r.Header.Set("Content-Type", "application/json")
		id, req, err := ReadRequest(r)
		if err != nil {
			var re *RequestError
			if !errors.As(err, &re) || re.Status < 400 || re.Status > 499 || re.Message == "" {
				t.Fatalf("error %v is not a 4xx RequestError", err)
			}
			if req != nil || id != "" {
				t.Fatalf("refused, yet returned %q %#v", id, req)
			}
			return
		}
		if id == "" {
			t.Fatal("accepted without a session id")
		}
		if !utf8.Valid(body) {
			t.Fatalf("accepted a body that is not UTF-8: %q", body)
		}
		if checkSessionID(id) != nil {
			t.Fatalf("accepted session id %q", id)
		}
		if cr, ok := req.(ContinueRequest); ok && checkCallIDs(cr.ToolResults) != nil {
			t.Fatalf("accepted a call id answered twice: %q", body)
		}
		b, err := json.Marshal(req)
		if err != nil {
			t.Fatalf("accepted request does not encode: %v", err)
		}
		again, err := DecodeSessionRequest(b)
		if err != nil {
			t.Fatalf("re-encoded request %s is refused: %v", b, err)
		}
		b2, err := json.Marshal(again)
		if err != nil || string(b2) != string(b) {
			t.Fatalf("round trip changed the request:\n%s\n%s", b, b2)
		}
		if reflect.TypeOf(again) != reflect.TypeOf(req) {
			t.Fatalf("round trip changed the type: %T -> %T", req, again)
		}
	})
}
