package octavus

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/octavus-go/octavus/internal/wire"
)

// Version is the version of this SDK, sent in the User-Agent header.
const Version = "0.1.0"

// maxErrorBody bounds how much of an error answer's body is read.
const maxErrorBody = 1 << 20

// ClientOptions configure a Client. The zero value of every field but
// BaseURL works.
type ClientOptions struct {
	// BaseURL is the platform's address, e.g. "https://octavus.ai". One
	// trailing slash is removed.
	BaseURL string
	// APIKey is sent as "Authorization: Bearer <APIKey>" when set. It is
	// sent only to BaseURL's host: a redirect to another host loses it.
	// It may be a long-lived key or a token minted with Tokens.Mint.
	APIKey string
	// APIKeyFunc, when set, returns the credential for each request: it is
	// called once per request and once per retry attempt (REST calls and
	// every leg of a stream alike), so a rotating or federated token (a
	// workload-identity or OIDC token that is refreshed as it expires) works
	// without a new Client. It wins over APIKey, which is then ignored. ctx
	// is the request's context. An error fails the call before anything is
	// sent, with a *KeyFuncError that wraps it (errors.Is and errors.As see
	// it), and is not retried; in Execute it ends the execution with an
	// internal error event, as the reference does. The key it returns is treated as APIKey: sent
	// only to BaseURL's origin, an empty key sends no Authorization header,
	// and it is never logged. It may be called from several goroutines at
	// once. (The reference's apiKey provider callback.)
	APIKeyFunc func(ctx context.Context) (string, error)
	// TraceModelRequests asks the platform to record the full payload of
	// every model request (LLM, image, video, speech, transcription) in the
	// session's execution logs (AgentSessions.GetLogs), by sending
	// "X-Octavus-Trace: true" with each request. Off by default: the
	// payloads are large and hold the whole prompt.
	TraceModelRequests bool
	// HTTPClient makes the requests. Nil means a client built on
	// http.DefaultTransport with no overall timeout (streams are long
	// lived; cancel through the context instead). A given client is copied,
	// not modified. Do not set its Timeout: it would cut long streams.
	HTTPClient *http.Client
	// Logger receives debug lines (dropped events, retries, truncated tool
	// results) and errors of tool and resource handlers. Nil means
	// slog.Default(). The API key never appears in it.
	Logger *slog.Logger

	// MaxRetries is how often a platform request is retried after a
	// failure that another try may cure, with the reference's waits: 1 s
	// doubling to at most 8 s, each ±25% at random; a Retry-After header
	// (seconds, fractions allowed, or an HTTP date) replaces the wait,
	// clamped to 8 s. Cancelling the context ends a wait at once.
	//
	// Streams (the /trigger legs of Execute) are retried as the reference
	// retries them: on a 408, 429, 502, 503 or 504 answer, a transport
	// error before the answer's headers, and a connect timeout (see
	// StreamIdleTimeout); never once the answer's body was read, so no
	// event is ever sent twice. A 429 SESSION_BUSY answer (another run of
	// the session is still going) is retried like any 429.
	//
	// REST calls that are idempotent (GET, DELETE: Clear) are retried the
	// same way. Those that are not (POST: Create, Restore, GetUploadURLs,
	// Tokens.Mint and Tokens.Revoke) are
	// retried only when the platform certainly did not process them: the
	// connection could not be made, or the answer was 429; never after a
	// 5xx, a 408 or a transport error once the request may have been sent,
	// as a retried Create would make a second session. (The reference
	// retries no REST call.)
	//
	// Zero means 2 (the reference's default); a negative value turns
	// retries off. (The reference's maxRetries: 0 turns them off; here the
	// zero value is the default, as for every option.)
	MaxRetries int
	// StreamIdleTimeout ends a platform stream that sent no byte (event or
	// heartbeat comment) for this long, as a dropped connection; it bounds
	// each attempt to connect and wait for the answer's headers too (a
	// connect timeout is retried, see MaxRetries; the watchdog does not run
	// during a retry's wait). The platform sends a heartbeat every 15 s.
	// Zero means 60 s; negative disables it.
	StreamIdleTimeout time.Duration
	// MaxEventSize bounds one event line the platform may send, in bytes.
	// A longer line ends the execution with an error event instead of
	// growing memory. Zero means 8 MiB.
	MaxEventSize int
	// MaxContinuationBody bounds the JSON body of each /trigger request,
	// in bytes, by the reference's rule: before every POST that carries
	// tool results (the server tools' and the browser's own continue
	// results), while the results' JSON is over MaxContinuationBody minus
	// a reserve (256 KiB, at most half) for the other fields, the result
	// with the largest content is reduced, at most once per result: a
	// content over 16 KiB becomes a note asking the model to request less
	// followed by the first and last 16 Ki characters, and a result
	// captured into an outputVariable is replaced by an error saying so
	// (a partial capture would corrupt the variable). The browser still
	// gets the whole results. When the results or the whole body still
	// do not fit, nothing is posted: the execution ends with one error
	// event (unknown_error, not retryable) saying the results are too
	// large. Zero means 4 MiB, the platform's limit; a negative value
	// turns the rule off (bodies of any size are posted, and the platform
	// may refuse them).
	MaxContinuationBody int
	// OnTruncate, when set, is called for each tool result that was
	// reduced to fit MaxContinuationBody (the reference's
	// onToolResultTruncated), from the execution's goroutine before the
	// request is sent; keep it quick.
	OnTruncate func(TruncatedResult)
	// ResultSigningKey, when set, signs the server tool results handed to
	// the browser in a client-tool-request, so the browser cannot forge
	// them: the signature travels inside the executionId the browser sends
	// back, and a continue request whose server results do not match it is
	// refused (see AgentSession.CheckRequest). Use 32 random bytes, the
	// same on every server that may receive the continue request.
	ResultSigningKey []byte

	// RequestTimeout bounds each REST call (Create, Get, List, Clear,
	// Restore, GetLogs, Agents, Files, Tokens, Workforce), retries and
	// the reading of the answer included, so a platform that accepts the
	// connection and then says nothing cannot hold the caller (or the
	// socket transport's read loop that made the call) forever. It never
	// applies to streams (Execute's legs, whose silence StreamIdleTimeout
	// bounds). A call cut by it fails with an error that wraps
	// context.DeadlineExceeded. Zero means 30 s; negative means no limit.
	RequestTimeout time.Duration
	// MaxResponseSize bounds the body of a REST answer, in bytes: a
	// larger answer fails the call with an error wrapping
	// ErrResponseTooLarge, after reading at most that much, instead of
	// being read whole into memory. Zero means 32 MiB; negative means no
	// limit.
	MaxResponseSize int64
}

