package octavus

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"
)

// rawStatusServer answers every request with the status line and body
// written by hand, so that the reason phrase is free.
func rawStatusServer(t *testing.T, statusLine, body string) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		conn, buf, err := http.NewResponseController(w).Hijack()
		if err != nil {
			t.Errorf("hijack: %v", err)
			return
		}
		defer conn.Close()
		_, _ = fmt.Fprintf(buf, "%s\r\nContent-Type: application/json\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s",
			statusLine, len(body), body)
		_ = buf.Flush()
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestAPIErrorOfEveryCall(t *testing.T) {
	cases := []struct {
		name, body        string
		status            int
		wantMsg, wantCode string
	}{
		{"error", `{"error":"Session not found"}`, 404, "Session not found", ""},
		{"message", `{"message":"Agent missing"}`, 404, "Agent missing", ""},
		{"error wins over message", `{"error":"from error","message":"from message"}`, 400, "from error", ""},
		{"neither", `{}`, 404, "Request failed: Not Found", ""},
		{"neither, other keys", `{"detail":"x","statusCode":500}`, 500, "Request failed: Internal Server Error", ""},
		{"neither, 429", `{}`, 429, "Request failed: Too Many Requests", ""},
		{"non-JSON", `<html>Bad Gateway</html>`, 502, "Request failed: Bad Gateway", ""},
		{"empty body", ``, 503, "Request failed: Service Unavailable", ""},
		{"JSON array", `[{"error":"x"}]`, 400, "Request failed: Bad Request", ""},
		{"JSON string", `"oops"`, 400, "Request failed: Bad Request", ""},
		{"JSON null", `null`, 400, "Request failed: Bad Request", ""},
		{"code with error", `{"error":"Slow down","code":"RATE_LIMITED"}`, 429, "Slow down", "RATE_LIMITED"},
		{"code with message", `{"message":"No access","code":"FORBIDDEN"}`, 403, "No access", "FORBIDDEN"},
		{"code alone", `{"code":"GONE"}`, 410, "Request failed: Gone", "GONE"},
		{"non-string code", `{"error":"Bad","code":42}`, 400, "Request failed: Bad Request", ""},
		{"non-string message", `{"message":42,"code":"X"}`, 400, "Request failed: Bad Request", ""},
		{"non-string error", `{"error":42,"message":"m"}`, 400, "Request failed: Bad Request", ""},
		{"error null", `{"error":null,"message":"m"}`, 404, "Request failed: Not Found", ""},
		{"message null", `{"error":"e","message":null}`, 404, "Request failed: Not Found", ""},
		{"code null", `{"error":"e","code":null}`, 404, "Request failed: Not Found", ""},
		{"error array", `{"error":["a"]}`, 404, "Request failed: Not Found", ""},
		{"empty string error kept", `{"error":"","message":"m"}`, 400, "", ""},
		{"empty string message kept", `{"message":""}`, 400, "", ""},
		{"nested error object", `{"error":{"code":"NOT_FOUND","message":"nope"}}`, 404, "nope", "NOT_FOUND"},
		{"nested error, top code wins", `{"error":{"code":"INNER","message":"nope"},"code":"OUTER"}`, 404, "nope", "OUTER"},
		{"nested error without message", `{"error":{"code":"NOT_FOUND"},"message":"top"}`, 404, "top", "NOT_FOUND"},
		{"nested error with number message", `{"error":{"code":"NOT_FOUND","message":5}}`, 404, "Request failed: Not Found", ""},
		{"nested error with number code", `{"error":{"code":5,"message":"nope"}}`, 404, "Request failed: Not Found", ""},
		{"nested error null", `{"error":{"message":null}}`, 404, "Request failed: Not Found", ""},
		{"extra keys ignored", `{"error":"e","details":{"a":1},"requestId":"r"}`, 422, "e", ""},
		{"unicode", `{"error":"Sitzung \u00fcberf\u00e4llig"}`, 409, "Sitzung überfällig", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(tc.status)
				_, _ = io.WriteString(w, tc.body)
			}))
			defer srv.Close()
			c, err := NewClient(ClientOptions{BaseURL: srv.URL, APIKey: "k", MaxRetries: -1})
			require.NoError(t, err)
			errs := everyCall(c)
			require.Len(t, errs, 7)
			for call, err := range errs {
				var apiErr *APIError
				require.ErrorAs(t, err, &apiErr, call)
				require.Equal(t, tc.status, apiErr.Status, call)
				require.Equal(t, tc.wantMsg, apiErr.Message, call)
				require.Equal(t, tc.wantCode, apiErr.Code, call)
			}
		})
	}
}

