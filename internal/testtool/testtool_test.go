package testtool

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fakeTB records what Require and Skip did to a test without ending the
// real one: Skip and Fatal stop the calling goroutine, as testing.T does.
type fakeTB struct {
	testing.TB
	skipped, failed string
}

func (f *fakeTB) Helper() {}
func (f *fakeTB) Skip(args ...any) {
	f.skipped = strings.TrimSpace(strings.Join(strs(args), " "))
	panic(f)
}
func (f *fakeTB) Fatal(args ...any) {
	f.failed = strings.TrimSpace(strings.Join(strs(args), " "))
	panic(f)
}

func strs(args []any) []string {
	out := make([]string, len(args))
	for i, a := range args {
		out[i] = a.(string)
	}
	return out
}

// call runs fn with a fakeTB and returns fn's result and the fake.
func call(fn func(tb testing.TB) string) (result string, f *fakeTB) {
	f = &fakeTB{}
	defer func() {
		if r := recover(); r != nil && r != f {
			panic(r)
		}
	}()
	return fn(f), f
}

// pathWith makes PATH a single temporary folder holding the executable
// files given, and runs the test in another temporary folder (where Skip
// writes its stamp).
func pathWith(t *testing.T, names ...string) string {
	t.Chdir(t.TempDir())
	dir := t.TempDir()
	for _, n := range names {
		require.NoError(t, os.WriteFile(filepath.Join(dir, n), []byte("#!/bin/sh\n"), 0o755))
	}
	t.Setenv("PATH", dir)
	return dir
}

func TestRequireFindsTheProgram(t *testing.T) {
	dir := pathWith(t, "sometool")
	t.Setenv("CI", "")
	got, f := call(func(tb testing.TB) string { return Require(tb, "sometool", "needed for X") })
	assert.Equal(t, filepath.Join(dir, "sometool"), got)
	assert.Empty(t, f.skipped)
	assert.Empty(t, f.failed)
}

func TestRequireSkipsWithTheReason(t *testing.T) {
	pathWith(t)
	t.Setenv("CI", "")
	_, f := call(func(tb testing.TB) string { return Require(tb, "sometool", "the X test runs it") })
	assert.Contains(t, f.skipped, "sometool is not installed (not on PATH)")
	assert.True(t, strings.HasSuffix(f.skipped, ": the X test runs it"), f.skipped)
	assert.Empty(t, f.failed)

	// The stamp that keeps go test from caching the skip: it names the
	// reason and is dated in the future.
	stamp, err := os.ReadFile(StampFile)
	require.NoError(t, err)
	assert.Contains(t, string(stamp), f.skipped)
	info, err := os.Stat(StampFile)
	require.NoError(t, err)
	assert.True(t, info.ModTime().After(time.Now().AddDate(1, 0, 0)), "modified %v", info.ModTime())
}

func TestRequireFailsUnderCI(t *testing.T) {
	pathWith(t)
	t.Setenv("CI", "true")
	_, f := call(func(tb testing.TB) string { return Require(tb, "sometool", "the X test runs it") })
	assert.Empty(t, f.skipped)
	assert.Contains(t, f.failed, "sometool is not installed")
	assert.True(t, strings.HasSuffix(f.failed, "(CI=true: not skipping)"), f.failed)
	_, err := os.Stat(StampFile)
	assert.ErrorIs(t, err, os.ErrNotExist, "a failure needs no stamp: go test does not cache failures")
}

func TestLookNamesTheMissingProgram(t *testing.T) {
	pathWith(t)
	_, err := Look("sometool")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "sometool is not installed")
}
