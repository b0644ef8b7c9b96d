package octavus

import (
	"encoding/binary"
	"sync"
	"syscall"
	"time"
)

// hangupWatcher notices at once that a browser left a hijacked stream
// (see HandlerOptions.Hijack), where the heartbeat's look at the socket
// would notice it only at the next tick: the connections of one Handler's
// open hijacked streams are registered in a private epoll set, edge
// triggered for input and the peer's hang-up, and one goroutine waits on
// it. That goroutine (and the epoll instance and its wake-up eventfd) is
// started by the first stream that registers and ended once the last one
// left, so an idle Handler holds nothing.
//
// An event carries a registration id, never reused, not the fd number; a
// connection is always deregistered before it is closed, so a reused fd
// number is never confused with the stream that had it. If epoll cannot be
// set up, streams go unwatched: the heartbeat's look is the fallback.
type hangupWatcher struct {
	mu      sync.Mutex
	running bool // the goroutine waits on epfd
	epfd    int
	wake    int // an eventfd in the set under id 0: the goroutine's exit
	next    uint64
	streams map[uint64]*sseWriter
	// checked, when set (by tests, before the first stream), is called
	// after each look at a connection that had events.
	checked func(closed bool)
	// off, when set (by tests, before the first stream), watches
	// nothing: the heartbeat's look is all there is, as where epoll is
	// not.
	off bool
}

// hangupEvents are the events a stream's connection is watched for: data
// the browser sends (a TLS close_notify, a pipelined request) and the end
// of its stream, edge-triggered so that data left unread does not wake the
// watcher again.
const hangupEvents = syscall.EPOLLIN | syscall.EPOLLRDHUP | syscall.EPOLLET&0xffffffff // EPOLLET is negative in syscall

// maxBusyLooks bounds the looks that find more data than one look
// discards (32 KiB each): past them the stream is ended as if the browser
// had left.
const maxBusyLooks = 8

// hangupGone are the events that say the browser's end is over for
// reading whatever data waits before it.
const hangupGone = syscall.EPOLLRDHUP | syscall.EPOLLHUP | syscall.EPOLLERR

// watch registers sw's connection and returns its registration id, or 0
// when it is not watched (no socket, epoll unavailable).
func (w *hangupWatcher) watch(sw *sseWriter) uint64 {
	raw, _ := rawConn(sw.conn)
	if raw == nil || w.off {
		return 0
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.running && !w.startLocked() {
		return 0
	}
	w.next++
	id := w.next
	ev := syscall.EpollEvent{Events: hangupEvents, Fd: int32(uint32(id)), Pad: int32(uint32(id >> 32))}
	var ctlErr error
	if err := raw.Control(func(fd uintptr) {
		ctlErr = syscall.EpollCtl(w.epfd, syscall.EPOLL_CTL_ADD, int(fd), &ev)
	}); err != nil || ctlErr != nil {
		w.stopIfIdleLocked()
		return 0
	}
	if w.streams == nil {
		w.streams = map[uint64]*sseWriter{}
	}
	w.streams[id] = sw
	return id
}

// startLocked sets up the epoll set and its wake-up eventfd and starts
// the goroutine; false when they cannot be set up.
func (w *hangupWatcher) startLocked() bool {
	epfd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		return false
	}
	wake, _, errno := syscall.Syscall(syscall.SYS_EVENTFD2, 0, syscall.O_CLOEXEC|syscall.O_NONBLOCK, 0)
	if errno != 0 {
		_ = syscall.Close(epfd)
		return false
	}
	ev := syscall.EpollEvent{Events: syscall.EPOLLIN} // id 0
	if err := syscall.EpollCtl(epfd, syscall.EPOLL_CTL_ADD, int(wake), &ev); err != nil {
		_ = syscall.Close(int(wake))
		_ = syscall.Close(epfd)
		return false
	}
	w.running, w.epfd, w.wake = true, epfd, int(wake)
	go w.loop(epfd, int(wake))
	return true
}

