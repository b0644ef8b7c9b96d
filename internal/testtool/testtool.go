// Package testtool finds the programs outside Go that tests need (node,
// npm, chromium, redis-server) in a way Go's test cache notices.
//
// `go test` replays a cached result unless a file the test stat'ed or
// opened, or an environment variable it read with os.Getenv or
// os.LookupEnv, has changed since. Look finds a program with exec.LookPath
// in the test process itself, which stats each candidate on PATH: a test
// that skipped because node was missing runs again once node is installed,
// and a test that ran is run again when the program it found is replaced.
// A lookup that happens elsewhere is invisible to the cache: in a child
// process (`sh -c 'command -v node'`, an npm script), in a file the test
// wrote earlier, or through os.Environ (which is not recorded, unlike
// os.Getenv). See CONTRIBUTING.md, "External tools and the test cache".
//
// Under CI=true nothing may skip for a missing tool: Require and Skip fail
// the test instead.
package testtool

import (
	"fmt"
	"os"
	"os/exec"
	"testing"
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
// for a missing tool.
func Skip(t testing.TB, msg string) {
	t.Helper()
	if InCI() {
		t.Fatal(msg + " (CI=true: not skipping)")
	}
	t.Skip(msg)
}