// Defaults of the REST bounds of ClientOptions.
const (
	defaultRequestTimeout  = 30 * time.Second
	defaultMaxResponseSize = 32 << 20
)

// ErrResponseTooLarge is wrapped by the error of a REST call whose answer
// is larger than ClientOptions.MaxResponseSize.
var ErrResponseTooLarge = errors.New("octavus: platform answer larger than ClientOptions.MaxResponseSize")

// Client talks to the Octavus platform. It is safe for concurrent use; make
// one and share it.
type Client struct {
	// Agents lists and reads agent definitions.
	Agents *AgentsAPI
	// AgentSessions creates, reads, clears, restores and attaches to
	// sessions, and reads their execution logs.
	AgentSessions *AgentSessionsAPI
	// Files gets upload URLs for files.
	Files *FilesAPI
	// Workforce drives a Workforce agent's threads (a client made with the
	// agent's oct_agt_ key).
	Workforce *WorkforceAPI
	// Tokens mints and revokes short-lived, scoped ephemeral tokens.
	Tokens *TokensAPI
	// Workers runs worker agents.
	Workers *WorkersAPI

	baseURL string
	base    *url.URL
	apiKey  string
	keyFunc func(ctx context.Context) (string, error)
	trace   bool
	hc      *http.Client
	log     *slog.Logger

	maxRetries  int
	idleTimeout time.Duration
	maxEvent    int
	maxBody     int
	onTruncate  func(TruncatedResult)
	signingKey  []byte
	reqTimeout  time.Duration
	maxResponse int64
	sleep       func(ctx context.Context, d time.Duration) error // waits between retries; replaced in tests
	jitter      func() float64                                   // in [0, 1); replaced in tests
}