func TestAPIErrorWrappedStillMatches(t *testing.T) {
	f := newFakePlatform(t)
	f.handle("GET /api/agents", statusLeg(404, `{"error":"gone"}`))
	_, err := f.client(t).Agents.List(t.Context())
	wrapped := fmt.Errorf("listing: %w", err)
	var apiErr *APIError
	require.ErrorAs(t, wrapped, &apiErr)
	require.Equal(t, &APIError{Status: 404, Message: "gone"}, apiErr)
}

func TestAPIErrorCustomReasonPhrase(t *testing.T) {
	cases := []struct {
		statusLine, body string
		status           int
		wantMsg          string
	}{
		{"HTTP/1.1 404 Nope Nope", `{}`, 404, "Request failed: Nope Nope"},
		{"HTTP/1.1 500 Kaputt", `not json`, 500, "Request failed: Kaputt"},
		{"HTTP/1.1 418 I'm a teapot", `{"code":"TEA"}`, 418, "Request failed: I'm a teapot"},
		// No reason phrase: fetch's statusText is "".
		{"HTTP/1.1 404", `{}`, 404, "Request failed: "},
		{"HTTP/1.1 400 Custom", `{"error":"body wins"}`, 400, "body wins"},
	}
	for _, tc := range cases {
		t.Run(tc.statusLine, func(t *testing.T) {
			srv := rawStatusServer(t, tc.statusLine, tc.body)
			c, err := NewClient(ClientOptions{BaseURL: srv.URL, MaxRetries: -1})
			require.NoError(t, err)
			for call, err := range everyCall(c) {
				var apiErr *APIError
				require.ErrorAs(t, err, &apiErr, call)
				require.Equal(t, tc.status, apiErr.Status, call)
				require.Equal(t, tc.wantMsg, apiErr.Message, call)
			}
		})
	}
}

func TestAPIErrorStatusTextWithoutReasonFromTransport(t *testing.T) {
	// A transport that leaves Status empty: the standard phrase is used.
	c, _ := captureClient(t, ClientOptions{BaseURL: "https://octavus.example"}, 404, `{}`)
	c.hc.Transport = roundTripFunc(func(r *http.Request) (*http.Response, error) {
		return &http.Response{StatusCode: 404, Header: http.Header{}, Body: io.NopCloser(http.NoBody), Request: r}, nil
	})
	_, err := c.Agents.List(t.Context())
	var apiErr *APIError
	require.ErrorAs(t, err, &apiErr)
	require.Equal(t, "Request failed: Not Found", apiErr.Message)
}

func TestAPIErrorError(t *testing.T) {
	require.Equal(t, "octavus: nope (status 404)", (&APIError{Status: 404, Message: "nope"}).Error())
	require.Equal(t, "octavus: nope (status 404, code NOT_FOUND)", (&APIError{Status: 404, Message: "nope", Code: "NOT_FOUND"}).Error())
}

func TestErrorTypeForStatus(t *testing.T) {
	cases := map[int]ErrorType{
		400: "validation_error",
		401: "authentication_error",
		402: "quota_exceeded_error",
		403: "permission_error",
		404: "not_found_error",
		408: "unknown_error",
		409: "unknown_error",
		422: "unknown_error",
		429: "rate_limit_error",
		500: "internal_error",
		501: "internal_error",
		502: "internal_error",
		503: "provider_overloaded",
		504: "provider_timeout",
		599: "internal_error",
		302: "unknown_error",
		200: "unknown_error",
		0:   "unknown_error",
	}
	for status, want := range cases {
		require.Equal(t, want, ErrorTypeForStatus(status), strconv.Itoa(status))
	}
}

