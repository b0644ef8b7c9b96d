package redisstore_test

// Infrastructure of the multi-replica tests: the replica program
// (internal/replica) built once, and started as real processes.

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/octavus-go/octavus/internal/testproc"
)

const (
	// buildTimeout bounds `go build` of the replica (a cold cache with
	// -race takes a while).
	buildTimeout = 5 * time.Minute
	// startTimeout bounds a replica's start, up to its "Listening on" line.
	startTimeout = 30 * time.Second
)

var (
	buildOnce sync.Once
	buildBin  string
	buildErr  error
	buildDir  string
)

// replicaBinary builds internal/replica once per test binary and returns
// its path.
func replicaBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "replica")
		if err != nil {
			buildErr = err
			return
		}
		buildDir = dir
		bin := filepath.Join(dir, "replica")
		ctx, cancel := context.WithTimeout(context.Background(), buildTimeout)
		defer cancel()
		if buildErr = testproc.Build(ctx, ".", "./internal/replica", bin); buildErr == nil {
			buildBin = bin
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return buildBin
}

// replica is a running replica process.
type replica = testproc.Process

// startReplica starts the replica program named name with env added to
// the environment and waits for its "Listening on <url>" line. It is
// stopped (SIGINT, then SIGKILL after testproc.StopGrace) when t ends; a
// data race report on its stderr then fails t.
func startReplica(t *testing.T, name string, env ...string) *replica {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), startTimeout)
	defer cancel()
	return testproc.Start(t, ctx, name, []string{replicaBinary(t)}, append(env, "REPLICA_OWNER="+name))
}