// NewClient returns a Client for opts. It fails when BaseURL is empty or is
// not an absolute http or https URL.
func NewClient(opts ClientOptions) (*Client, error) {
	if opts.BaseURL == "" {
		return nil, errors.New("octavus: ClientOptions.BaseURL is empty")
	}
	base := strings.TrimSuffix(opts.BaseURL, "/")
	u, err := url.Parse(base)
	if err != nil {
		return nil, fmt.Errorf("octavus: ClientOptions.BaseURL: %w", err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("octavus: ClientOptions.BaseURL %q is not an absolute http(s) URL", opts.BaseURL)
	}
	// Any "?" or "#" starts a query or fragment, even an empty one ("x?"),
	// which would swallow the paths appended to the base URL.
	if strings.ContainsAny(base, "?#") {
		return nil, fmt.Errorf("octavus: ClientOptions.BaseURL %q must not have a query or fragment", opts.BaseURL)
	}
	c := &Client{baseURL: base, base: u, apiKey: opts.APIKey, keyFunc: opts.APIKeyFunc, trace: opts.TraceModelRequests, log: opts.Logger}
	if c.log == nil {
		c.log = slog.Default()
	}
	c.maxRetries = orDefault(opts.MaxRetries, defaultMaxRetries)
	c.idleTimeout = orDefault(opts.StreamIdleTimeout, defaultStreamIdleTimeout)
	c.maxEvent = orDefault(opts.MaxEventSize, defaultMaxEventSize)
	c.maxBody = orDefault(opts.MaxContinuationBody, defaultMaxContinuationBody)
	c.onTruncate = opts.OnTruncate
	c.reqTimeout = orDefault(opts.RequestTimeout, defaultRequestTimeout)
	c.maxResponse = orDefault(opts.MaxResponseSize, defaultMaxResponseSize)
	if len(opts.ResultSigningKey) > 0 {
		c.signingKey = bytes.Clone(opts.ResultSigningKey)
	}
	c.sleep = sleepCtx
	c.jitter = rand.Float64
	hc := http.Client{}
	if opts.HTTPClient != nil {
		hc = *opts.HTTPClient
	}
	userCheck := hc.CheckRedirect
	hc.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if !sameOrigin(req.URL, c.base) {
			req.Header.Del("Authorization")
		}
		var err error
		switch {
		case userCheck != nil:
			err = userCheck(req, via)
		case len(via) >= 10:
			err = errors.New("stopped after 10 redirects")
		}
		if err != nil && err != http.ErrUseLastResponse {
			// A refused redirect is no transport failure: not retried.
			err = redirectError{err}
		}
		return err
	}
	c.hc = &hc
	c.Agents = &AgentsAPI{c: c}
	c.AgentSessions = &AgentSessionsAPI{c: c}
	c.Files = &FilesAPI{c: c}
	c.Workforce = &WorkforceAPI{c: c}
	c.Tokens = &TokensAPI{c: c}
	c.Workers = &WorkersAPI{c: c}
	return c, nil
}

// SessionURL returns the address of the platform's page on session
// sessionID ({BaseURL}/platform/sessions/{sessionID}), where its activity
// and execution logs can be seen: link it from your admin or debug views.
// The id is escaped as one path segment. It makes no request.
func (c *Client) SessionURL(sessionID string) string {
	return c.baseURL + "/platform/sessions/" + escapeID(sessionID)
}

// AgentURL returns the address of the platform's editor of agent agentID
// ({BaseURL}/platform/agents/{agentID}). The id is escaped as one path
// segment. It makes no request.
func (c *Client) AgentURL(agentID string) string {
	return c.baseURL + "/platform/agents/" + escapeID(agentID)
}

// redirectError is an error of CheckRedirect, which another try would
// meet again.
type redirectError struct{ err error }

func (e redirectError) Error() string { return e.err.Error() }
func (e redirectError) Unwrap() error { return e.err }

