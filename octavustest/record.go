package octavustest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"
)

// Request is one request the server received, as recorded on arrival.
type Request struct {
	Seq      int         // 1-based arrival order across all requests
	Method   string      // "GET", "POST", ...
	Path     string      // the path as sent on the wire, still percent-encoded
	RawQuery string      // the query without "?", e.g. "format=ui"
	Header   http.Header // the request headers
	Body     []byte      // the request body
	Time     time.Time   // arrival time, from the server's clock

	// Served is true once the handler has returned.
	Served bool
	// Aborted is true when the client went away (cancelled the request or
	// closed the connection) before the server finished answering. A Cut by
	// the server is not an abort.
	Aborted bool

	cut bool // a Cut part dropped the connection
}

// sdkVersionHeader names the wire version a 6.4 SDK sends on every request.
const sdkVersionHeader = "X-Octavus-Sdk-Version"

// SDKVersion returns the request's X-Octavus-Sdk-Version header: the
// message wire version the SDK speaks, "4" for a 6.4 SDK, empty for a 2.0
// SDK (the platform then serves the current shape, v4, as well).
func (r Request) SDKVersion() string { return r.Header.Get(sdkVersionHeader) }

func (r *Request) clone() Request {
	c := *r
	c.Header = r.Header.Clone()
	c.Body = bytes.Clone(r.Body)
	return c
}

func (s *Server) record(r *http.Request, body []byte) *Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	rec := &Request{
		Seq:      len(s.requests) + 1,
		Method:   r.Method,
		Path:     r.URL.EscapedPath(),
		RawQuery: r.URL.RawQuery,
		Header:   r.Header.Clone(),
		Body:     body,
		Time:     s.now(),
	}
	s.requests = append(s.requests, rec)
	s.notifyLocked()
	return rec
}

func (s *Server) served(rec *Request, aborted bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rec.Served = true
	rec.Aborted = aborted && !rec.cut
	s.notifyLocked()
}

func (s *Server) notifyLocked() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// Requests returns a copy of every request received so far, in arrival order.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Request, len(s.requests))
	for i, r := range s.requests {
		out[i] = r.clone()
	}
	return out
}

// WaitRequest blocks until the n-th request (1-based, counting every request)
// has arrived, and returns it. It fails when ctx is done first.
func (s *Server) WaitRequest(ctx context.Context, n int) (Request, error) {
	return s.wait(ctx, n, func(*Request) bool { return true })
}

// WaitDone blocks until the n-th request (1-based) has been served, and
// returns it; Request.Aborted then tells whether the client went away
// mid-answer, e.g. because the SDK cancelled its context while a Stall held
// the stream open. It fails when ctx is done first.
func (s *Server) WaitDone(ctx context.Context, n int) (Request, error) {
	return s.wait(ctx, n, func(r *Request) bool { return r.Served })
}

func (s *Server) wait(ctx context.Context, n int, ready func(*Request) bool) (Request, error) {
	if n < 1 {
		return Request{}, errors.New("octavustest: request numbers start at 1")
	}
	for {
		s.mu.Lock()
		var rec *Request
		if n <= len(s.requests) && ready(s.requests[n-1]) {
			rec = s.requests[n-1]
		}
		var out Request
		if rec != nil {
			out = rec.clone()
		}
		ch := s.changed
		s.mu.Unlock()
		if rec != nil {
			return out, nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return Request{}, fmt.Errorf("octavustest: waiting for request %d: %w", n, ctx.Err())
		}
	}
}