// forget deregisters the stream of registration id (0: none), if it still
// is registered. It is called before the stream's connection is closed.
func (w *hangupWatcher) forget(id uint64) {
	if id == 0 {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	sw, ok := w.streams[id]
	if !ok {
		return
	}
	delete(w.streams, id)
	if raw, _ := rawConn(sw.conn); raw != nil {
		_ = raw.Control(func(fd uintptr) {
			_ = syscall.EpollCtl(w.epfd, syscall.EPOLL_CTL_DEL, int(fd), nil)
		})
	}
	w.stopIfIdleLocked()
}

// stopIfIdleLocked wakes the goroutine to end once no stream is watched.
func (w *hangupWatcher) stopIfIdleLocked() {
	if len(w.streams) > 0 || !w.running {
		return
	}
	var one [8]byte
	binary.NativeEndian.PutUint64(one[:], 1)
	_, _ = syscall.Write(w.wake, one[:])
}

// loop is the watcher's goroutine: it waits for events on epfd and ends
// the streams whose browser left, until it is woken with none watched.
func (w *hangupWatcher) loop(epfd, wake int) {
	defer func() {
		_ = syscall.Close(wake)
		_ = syscall.Close(epfd)
	}()
	var events [64]syscall.EpollEvent
	// pending are the streams whose last look stopped with more waiting:
	// looked at again after the next round's events, edge-triggered
	// epoll would not report them again.
	var pending []uint64
	for {
		timeout := -1
		if len(pending) > 0 {
			timeout = 0
		}
		n, err := syscall.EpollWait(epfd, events[:], timeout)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			// Not expected: the streams go unwatched (the heartbeat's
			// look remains) and the next one starts afresh.
			w.mu.Lock()
			w.streams = nil
			w.running = false
			w.mu.Unlock()
			return
		}
		again := pending[:0:0]
		woken := false
		for _, ev := range events[:n] {
			id := uint64(uint32(ev.Fd)) | uint64(uint32(ev.Pad))<<32
			if id == 0 {
				woken = true
				var b [8]byte
				_, _ = syscall.Read(wake, b[:])
				continue
			}
			if w.check(id, ev.Events) {
				again = append(again, id)
			}
		}
		for _, id := range pending {
			if w.check(id, 0) {
				again = append(again, id)
			}
		}
		pending = again
		if woken {
			w.mu.Lock()
			if len(w.streams) == 0 {
				w.running = false
				w.mu.Unlock()
				return
			}
			w.mu.Unlock()
		}
	}
}

// check looks at the connection of registration id, which had events: when
// the browser left, its stream ends as at a failed write (the execution is
// cancelled, nothing more is written) and it is deregistered. What the
// browser sent is read and discarded (peerLook); more says that more may
// be waiting, to be looked at again.
func (w *hangupWatcher) check(id uint64, events uint32) (more bool) {
	w.mu.Lock()
	sw, ok := w.streams[id]
	w.mu.Unlock()
	if !ok {
		return false // deregistered since
	}
	closed, more := peerLook(sw.conn)
	closed = closed || events&hangupGone != 0
	if more {
		// A browser sends nothing after its request but a TLS
		// close_notify: one that keeps uploading would keep this
		// goroutine busy (and lose TCP's backpressure). After 8 looks
		// of 32 KiB it is served no more.
		sw.busyLooks++
		if sw.busyLooks > maxBusyLooks {
			closed, more = true, false
		}
	}
	if w.checked != nil && !more {
		defer w.checked(closed)
	}
	if !closed {
		return more
	}
	// A write that blocks (a browser that stopped reading, then left)
	// holds sw.mu: a passed deadline ends it, so that this goroutine,
	// which watches every stream of the Handler, does not wait for it.
	_ = sw.conn.SetWriteDeadline(time.Unix(1, 0))
	sw.mu.Lock()
	if !sw.gone {
		sw.leave()
	}
	sw.mu.Unlock()
	w.forget(id)
	return false
}