func TestNewAPIErrorEvent(t *testing.T) {
	cases := []struct {
		status    int
		retryable bool
		wantType  string
	}{
		{400, false, "validation_error"},
		{401, false, "authentication_error"},
		{402, false, "quota_exceeded_error"},
		{403, false, "permission_error"},
		{404, false, "not_found_error"},
		{408, false, "unknown_error"},
		{428, false, "unknown_error"},
		{429, true, "rate_limit_error"},
		{430, false, "unknown_error"},
		{499, false, "unknown_error"},
		{500, true, "internal_error"},
		{502, true, "internal_error"},
		{503, true, "provider_overloaded"},
		{504, true, "provider_timeout"},
		{599, true, "internal_error"},
		{302, false, "unknown_error"},
		{0, false, "unknown_error"},
	}
	for _, tc := range cases {
		ev := NewAPIErrorEvent(tc.status, "msg")
		require.Equal(t, &ErrorEvent{ErrorType: ErrorType(tc.wantType), Message: "msg", Source: "platform", Retryable: tc.retryable}, ev, tc.status)
		b, err := json.Marshal(ev)
		require.NoError(t, err)
		require.JSONEq(t, fmt.Sprintf(`{"type":"error","errorType":%q,"message":"msg","source":"platform","retryable":%t}`, tc.wantType, tc.retryable), string(b))
	}
}

func TestNewInternalErrorEvent(t *testing.T) {
	ev := NewInternalErrorEvent("boom")
	b, err := json.Marshal(ev)
	require.NoError(t, err)
	require.JSONEq(t, `{"type":"error","errorType":"internal_error","message":"boom","source":"platform","retryable":false}`, string(b))
	require.False(t, IsRetryableError(ev.Err()))
}

func TestNewErrorEvent(t *testing.T) {
	ev := NewErrorEvent(ErrorOptions{
		ErrorType:  ErrorTypeProvider,
		Message:    "Upstream failed",
		Source:     ErrorSourceProvider,
		Retryable:  true,
		RetryAfter: ptr(2.5),
		Code:       "UPSTREAM",
		Provider:   &ProviderErrorInfo{Name: "anthropic", Model: "claude", StatusCode: ptr(529.0), ErrorType: "overloaded_error", RequestID: "req_1"},
		Tool:       &ToolErrorInfo{Name: "search", CallID: "c1"},
	})
	b, err := json.Marshal(ev)
	require.NoError(t, err)
	require.JSONEq(t, `{"type":"error","errorType":"provider_error","message":"Upstream failed","source":"provider","retryable":true,
		"retryAfter":2.5,"code":"UPSTREAM",
		"provider":{"name":"anthropic","model":"claude","statusCode":529,"errorType":"overloaded_error","requestId":"req_1"},
		"tool":{"name":"search","callId":"c1"}}`, string(b))

	minimal := NewErrorEvent(ErrorOptions{ErrorType: ErrorTypeTool, Message: "m", Source: ErrorSourceTool})
	b, err = json.Marshal(minimal)
	require.NoError(t, err)
	require.JSONEq(t, `{"type":"error","errorType":"tool_error","message":"m","source":"tool","retryable":false}`, string(b))
}

func TestErrorConstantsMatchProtocol(t *testing.T) {
	require.Equal(t, []ErrorType{
		"authentication_error", "permission_error", "validation_error", "not_found_error", "rate_limit_error",
		"quota_exceeded_error", "provider_error", "provider_overloaded", "provider_timeout", "execution_error",
		"tool_error", "protocol_error", "internal_error", "unknown_error",
	}, []ErrorType{
		ErrorTypeAuthentication, ErrorTypePermission, ErrorTypeValidation, ErrorTypeNotFound, ErrorTypeRateLimit,
		ErrorTypeQuotaExceeded, ErrorTypeProvider, ErrorTypeProviderOverloaded, ErrorTypeProviderTimeout, ErrorTypeExecution,
		ErrorTypeTool, ErrorTypeProtocol, ErrorTypeInternal, ErrorTypeUnknown,
	})
	// In the reference's ErrorType, not in its schema (see
	// TestUnsupportedErrorTypeIsDropped).
	require.Equal(t, ErrorType("unsupported_error"), ErrorTypeUnsupported)
	require.Equal(t, []ErrorSource{"platform", "provider", "tool", "client"},
		[]ErrorSource{ErrorSourcePlatform, ErrorSourceProvider, ErrorSourceTool, ErrorSourceClient})
}

