package octavus

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
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
func orDefault[T int | time.Duration](v, def T) T {
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
// take the request (408, 429, 503) or a gateway failed (502, 504).
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

// send runs the request that build makes, retrying by the rules of
// ClientOptions.MaxRetries. build is called once per attempt. Only the
// answer's status and headers have been read when send returns, so a
// stream is never retried once an event was read.
func (c *Client) send(ctx context.Context, build func(context.Context) (*http.Request, error)) (*http.Response, error) {
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
			if last || ctx.Err() != nil || !dialFailed(err) {
				return nil, err
			}
			wait = c.backoff(attempt)
			c.log.Debug("octavus: retrying platform request", "method", req.Method, "path", req.URL.Path, "attempt", attempt+1, "wait", wait, "error", err)
		case retryStatus(resp.StatusCode) && !last:
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

// backoff is the wait before retry attempt+1: 1 s doubling per attempt, at
// most 8 s, with "equal jitter" (a random point in its upper half) so that
// many clients do not retry in step.
func (c *Client) backoff(attempt int) time.Duration {
	d := retryMaxDelay
	if attempt < 3 {
		d = retryBaseDelay << attempt
	}
	return d/2 + time.Duration(c.jitter()*float64(d/2))
}

// retryAfter parses a Retry-After header: delay seconds or an HTTP date
// (relative to now). A date in the past means no wait.
func retryAfter(v string, now time.Time) (time.Duration, bool) {
	if v == "" {
		return 0, false
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n < 0 {
			return 0, false
		}
		if n > int64(retryMaxDelay/time.Second) {
			return retryMaxDelay, true
		}
		return time.Duration(n) * time.Second, true
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0, false
	}
	return max(t.Sub(now), 0), true
}
