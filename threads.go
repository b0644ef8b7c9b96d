package octavus

// MainThread is the name of the main conversation thread. Message parts with
// no thread belong to it.
const MainThread = "main"

// ResolveThread returns thread, or MainThread when thread is empty.
func ResolveThread(thread string) string {
	if thread == "" {
		return MainThread
	}
	return thread
}

// IsMainThread reports whether thread names the main thread (empty counts).
func IsMainThread(thread string) bool { return thread == "" || thread == MainThread }

// ThreadForPart returns the value to store in a part's thread field: empty
// for the main thread, thread otherwise.
func ThreadForPart(thread string) string {
	if IsMainThread(thread) {
		return ""
	}
	return thread
}

// IsOtherThread reports whether a part with this thread belongs to a thread
// other than the main one.
func IsOtherThread(thread string) bool { return !IsMainThread(thread) }