func TestOctavusError(t *testing.T) {
	cause := errors.New("socket closed")
	oe := NewOctavusError(ErrorOptions{
		ErrorType: ErrorTypeRateLimit, Message: "slow down", Source: ErrorSourceProvider, Retryable: true,
		RetryAfter: ptr(30.0), Code: "RL", Provider: &ProviderErrorInfo{Name: "openai"}, Tool: &ToolErrorInfo{Name: "t"},
	})
	require.Equal(t, "octavus: rate_limit_error: slow down", oe.Error())
	require.Nil(t, oe.Unwrap())
	require.Nil(t, errors.Unwrap(oe))

	oe.Cause = cause
	require.Same(t, cause, errors.Unwrap(oe))
	require.ErrorIs(t, oe, cause)
	require.ErrorIs(t, fmt.Errorf("outer: %w", oe), cause)

	ev := oe.ToStreamEvent()
	require.Equal(t, &ErrorEvent{ErrorType: "rate_limit_error", Message: "slow down", Source: "provider", Retryable: true,
		RetryAfter: ptr(30.0), Code: "RL", Provider: &ProviderErrorInfo{Name: "openai"}, Tool: &ToolErrorInfo{Name: "t"}}, ev)
	b, err := json.Marshal(ev)
	require.NoError(t, err)
	require.JSONEq(t, `{"type":"error","errorType":"rate_limit_error","message":"slow down","source":"provider","retryable":true,
		"retryAfter":30,"code":"RL","provider":{"name":"openai"},"tool":{"name":"t"}}`, string(b))
}

func TestErrorEventErr(t *testing.T) {
	ev := &ErrorEvent{ErrorType: "tool_error", Message: "tool broke", Source: ErrorSourceTool, Retryable: false,
		Code: "T1", Tool: &ToolErrorInfo{Name: "search", CallID: "c9"}, RetryAfter: ptr(1.0),
		Provider: &ProviderErrorInfo{Name: "p"}}
	oe := ev.Err()
	require.Equal(t, &OctavusError{ErrorType: "tool_error", Message: "tool broke", Source: "tool", Code: "T1",
		Tool: &ToolErrorInfo{Name: "search", CallID: "c9"}, RetryAfter: ptr(1.0), Provider: &ProviderErrorInfo{Name: "p"}}, oe)
	require.True(t, IsToolError(oe))
	require.False(t, IsRetryableError(oe))
	// And back again.
	require.Equal(t, ev, oe.ToStreamEvent())
}