// sameOrigin reports whether a and b have the same origin (scheme, host and
// port, with default ports filled in), as fetch decides whether a redirect
// may keep the Authorization header.
func sameOrigin(a, b *url.URL) bool {
	return strings.EqualFold(a.Scheme, b.Scheme) &&
		strings.EqualFold(a.Hostname(), b.Hostname()) &&
		portOf(a) == portOf(b)
}

func portOf(u *url.URL) string {
	if p := u.Port(); p != "" {
		return p
	}
	if strings.EqualFold(u.Scheme, "https") {
		return "443"
	}
	return "80"
}

// escapeID makes an id one safe path segment: "/", "?", "#" and "%" are
// escaped, and the dot segments "." and ".." are written as %2E so that no
// id reaches another endpoint.
func escapeID(id string) string {
	if id == "." || id == ".." {
		return strings.Repeat("%2E", len(id))
	}
	return url.PathEscape(id)
}

func checkID(kind, id string) error {
	if id == "" {
		return fmt.Errorf("octavus: empty %s", kind)
	}
	return nil
}

// KeyFuncError is the error of a call whose ClientOptions.APIKeyFunc
// failed: no request was sent. It wraps the function's error.
type KeyFuncError struct{ Err error }

func (e *KeyFuncError) Error() string { return "octavus: ClientOptions.APIKeyFunc: " + e.Err.Error() }

// Unwrap returns the error of APIKeyFunc.
func (e *KeyFuncError) Unwrap() error { return e.Err }

// key returns the credential of one request: APIKeyFunc's, when set, else
// APIKey.
func (c *Client) key(ctx context.Context) (string, error) {
	if c.keyFunc == nil {
		return c.apiKey, nil
	}
	k, err := c.keyFunc(ctx)
	if err != nil {
		return "", &KeyFuncError{err}
	}
	return k, nil
}

// newRequest builds a request to path (which starts with "/") with the
// SDK's headers. body, when not nil, is encoded as JSON. It is called once
// per attempt, so APIKeyFunc is asked for each one.
// userAgent is the User-Agent of every platform request.
const userAgent = "octavus-go/" + Version

