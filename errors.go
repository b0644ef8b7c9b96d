package octavus

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/octavus-go/octavus/internal/wire"
)

// APIError is returned (as error) by every REST call answered with a non-2xx
// status. Match it with errors.As:
//
//	var apiErr *octavus.APIError
//	if errors.As(err, &apiErr) && apiErr.Status == http.StatusNotFound { ... }
type APIError struct {
	// Status is the HTTP status code.
	Status int
	// Message is the body's "error" string, else its "message" string, else
	// "Request failed: <status text>".
	Message string
	// Code is the body's machine-readable "code", when it has one.
	Code string
}

func (e *APIError) Error() string {
	if e.Code != "" {
		return fmt.Sprintf("octavus: %s (status %d, code %s)", e.Message, e.Status, e.Code)
	}
	return fmt.Sprintf("octavus: %s (status %d)", e.Message, e.Status)
}

// statusText is the reason phrase of an answer, as fetch's statusText gives it.
func statusText(resp *http.Response) string {
	code := strconv.Itoa(resp.StatusCode)
	if s, ok := strings.CutPrefix(resp.Status, code); ok {
		return strings.TrimPrefix(s, " ")
	}
	return http.StatusText(resp.StatusCode)
}

// parseAPIError reads the message and code of an error answer's body the
// way the reference does: the body must be a JSON object whose "error",
// "message" and "code" are strings when present; otherwise the fallback
// message is used and there is no code. The nested shape
// {"error": {"code": ..., "message": ...}} of the public API docs is
// accepted too.
func parseAPIError(body []byte, fallback string) (message, code string) {
	o, err := wire.Decode(body)
	if err != nil {
		return fallback, ""
	}
	var msg string
	var haveMsg bool
	if o.Kind("error") == '{' {
		nested := o.OptObject("error")
		msg, haveMsg = nested.OptString("message")
		code, _ = nested.OptString("code")
		if nested.Err() != nil {
			return fallback, ""
		}
	} else {
		msg, haveMsg = o.OptString("error")
	}
	m2, haveM2 := o.OptString("message")
	c2, haveCode := o.OptString("code")
	if o.Err() != nil {
		return fallback, ""
	}
	if haveCode {
		code = c2
	}
	switch {
	case haveMsg:
		return msg, code
	case haveM2:
		return m2, code
	}
	return fallback, code
}

// ErrorType classifies an error event.
type ErrorType string

// The error types of the protocol.
const (
	ErrorTypeAuthentication     ErrorType = "authentication_error"
	ErrorTypePermission         ErrorType = "permission_error"
	ErrorTypeValidation         ErrorType = "validation_error"
	ErrorTypeNotFound           ErrorType = "not_found_error"
	ErrorTypeRateLimit          ErrorType = "rate_limit_error"
	ErrorTypeQuotaExceeded      ErrorType = "quota_exceeded_error"
	ErrorTypeProvider           ErrorType = "provider_error"
	ErrorTypeProviderOverloaded ErrorType = "provider_overloaded"
	ErrorTypeProviderTimeout    ErrorType = "provider_timeout"
	ErrorTypeExecution          ErrorType = "execution_error"
	ErrorTypeTool               ErrorType = "tool_error"
	ErrorTypeProtocol           ErrorType = "protocol_error"
	ErrorTypeInternal           ErrorType = "internal_error"
	ErrorTypeUnknown            ErrorType = "unknown_error"
	// ErrorTypeUnsupported is in the reference's ErrorType but not in its
	// event schema: an error event of this type is dropped, by the
	// reference and by ParseStreamEvent alike. Do not send it to a browser.
	ErrorTypeUnsupported ErrorType = "unsupported_error"
)

var errorTypes = []string{
	string(ErrorTypeAuthentication), string(ErrorTypePermission), string(ErrorTypeValidation),
	string(ErrorTypeNotFound), string(ErrorTypeRateLimit), string(ErrorTypeQuotaExceeded),
	string(ErrorTypeProvider), string(ErrorTypeProviderOverloaded), string(ErrorTypeProviderTimeout),
	string(ErrorTypeExecution), string(ErrorTypeTool), string(ErrorTypeProtocol),
	string(ErrorTypeInternal), string(ErrorTypeUnknown),
}

// ErrorSource says where an error came from.
type ErrorSource string