func TestGuards(t *testing.T) {
	oct := func(typ ErrorType, src ErrorSource, retry bool) error {
		return &OctavusError{ErrorType: typ, Source: src, Retryable: retry, Message: "m"}
	}
	type want struct{ rate, quota, auth, provider, tool, retry, validation bool }
	cases := []struct {
		name string
		err  error
		want want
	}{
		{"rate limit", oct("rate_limit_error", "platform", true), want{rate: true, retry: true}},
		// 6.4.0 (C/errors/octavus-error.ts:118-137): a quota block is not a
		// rate limit any more (2.0.0's isRateLimitError matched both).
		{"quota exceeded", oct("quota_exceeded_error", "platform", false), want{quota: true}},
		{"quota exceeded, retryable flag", oct("quota_exceeded_error", "platform", true), want{quota: true, retry: true}},
		{"authentication", oct("authentication_error", "platform", false), want{auth: true}},
		{"permission", oct("permission_error", "platform", false), want{auth: true}},
		{"provider source", oct("provider_error", "provider", true), want{provider: true, retry: true}},
		{"provider overloaded from platform", oct("provider_overloaded", "platform", true), want{retry: true}},
		{"tool source", oct("execution_error", "tool", false), want{tool: true}},
		{"tool type", oct("tool_error", "platform", false), want{tool: true}},
		{"tool type and source", oct("tool_error", "tool", false), want{tool: true}},
		{"validation", oct("validation_error", "client", false), want{validation: true}},
		{"internal", oct("internal_error", "platform", false), want{}},
		{"not found retryable", oct("not_found_error", "platform", true), want{retry: true}},
		{"plain error", errors.New("rate_limit_error"), want{}},
		{"nil", nil, want{}},
		// An APIError is classified as NewAPIErrorEvent(status) would be.
		{"APIError 400", &APIError{Status: 400, Message: "bad"}, want{validation: true}},
		{"APIError 401", &APIError{Status: 401, Message: "who"}, want{auth: true}},
		{"APIError 402", &APIError{Status: 402, Message: "pay"}, want{quota: true}},
		{"APIError 403", &APIError{Status: 403, Message: "no"}, want{auth: true}},
		{"APIError 404", &APIError{Status: 404, Message: "gone"}, want{}},
		{"APIError 409", &APIError{Status: 409, Message: "dup"}, want{}},
		{"APIError 429", &APIError{Status: 429, Message: "slow"}, want{rate: true, retry: true}},
		{"APIError 429 SESSION_BUSY", &APIError{Status: 429, Message: "busy", Code: "SESSION_BUSY"}, want{rate: true, retry: true}},
		{"APIError 500", &APIError{Status: 500, Message: "oops"}, want{retry: true}},
		{"APIError 503", &APIError{Status: 503, Message: "busy"}, want{retry: true}},
		{"APIError 504", &APIError{Status: 504, Message: "slow"}, want{retry: true}},
		{"nil *APIError", (*APIError)(nil), want{}},
		{"nil *OctavusError", (*OctavusError)(nil), want{}},
		{"OctavusError over an APIError cause", &OctavusError{ErrorType: ErrorTypeInternal, Source: ErrorSourcePlatform,
			Cause: &APIError{Status: 401}}, want{}},
		{"AppError with an APIError cause", &AppError{Message: "m", Cause: &APIError{Status: 402}}, want{quota: true}},
		{"AppError", NewValidationError("bad"), want{}},
		{"error event (not an error value) via Err", NewAPIErrorEvent(429, "x").Err(), want{rate: true, retry: true}},
	}
	for _, tc := range cases {
		check := func(name string, err error) {
			require.Equal(t, tc.want.rate, IsRateLimitError(err), "%s: IsRateLimitError", name)
			require.Equal(t, tc.want.quota, IsQuotaExceededError(err), "%s: IsQuotaExceededError", name)
			require.Equal(t, tc.want.auth, IsAuthenticationError(err), "%s: IsAuthenticationError", name)
			require.Equal(t, tc.want.provider, IsProviderError(err), "%s: IsProviderError", name)
			require.Equal(t, tc.want.tool, IsToolError(err), "%s: IsToolError", name)
			require.Equal(t, tc.want.retry, IsRetryableError(err), "%s: IsRetryableError", name)
			require.Equal(t, tc.want.validation, IsValidationError(err), "%s: IsValidationError", name)
		}
		check(tc.name, tc.err)
		if tc.err != nil {
			check(tc.name+" wrapped", fmt.Errorf("context: %w", tc.err))
			check(tc.name+" wrapped twice", fmt.Errorf("a: %w", fmt.Errorf("b: %w", tc.err)))
			check(tc.name+" joined", errors.Join(errors.New("other"), tc.err))
		}
	}
}

// TestGuardsOnRESTErrors checks the guards on what REST calls really
// return over HTTP (2.0-era octavus-go: IsAuthenticationError was false for
// a 401 from Create).
func TestGuardsOnRESTErrors(t *testing.T) {
	cases := []struct {
		status                             int
		body                               string
		rate, quota, auth, validation, rty bool
	}{
		{status: 400, body: `{"error":"bad"}`, validation: true},
		{status: 401, body: `{"error":"Invalid API key"}`, auth: true},
		{status: 402, body: `{"error":"Quota exceeded","code":"QUOTA_EXCEEDED"}`, quota: true},
		{status: 403, body: `{"error":"Forbidden"}`, auth: true},
		{status: 404, body: `{"error":"Not found"}`},
		{status: 429, body: `{"error":"The session is busy with another run. Please try again in a moment.","code":"SESSION_BUSY"}`, rate: true, rty: true},
		{status: 500, body: `{}`, rty: true},
		{status: 503, body: `{}`, rty: true},
	}
	for _, tc := range cases {
		t.Run(strconv.Itoa(tc.status), func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(tc.status)
				_, _ = io.WriteString(w, tc.body)
			}))
			defer srv.Close()
			c, err := NewClient(ClientOptions{BaseURL: srv.URL, APIKey: "k", MaxRetries: -1})
			require.NoError(t, err)
			errs := everyCall(c)
			require.NotEmpty(t, errs)
			for call, err := range errs {
				require.Error(t, err, call)
				require.Equal(t, tc.rate, IsRateLimitError(err), "%s: IsRateLimitError", call)
				require.Equal(t, tc.quota, IsQuotaExceededError(err), "%s: IsQuotaExceededError", call)
				require.Equal(t, tc.auth, IsAuthenticationError(err), "%s: IsAuthenticationError", call)
				require.Equal(t, tc.validation, IsValidationError(err), "%s: IsValidationError", call)
				require.Equal(t, tc.rty, IsRetryableError(err), "%s: IsRetryableError", call)
				require.False(t, IsProviderError(err), "%s: IsProviderError", call)
				require.False(t, IsToolError(err), "%s: IsToolError", call)
			}
		})
	}
}

