//go:build !linux

package octavus

// hangupWatcher has no way here to learn at once that a browser left a
// hijacked stream: the heartbeat's look at the socket (peerClosed) and a
// failed write notice it.
type hangupWatcher struct{}

// watch registers nothing: it returns 0, no registration.
func (*hangupWatcher) watch(*sseWriter) uint64 { return 0 }

// forget has nothing to deregister.
func (*hangupWatcher) forget(uint64) {}