// The error sources of the protocol.
const (
	ErrorSourcePlatform ErrorSource = "platform"
	ErrorSourceProvider ErrorSource = "provider"
	ErrorSourceTool     ErrorSource = "tool"
	ErrorSourceClient   ErrorSource = "client"
)

// ProviderErrorInfo describes the model provider behind a provider error.
type ProviderErrorInfo struct {
	Name       string   `json:"name"`
	Model      string   `json:"model,omitempty"`
	StatusCode *float64 `json:"statusCode,omitempty"`
	ErrorType  string   `json:"errorType,omitempty"`
	RequestID  string   `json:"requestId,omitempty"`

	extra extras
}

// MarshalJSON encodes the info with the unset optional fields left out.
func (p ProviderErrorInfo) MarshalJSON() ([]byte, error) {
	type plain ProviderErrorInfo
	return marshalWithExtra(plain(p), p.extra)
}

// ToolErrorInfo names the tool behind a tool error.
type ToolErrorInfo struct {
	Name   string `json:"name"`
	CallID string `json:"callId,omitempty"`

	extra extras
}

// MarshalJSON encodes the info with the unset optional fields left out.
func (t ToolErrorInfo) MarshalJSON() ([]byte, error) {
	type plain ToolErrorInfo
	return marshalWithExtra(plain(t), t.extra)
}

// ErrorEvent is a structured error in a stream. The browser's
// @octavus/client-sdk turns it into an OctavusError.
type ErrorEvent struct {
	ErrorType ErrorType   `json:"errorType"`
	Message   string      `json:"message"`
	Retryable bool        `json:"retryable"`
	Source    ErrorSource `json:"source"`
	// RetryAfter is the suggested delay in seconds before a retry.
	RetryAfter *float64           `json:"retryAfter,omitempty"`
	Code       string             `json:"code,omitempty"`
	Provider   *ProviderErrorInfo `json:"provider,omitempty"`
	Tool       *ToolErrorInfo     `json:"tool,omitempty"`

	extra extras

	// terminal marks the error that ends a failed stream: ToSSEStream
	// writes it instead of [DONE], as the reference's toSSEStream does when
	// its event source throws.
	terminal bool
}

// MarshalJSON encodes the event with its "type".
func (e *ErrorEvent) MarshalJSON() ([]byte, error) {
	type plain ErrorEvent
	return marshalTagged(`"error"`, (*plain)(e), e.extra)
}

// Err returns the event as an *OctavusError, for use with the guards
// (IsRateLimitError, ...).
func (e *ErrorEvent) Err() *OctavusError {
	return &OctavusError{
		ErrorType:  e.ErrorType,
		Message:    e.Message,
		Source:     e.Source,
		Retryable:  e.Retryable,
		RetryAfter: e.RetryAfter,
		Code:       e.Code,
		Provider:   e.Provider,
		Tool:       e.Tool,
	}
}

func errorEventFrom(o *wire.Object) *ErrorEvent {
	e := &ErrorEvent{
		ErrorType: ErrorType(o.Enum("errorType", errorTypes...)),
		Message:   o.String("message"),
		Retryable: o.Bool("retryable"),
		Source:    ErrorSource(o.Enum("source", "platform", "provider", "tool", "client")),
	}
	if f, ok := o.OptNumber("retryAfter"); ok {
		e.RetryAfter = &f
	}
	e.Code = e.extra.str(o, "code")
	if p := o.OptObject("provider"); p != nil {
		info := &ProviderErrorInfo{Name: p.String("name")}
		info.Model = info.extra.str(p, "model")
		if f, ok := p.OptNumber("statusCode"); ok {
			info.StatusCode = &f
		}
		info.ErrorType = info.extra.str(p, "errorType")
		info.RequestID = info.extra.str(p, "requestId")
		o.Adopt(p)
		e.Provider = info
	}
	if t := o.OptObject("tool"); t != nil {
		info := &ToolErrorInfo{Name: t.String("name")}
		info.CallID = info.extra.str(t, "callId")
		o.Adopt(t)
		e.Tool = info
	}
	return e
}

// ErrorOptions are the fields of NewErrorEvent and of an OctavusError.
type ErrorOptions struct {
	ErrorType  ErrorType
	Message    string
	Source     ErrorSource
	Retryable  bool
	RetryAfter *float64
	Code       string
	Provider   *ProviderErrorInfo
	Tool       *ToolErrorInfo
}