func TestGuardsOnCauseChain(t *testing.T) {
	// An OctavusError found below a non-Octavus wrapper still counts; a
	// plain error below an OctavusError does not change its kind.
	inner := &OctavusError{ErrorType: ErrorTypeValidation, Source: ErrorSourceClient, Cause: errors.New("x")}
	require.True(t, IsValidationError(fmt.Errorf("handler: %w", inner)))
	require.False(t, IsRateLimitError(fmt.Errorf("handler: %w", inner)))
}

func TestAppErrors(t *testing.T) {
	cases := []struct {
		err        *AppError
		msg, code  string
		statusCode int
	}{
		{NewNotFoundError("Agent", "agent_1"), "Agent not found: agent_1", "NOT_FOUND", 404},
		{NewNotFoundError("Session", ""), "Session not found: ", "NOT_FOUND", 404},
		{NewValidationError("name is required"), "name is required", "VALIDATION_ERROR", 400},
		{NewConflictError("Agent", "support"), "Agent already exists: support", "CONFLICT", 409},
		{NewForbiddenError(""), "Access denied", "FORBIDDEN", 403},
		{NewForbiddenError("Not your project"), "Not your project", "FORBIDDEN", 403},
	}
	for _, tc := range cases {
		require.Equal(t, &AppError{Message: tc.msg, Code: tc.code, StatusCode: tc.statusCode}, tc.err)
		require.Equal(t, tc.msg, tc.err.Error())
		var ae *AppError
		require.ErrorAs(t, fmt.Errorf("wrapped: %w", tc.err), &ae)
		require.Same(t, tc.err, ae)
		require.Nil(t, tc.err.Unwrap())
	}

	// 6.4.0's AppError takes ErrorOptions.cause: errors.Is and errors.As
	// see through it.
	cause := &APIError{Status: 404, Message: "gone"}
	ae := &AppError{Message: "agent lookup failed", Code: "NOT_FOUND", StatusCode: 404, Cause: cause}
	require.Same(t, cause, errors.Unwrap(ae))
	require.ErrorIs(t, fmt.Errorf("handler: %w", ae), cause)
	var got *APIError
	require.ErrorAs(t, ae, &got)
	require.Same(t, cause, got)
	require.Equal(t, "agent lookup failed", ae.Error())
}

// ErrorTypeUnsupported and ProviderErrorInfo.details are in 6.4.0's TS
// types but not in its event schema: the event is dropped, the details
// stripped (SPEC-6.4 §1.5; the golden of events_oracle_test.go has both).
func TestUnsupportedErrorTypeIsDropped(t *testing.T) {
	_, err := ParseStreamEvent([]byte(`{"type":"error","errorType":"unsupported_error","message":"m","retryable":false,"source":"platform"}`))
	require.ErrorIs(t, err, ErrInvalidEvent)
	require.ErrorContains(t, err, "errorType")

	ev, err := ParseStreamEvent([]byte(`{"type":"error","errorType":"provider_error","message":"m","retryable":true,"source":"provider","provider":{"name":"anthropic","details":{"raw":"x"}}}`))
	require.NoError(t, err)
	b, err := ev.(json.Marshaler).MarshalJSON()
	require.NoError(t, err)
	require.Equal(t, `{"type":"error","errorType":"provider_error","message":"m","retryable":true,"source":"provider","provider":{"name":"anthropic"}}`, string(b))
}

// NewAPIErrorEvent follows 6.4.0's createApiErrorEvent
// (C/errors/helpers.ts:122-157): 402 is a quota block, not retryable.
func TestNewAPIErrorEventQuota(t *testing.T) {
	ev := NewAPIErrorEvent(402, "Quota exceeded")
	require.Equal(t, &ErrorEvent{ErrorType: ErrorTypeQuotaExceeded, Message: "Quota exceeded", Source: ErrorSourcePlatform}, ev)
	require.True(t, IsQuotaExceededError(ev.Err()))
	require.False(t, IsRateLimitError(ev.Err()))
	require.False(t, IsRetryableError(ev.Err()))
}
