// Package testtool finds the programs outside Go that tests need (node,
// npm, chromium, redis-server), skips a test that cannot run without one
// (or fails it under CI=true), and keeps `go test` from caching such a
// skip, so the next run of the same command uses a program installed in
// between.
//
// Go's test cache replays a result unless an environment variable the test
// read, or a file it stat'ed or opened inside its module, has changed.
// Files outside the module are not rechecked: exec.LookPath stats
// /usr/bin/node, the test log records it, but `go test` ignores that entry,
// so installing node into /usr/bin does not make a cached skip run again
// (CONTRIBUTING.md, "External tools and the test cache", has the
// experiment). Skip therefore opens a stamp file in the test's package
// folder whose modification time lies in the future: `go test` does not
// cache a result that read a file modified "less than 2 s ago", so a
// skipped run is never replayed, while a run that found its programs is
// cached as usual.
package testtool

import (
	"fmt"
	"os"
	"os/exec"
	"sync"
	"testing"
	"time"
)

// InCI reports whether the tests run under CI=true, where a missing tool
// fails a test instead of skipping it. It reads CI with os.Getenv, so the
// test cache notices a change.
func InCI() bool { return os.Getenv("CI") == "true" }

// Look returns the path of the program name, found as exec.LookPath finds
// it (PATH, or name itself when it holds a slash), or an error that says
// it is missing.
func Look(name string) (string, error) {
	path, err := exec.LookPath(name)
	if err != nil {
		return "", fmt.Errorf("%s is not installed (not on PATH): %w", name, err)
	}
	return path, nil
}

// Require returns the path of the program name (Look). When it is missing
// the test is skipped with the reason and why it is needed (why, e.g. "the
// conformance scenarios run the official SDK on Node.js 20+"), or fails
// under CI=true.
func Require(t testing.TB, name, why string) string {
	t.Helper()
	path, err := Look(name)
	if err != nil {
		Skip(t, fmt.Sprintf("%v: %s", err, why))
	}
	return path
}

// Skip skips t with msg, or fails it under CI=true, where nothing may skip
// for a missing tool. Before skipping it writes StampFile (see the package
// doc), so that `go test` runs the test again next time instead of
// replaying the skip.
func Skip(t testing.TB, msg string) {
	t.Helper()
	if InCI() {
		t.Fatal(msg + " (CI=true: not skipping)")
	}
	if err := writeStamp(msg); err != nil {
		t.Logf("testtool: %v (go test may replay this skip from its cache; -count=1 runs it again)", err)
	}
	t.Skip(msg)
}

// StampFile is written in the test's working folder (its package folder)
// when a test skips for a missing tool. It is ignored by git.
const StampFile = ".missing-tool-stamp"

// stampMu serialises the writes of parallel tests to StampFile.
var stampMu sync.Mutex

// writeStamp writes StampFile with msg and moves its modification time far
// into the future, which makes `go test` refuse to cache the run that
// opened it.
func writeStamp(msg string) error {
	stampMu.Lock()
	defer stampMu.Unlock()
	text := "A test skipped, and `go test` must not cache that:\n" + msg + "\n"
	if err := os.WriteFile(StampFile, []byte(text), 0o644); err != nil {
		return fmt.Errorf("writing %s: %w", StampFile, err)
	}
	future := time.Now().AddDate(100, 0, 0)
	if err := os.Chtimes(StampFile, future, future); err != nil {
		return fmt.Errorf("dating %s: %w", StampFile, err)
	}
	return nil
}