func (c *Client) newRequest(ctx context.Context, method, path string, body any) (*http.Request, error) {
	key, err := c.key(ctx)
	if err != nil {
		return nil, err
	}
	var rd io.Reader
	if body != nil {
		b, err := marshalJSON(body)
		if err != nil {
			return nil, fmt.Errorf("octavus: encoding %s %s body: %w", method, path, err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.baseURL+path, rd)
	if err != nil {
		return nil, fmt.Errorf("octavus: %s %s: %w", method, path, err)
	}
	// One map sized for the headers and one backing array for their
	// values, instead of a map that grows and a slice per Set: a
	// stream's request lives as long as the stream.
	vals := make([]string, 5)
	vals[0], vals[1], vals[2] = "application/json", userAgent, "4"
	h := make(http.Header, 5)
	h["Content-Type"] = vals[0:1:1]
	h["User-Agent"] = vals[1:2:2]
	h["X-Octavus-Sdk-Version"] = vals[2:3:3] // the v4 message shapes (step-start parts)
	if key != "" {
		vals[3] = "Bearer " + key
		h["Authorization"] = vals[3:4:4]
	}
	if c.trace {
		vals[4] = "true"
		h["X-Octavus-Trace"] = vals[4:5:5]
	}
	req.Header = h
	return req, nil
}

// doChecked is do for an answer that must fit the reference's schema:
// check reads its fields (see decodeChecked) before it is decoded into out.
func (c *Client) doChecked(ctx context.Context, method, path string, body any, check func(*wire.Object) error, out any) error {
	var raw json.RawMessage
	if err := c.do(ctx, method, path, body, &raw); err != nil {
		return err
	}
	return decodeChecked(method, path, raw, check, out)
}

// decodeChecked decodes the answer raw into out after check has accepted
// it. check reads the fields the way the reference's zod schema does: a
// missing required field, a field of the wrong type or a value outside an
// enumeration is an error, as the reference's schema.parse throws.
func decodeChecked(method, path string, raw []byte, check func(*wire.Object) error, out any) error {
	o, err := wire.Decode(raw)
	if err == nil {
		err = check(o)
	}
	if err == nil {
		err = json.Unmarshal(raw, out)
	}
	if err != nil {
		return fmt.Errorf("octavus: %s %s: invalid answer: %w", method, path, err)
	}
	return nil
}

// do sends a REST request and decodes a 2xx JSON answer into out. A non-2xx
// answer is an *APIError. The call is bounded by ClientOptions.RequestTimeout
// and its answer by ClientOptions.MaxResponseSize.
func (c *Client) do(ctx context.Context, method, path string, body, out any) error {
	if c.reqTimeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeoutCause(ctx, c.reqTimeout, fmt.Errorf("no answer within ClientOptions.RequestTimeout (%v): %w", c.reqTimeout, context.DeadlineExceeded))
		defer cancel()
	}
	err := c.doOnce(ctx, method, path, body, out)
	if err != nil && ctx.Err() != nil && errors.Is(context.Cause(ctx), context.DeadlineExceeded) && !errors.Is(err, context.Cause(ctx)) {
		// Say why the call was cut, not only that a read failed.
		err = fmt.Errorf("%w (%w)", err, context.Cause(ctx))
	}
	return err
}

func (c *Client) doOnce(ctx context.Context, method, path string, body, out any) error {
	var buildErr error
	resp, err := c.send(ctx, policyFor(method), func(ctx context.Context) (*http.Request, error) {
		req, err := c.newRequest(ctx, method, path, body)
		buildErr = err
		return req, err
	})
	if buildErr != nil {
		return buildErr
	}
	if err != nil {
		return fmt.Errorf("octavus: %s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return readAPIError(resp, "Request failed")
	}
	var rd io.Reader = resp.Body
	if c.maxResponse > 0 {
		if resp.ContentLength > c.maxResponse {
			return fmt.Errorf("octavus: %s %s: answer of %d bytes, over %d: %w", method, path, resp.ContentLength, c.maxResponse, ErrResponseTooLarge)
		}
		rd = io.LimitReader(resp.Body, c.maxResponse+1)
	}
	data, err := io.ReadAll(rd)
	if err != nil {
		return fmt.Errorf("octavus: %s %s: reading answer: %w", method, path, err)
	}
	if c.maxResponse > 0 && int64(len(data)) > c.maxResponse {
		return fmt.Errorf("octavus: %s %s: answer over %d bytes: %w", method, path, c.maxResponse, ErrResponseTooLarge)
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("octavus: %s %s: decoding answer: %w", method, path, err)
	}
	return nil
}

// readAPIError turns a non-2xx answer into an *APIError, with
// "<prefix>: <status text>" as the fallback message.
func readAPIError(resp *http.Response, prefix string) *APIError {
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	msg, code := parseAPIError(body, prefix+": "+statusText(resp))
	secret := requestKey(resp)
	return &APIError{Status: resp.StatusCode, Message: redactKey(msg, secret), Code: redactKey(code, secret)}
}

// requestKey is the API key the request of resp carried, "" for none.
func requestKey(resp *http.Response) string {
	if resp == nil || resp.Request == nil {
		return ""
	}
	return strings.TrimPrefix(resp.Request.Header.Get("Authorization"), "Bearer ")
}

// minRedactedKey is the shortest key redactKey hides: a shorter one would
// match ordinary words of a message.
const minRedactedKey = 6

// redacted replaces the API key in platform messages.
const redacted = "[REDACTED]"

// redactKey hides key (and its "Bearer <key>" form) in s, a message of the
// platform that may echo the request's Authorization header, before it
// reaches an error, a log line or the browser.
func redactKey(s, key string) string {
	if len(key) < minRedactedKey || !strings.Contains(s, key) {
		return s
	}
	return strings.ReplaceAll(s, key, redacted)
}

// errMissing reports an answer that lacks a field the protocol requires.
func errMissing(method, path, field string) error {
	return fmt.Errorf("octavus: %s %s: answer has no %s", method, path, field)
}