// NewErrorEvent builds an error event (the reference's createErrorEvent).
func NewErrorEvent(opts ErrorOptions) *ErrorEvent {
	return &ErrorEvent{
		ErrorType:  opts.ErrorType,
		Message:    opts.Message,
		Source:     opts.Source,
		Retryable:  opts.Retryable,
		RetryAfter: opts.RetryAfter,
		Code:       opts.Code,
		Provider:   opts.Provider,
		Tool:       opts.Tool,
	}
}

// NewInternalErrorEvent builds a non-retryable internal_error event from the
// platform source (the reference's createInternalErrorEvent).
func NewInternalErrorEvent(message string) *ErrorEvent {
	return &ErrorEvent{ErrorType: ErrorTypeInternal, Message: message, Source: ErrorSourcePlatform}
}

// NewAPIErrorEvent builds the error event for an HTTP status from the
// platform (the reference's createApiErrorEvent). It is retryable for 429
// and for 5xx; the type follows ErrorTypeForStatus.
func NewAPIErrorEvent(status int, message string) *ErrorEvent {
	return &ErrorEvent{
		ErrorType: ErrorTypeForStatus(status),
		Message:   message,
		Source:    ErrorSourcePlatform,
		Retryable: status == http.StatusTooManyRequests || status >= 500,
	}
}

// ErrorTypeForStatus maps an HTTP status to an error type: 400 validation,
// 401 authentication, 402 quota exceeded, 403 permission, 404 not found,
// 429 rate limit, 503 provider overloaded, 504 provider timeout, other 5xx
// internal, anything else unknown.
func ErrorTypeForStatus(status int) ErrorType {
	switch status {
	case 400:
		return ErrorTypeValidation
	case 401:
		return ErrorTypeAuthentication
	case 402:
		return ErrorTypeQuotaExceeded
	case 403:
		return ErrorTypePermission
	case 404:
		return ErrorTypeNotFound
	case 429:
		return ErrorTypeRateLimit
	case 503:
		return ErrorTypeProviderOverloaded
	case 504:
		return ErrorTypeProviderTimeout
	}
	if status >= 500 {
		return ErrorTypeInternal
	}
	return ErrorTypeUnknown
}

// OctavusError is a structured Octavus error as a Go error. Build one to
// report a classified failure, turn it into a stream event with
// ToStreamEvent, and test any error with the guards (IsRateLimitError, ...),
// which look through wrapping with errors.As.
type OctavusError struct {
	ErrorType  ErrorType
	Message    string
	Source     ErrorSource
	Retryable  bool
	RetryAfter *float64
	Code       string
	Provider   *ProviderErrorInfo
	Tool       *ToolErrorInfo
	// Cause is the underlying error, if any (returned by Unwrap).
	Cause error
}

// NewOctavusError builds an OctavusError from opts.
func NewOctavusError(opts ErrorOptions) *OctavusError {
	return &OctavusError{
		ErrorType:  opts.ErrorType,
		Message:    opts.Message,
		Source:     opts.Source,
		Retryable:  opts.Retryable,
		RetryAfter: opts.RetryAfter,
		Code:       opts.Code,
		Provider:   opts.Provider,
		Tool:       opts.Tool,
	}
}

func (e *OctavusError) Error() string {
	return fmt.Sprintf("octavus: %s: %s", e.ErrorType, e.Message)
}

// Unwrap returns Cause (nil for a nil e).
func (e *OctavusError) Unwrap() error {
	if e == nil {
		return nil
	}
	return e.Cause
}

// ToStreamEvent turns the error into an error event (the reference's
// errorToStreamEvent).
func (e *OctavusError) ToStreamEvent() *ErrorEvent {
	return &ErrorEvent{
		ErrorType:  e.ErrorType,
		Message:    e.Message,
		Source:     e.Source,
		Retryable:  e.Retryable,
		RetryAfter: e.RetryAfter,
		Code:       e.Code,
		Provider:   e.Provider,
		Tool:       e.Tool,
	}
}

// classified is what the guards look at: the type, source and
// retryability of an error.
type classified struct {
	errorType ErrorType
	source    ErrorSource
	retryable bool
}

