package redisstore

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// The live tail. Every script that changes a log (append, finish, expire,
// claim) PUBLISHes on a channel named as the log's key. A waiting Read
// does not hold a connection: the store keeps one Pub/Sub connection,
// subscribed to the channels of the sessions it has waiting readers for,
// and wakes them on each message. A reader subscribes (and waits for the
// subscription's confirmation) before it reads its snapshot, so nothing
// published after the snapshot is missed; after a reconnection, go-redis
// subscribes again and the confirmation wakes every reader, which then
// reads what it may have missed meanwhile.

const (
	// pingEvery is how long the Pub/Sub connection may be quiet before it
	// is pinged, so that a dead connection is noticed and replaced.
	pingEvery = 30 * time.Second
	// retryEvery is the pause after a Pub/Sub error (Redis gone) before
	// the next receive.
	retryEvery = 200 * time.Millisecond
)

var (
	// errStoreClosed is returned by a waiting Read after Close.
	errStoreClosed = errors.New("redisstore: the store is closed")
	// errNotSubscribed is subscribe's answer when the wait ran out before
	// Redis confirmed the subscription.
	errNotSubscribed = errors.New("redisstore: the subscription was not confirmed in time")
)

type notifier struct {
	rdb redis.UniversalClient

	// cmdMu orders the SUBSCRIBE and UNSUBSCRIBE commands with the
	// changes of watches that cause them.
	cmdMu sync.Mutex

	mu      sync.Mutex
	ps      *redis.PubSub // nil until the first wait
	watches map[string]*watch
	// pending counts, per channel, the SUBSCRIBE commands sent and not yet
	// confirmed: a watch is ready once its channel has none (a late
	// confirmation of an earlier subscription must not make it ready
	// before its own SUBSCRIBE is in effect).
	pending map[string]int
	closed  bool
	cancel  context.CancelFunc
	done    chan struct{} // closed when the receive loop has returned
}

// watch is the waiting readers of one channel.
type watch struct {
	refs      int
	ready     chan struct{} // closed once the subscription is confirmed
	confirmed bool
	changed   chan struct{} // closed, and replaced, on each wake-up
}

// subscribe registers a reader of channel and returns once the channel's
// subscription is confirmed. When ctx is done first it returns ctx's
// error; when giveUp fires first, errNotSubscribed. release unregisters
// the reader.
func (n *notifier) subscribe(ctx context.Context, channel string, giveUp <-chan time.Time) (*watch, func(), error) {
	n.cmdMu.Lock()
	n.mu.Lock()
	if n.closed {
		n.mu.Unlock()
		n.cmdMu.Unlock()
		return nil, nil, errStoreClosed
	}
	if n.ps == nil {
		n.ps = n.rdb.Subscribe(context.Background())
		var loopCtx context.Context
		loopCtx, n.cancel = context.WithCancel(context.Background())
		n.done = make(chan struct{})
		go n.loop(loopCtx, n.ps, n.done)
	}
	w := n.watches[channel]
	fresh := w == nil
	if fresh {
		w = &watch{ready: make(chan struct{}), changed: make(chan struct{})}
		n.watches[channel] = w
	}
	w.refs++
	if fresh {
		n.pending[channel]++
	}
	ps := n.ps
	n.mu.Unlock()
	var err error
	if fresh {
		err = ps.Subscribe(ctx, channel)
	}
	n.cmdMu.Unlock()
	release := func() { n.release(channel, w) }
	if err != nil {
		release()
		return nil, nil, fmt.Errorf("redisstore: subscribe %s: %w", channel, err)
	}
	select {
	case <-w.ready:
		return w, release, nil
	case <-ctx.Done():
		release()
		return nil, nil, ctx.Err()
	case <-giveUp:
		release()
		return nil, nil, errNotSubscribed
	}
}

func (n *notifier) release(channel string, w *watch) {
	n.cmdMu.Lock()
	defer n.cmdMu.Unlock()
	n.mu.Lock()
	w.refs--
	last := w.refs == 0 && n.watches[channel] == w
	if last {
		delete(n.watches, channel)
	}
	ps, closed := n.ps, n.closed
	n.mu.Unlock()
	if last && !closed {
		// A failed UNSUBSCRIBE leaves a subscription whose messages find
		// no watch; the next reconnection drops it.
		_ = ps.Unsubscribe(context.Background(), channel)
	}
}

// isClosed reports whether close was called.
func (n *notifier) isClosed() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.closed
}

// closedChan is a closed channel.
var closedChan = func() chan struct{} { c := make(chan struct{}); close(c); return c }()

// changedChan returns the channel that the next wake-up of w closes: a
// closed one once the notifier is closed, so that no reader waits on a
// channel that nothing will close.
func (n *notifier) changedChan(w *watch) <-chan struct{} {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed {
		return closedChan
	}
	return w.changed
}

// wakeLocked wakes the readers of channel, on a message or, with confirm,
// on a subscription's confirmation; n.mu is held.
func (n *notifier) wakeLocked(channel string, confirm bool) {
	w := n.watches[channel]
	if w == nil {
		if confirm {
			n.pending[channel] = max(n.pending[channel]-1, 0)
			if n.pending[channel] == 0 {
				delete(n.pending, channel)
			}
		}
		return
	}
	if confirm {
		if p := n.pending[channel]; p > 1 {
			n.pending[channel] = p - 1
		} else {
			delete(n.pending, channel)
		}
		if !w.confirmed && n.pending[channel] == 0 {
			w.confirmed = true
			close(w.ready)
		}
	}
	close(w.changed)
	w.changed = make(chan struct{})
}

// loop receives the Pub/Sub messages until ctx is cancelled (Close).
func (n *notifier) loop(ctx context.Context, ps *redis.PubSub, done chan<- struct{}) {
	defer close(done)
	retry := time.NewTimer(0)
	if !retry.Stop() {
		<-retry.C
	}
	defer retry.Stop()
	for ctx.Err() == nil {
		msg, err := ps.ReceiveTimeout(ctx, pingEvery)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			var timeout interface{ Timeout() bool }
			if errors.As(err, &timeout) && timeout.Timeout() {
				_ = ps.Ping(ctx)
				continue
			}
			// Redis is gone or the connection broke: go-redis reconnects
			// (and subscribes again) on the next receive.
			retry.Reset(retryEvery)
			select {
			case <-retry.C:
			case <-ctx.Done():
				return
			}
			continue
		}
		n.mu.Lock()
		switch m := msg.(type) {
		case *redis.Subscription:
			if m.Kind == "subscribe" {
				n.wakeLocked(m.Channel, true)
			}
		case *redis.Message:
			n.wakeLocked(m.Channel, false)
		}
		n.mu.Unlock()
	}
}

// close stops the receive loop and closes the Pub/Sub connection.
func (n *notifier) close() error {
	n.cmdMu.Lock()
	defer n.cmdMu.Unlock()
	n.mu.Lock()
	if n.closed {
		n.mu.Unlock()
		return nil
	}
	n.closed = true
	ps, cancel, done := n.ps, n.cancel, n.done
	n.mu.Unlock()
	if ps == nil {
		return nil
	}
	cancel()
	err := ps.Close()
	<-done
	n.mu.Lock()
	for _, w := range n.watches {
		if !w.confirmed {
			w.confirmed = true
			close(w.ready)
		}
		close(w.changed)
		w.changed = make(chan struct{})
	}
	n.mu.Unlock()
	if err != nil {
		return fmt.Errorf("redisstore: close the Pub/Sub connection: %w", err)
	}
	return nil
}
