package octavus

import (
	"context"
	"errors"
	"io"
	"math"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Defaults of ClientOptions.
const (
	defaultMaxRetries          = 2
	defaultStreamIdleTimeout   = 60 * time.Second
	defaultMaxContinuationBody = 4 << 20
	retryBaseDelay             = time.Second
	retryMaxDelay              = 8 * time.Second
)

// orDefault returns def for zero, 0 for a negative value (off), else v.
func orDefault[T int | int64 | time.Duration](v, def T) T {
	switch {
	case v == 0:
		return def
	case v < 0:
		return 0
	}
	return v
}

// sleepCtx waits d or until ctx is done.
func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// retryStatus reports the statuses worth another try: the platform did not
// take the request (408, 429, 503) or a gateway failed (502, 504), the
// reference's list.
func retryStatus(code int) bool {
	switch code {
	case http.StatusRequestTimeout, http.StatusTooManyRequests, http.StatusBadGateway,
		http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}

// dialFailed reports an error of connecting: the request never reached the
// platform, so sending it again cannot duplicate anything.
func dialFailed(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

// retryPolicy says which failures of a request send may try again.
type retryPolicy int

const (
	// retryAny retries the reference's statuses and any transport error
	// before the answer's headers: streams (as the reference does) and
	// idempotent REST calls (GET, DELETE).
	retryAny retryPolicy = iota
	// retryUnprocessed retries only what certainly was not processed: a
	// connection that was never made, and a 429 answer. For REST calls
	// that are not idempotent (POST: a retried create would make a
	// second session).
	retryUnprocessed
)

// policyFor is the retry policy of a REST call with method.
func policyFor(method string) retryPolicy {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodPut, http.MethodDelete, http.MethodOptions:
		return retryAny
	}
	return retryUnprocessed
}

// send runs the request that build makes, retrying by the rules of
// ClientOptions.MaxRetries and policy. build is called once per attempt.
// Only the answer's status and headers have been read when send returns,
// so a stream is never retried once an event was read.
//
// A failed attempt whose request context (not ctx) was cancelled with
// errIdle, the stream's watchdog, is a connect timeout: retried under
// retryAny, as the reference retries it.
func (c *Client) send(ctx context.Context, policy retryPolicy, build func(context.Context) (*http.Request, error)) (*http.Response, error) {
	for attempt := 0; ; attempt++ {
		req, err := build(ctx)
		if err != nil {
			return nil, err
		}
		resp, err := c.hc.Do(req)
		last := attempt >= c.maxRetries
		var wait time.Duration
		switch {
		case err != nil:
			if last || ctx.Err() != nil || !retryError(policy, err) {
				return nil, err
			}
			wait = c.backoff(attempt)
			c.log.Debug("octavus: retrying platform request", "method", req.Method, "path", req.URL.Path, "attempt", attempt+1, "wait", wait, "error", err)
		case !last && retryAnswer(policy, resp.StatusCode):
			wait = c.backoff(attempt)
			if ra, ok := retryAfter(resp.Header.Get("Retry-After"), time.Now()); ok {
				wait = min(ra, retryMaxDelay)
			}
			c.log.Debug("octavus: retrying platform request", "method", req.Method, "path", req.URL.Path, "attempt", attempt+1, "wait", wait, "status", resp.StatusCode)
			// Read a little of the body so the connection can be reused.
			_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10))
			resp.Body.Close()
		default:
			return resp, nil
		}
		if err := c.sleep(ctx, wait); err != nil {
			return nil, err
		}
	}
}

// retryError reports whether a transport error (no answer) may be retried.
func retryError(policy retryPolicy, err error) bool {
	var re redirectError
	switch {
	case errors.As(err, &re):
		return false // a refused redirect: the same again
	case policy == retryUnprocessed:
		return dialFailed(err)
	}
	return true
}

// retryAnswer reports whether an answer's status may be retried.
func retryAnswer(policy retryPolicy, status int) bool {
	if policy == retryUnprocessed {
		return status == http.StatusTooManyRequests
	}
	return retryStatus(status)
}

// backoff is the wait before retry attempt+1, as the reference's: a base
// of 1 s doubling per attempt, at most 8 s, with ±25% jitter so that many
// clients do not retry in step (attempt 0 waits 750 ms to 1.25 s, attempt
// 3 and later 6 to 10 s).
func (c *Client) backoff(attempt int) time.Duration {
	base := retryMaxDelay
	if attempt < 3 {
		base = retryBaseDelay << attempt
	}
	return base + time.Duration(float64(base)*0.25*(c.jitter()*2-1))
}

// retryAfter parses a Retry-After header as the reference does: a number
// of seconds (fractions allowed; a negative number means no wait) or an
// HTTP date (relative to now; a date in the past means no wait). ok is
// false when v is neither. The caller clamps the wait.
func retryAfter(v string, now time.Time) (time.Duration, bool) {
	if v == "" {
		return 0, false
	}
	s := strings.TrimSpace(v)
	if s == "" {
		return 0, true // JavaScript's Number("  ") is 0
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil && !math.IsInf(f, 0) && !math.IsNaN(f) {
		if f <= 0 {
			return 0, true
		}
		if f > float64(time.Hour/time.Second) {
			return time.Hour, true // far over any clamp; avoids overflow
		}
		return time.Duration(f * float64(time.Second)), true
	}
	t, err := http.ParseTime(s)
	if err != nil {
		return 0, false
	}
	return max(t.Sub(now), 0), true
}