// classify finds an *OctavusError in err's chain, else an *APIError (an
// OctavusError says more, so it wins). An APIError is classified as the
// error event the reference builds for its status (NewAPIErrorEvent): the
// type from ErrorTypeForStatus, the platform source, retryable for 429 and
// 5xx.
func classify(err error) (classified, bool) {
	if oe := (*OctavusError)(nil); errors.As(err, &oe) && oe != nil {
		return classified{oe.ErrorType, oe.Source, oe.Retryable}, true
	}
	if ae := (*APIError)(nil); errors.As(err, &ae) && ae != nil {
		ev := NewAPIErrorEvent(ae.Status, ae.Message)
		return classified{ev.ErrorType, ev.Source, ev.Retryable}, true
	}
	return classified{}, false
}

// IsRateLimitError reports whether err is a transient rate limit: an
// OctavusError of type rate_limit_error, or an APIError with status 429
// (SESSION_BUSY included). A quota_exceeded_error is not one: see
// IsQuotaExceededError.
func IsRateLimitError(err error) bool {
	c, ok := classify(err)
	return ok && c.errorType == ErrorTypeRateLimit
}

// IsQuotaExceededError reports whether err is a plan or usage allowance
// block: an OctavusError of type quota_exceeded_error, or an APIError with
// status 402. It is terminal: retrying does not help until the plan is
// upgraded or topped up, so tell the user instead of retrying.
func IsQuotaExceededError(err error) bool {
	c, ok := classify(err)
	return ok && c.errorType == ErrorTypeQuotaExceeded
}

// IsAuthenticationError reports whether err is an authentication or
// permission error: an OctavusError of type authentication_error or
// permission_error, or an APIError with status 401 or 403.
func IsAuthenticationError(err error) bool {
	c, ok := classify(err)
	return ok && (c.errorType == ErrorTypeAuthentication || c.errorType == ErrorTypePermission)
}

// IsProviderError reports whether err is an OctavusError from the provider
// source. An APIError never is: it comes from the platform.
func IsProviderError(err error) bool {
	c, ok := classify(err)
	return ok && c.source == ErrorSourceProvider
}

// IsToolError reports whether err is an OctavusError from the tool source or
// of type tool_error.
func IsToolError(err error) bool {
	c, ok := classify(err)
	return ok && (c.source == ErrorSourceTool || c.errorType == ErrorTypeTool)
}

// IsRetryableError reports whether err is a retryable OctavusError, or an
// APIError with status 429 or 5xx (the statuses the reference's error
// event marks retryable).
func IsRetryableError(err error) bool {
	c, ok := classify(err)
	return ok && c.retryable
}

// IsValidationError reports whether err is a validation error: an
// OctavusError of type validation_error, or an APIError with status 400.
func IsValidationError(err error) bool {
	c, ok := classify(err)
	return ok && c.errorType == ErrorTypeValidation
}

// AppError is an application error with a machine-readable code and an
// HTTP status, as @octavus/core's AppError family (NotFoundError,
// ValidationError, ConflictError, ForbiddenError). Build them with
// NewNotFoundError and friends.
type AppError struct {
	Message    string
	Code       string
	StatusCode int
	// Cause is the error behind this one, if any (the reference's
	// ErrorOptions.cause); errors.Is and errors.As look through it.
	Cause error
}

func (e *AppError) Error() string { return e.Message }

// Unwrap returns Cause (nil for a nil e).
func (e *AppError) Unwrap() error {
	if e == nil {
		return nil
	}
	return e.Cause
}

// NewNotFoundError reports that resource id does not exist (404 NOT_FOUND).
func NewNotFoundError(resource, id string) *AppError {
	return &AppError{Message: fmt.Sprintf("%s not found: %s", resource, id), Code: "NOT_FOUND", StatusCode: 404}
}

// NewValidationError reports invalid input (400 VALIDATION_ERROR).
func NewValidationError(message string) *AppError {
	return &AppError{Message: message, Code: "VALIDATION_ERROR", StatusCode: 400}
}

// NewConflictError reports that resource identifier exists already (409 CONFLICT).
func NewConflictError(resource, identifier string) *AppError {
	return &AppError{Message: fmt.Sprintf("%s already exists: %s", resource, identifier), Code: "CONFLICT", StatusCode: 409}
}

// NewForbiddenError reports a refused access (403 FORBIDDEN); an empty
// message becomes "Access denied".
func NewForbiddenError(message string) *AppError {
	if message == "" {
		message = "Access denied"
	}
	return &AppError{Message: message, Code: "FORBIDDEN", StatusCode: 403}
}
