package redisstore_test

// Infrastructure of the multi-replica tests: the replica program
// (internal/replica) built once, and started as real processes.

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"strings"
	"sync"
	"testing"
	"time"
)

const (
	// buildTimeout bounds `go build` of the replica (a cold cache with
	// -race takes a while).
	buildTimeout = 5 * time.Minute
	// startTimeout bounds a replica's start, up to its "Listening on" line.
	startTimeout = 30 * time.Second
	// stopGrace is how long a replica may take to exit after SIGINT
	// before it is killed.
	stopGrace = 15 * time.Second
)

// raceEnabled reports whether this test binary was built with -race; the
// replica is then built with -race too, so that a data race in the SDK or
// the store under real traffic fails the test.
func raceEnabled() bool {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return false
	}
	for _, s := range info.Settings {
		if s.Key == "-race" {
			return s.Value == "true"
		}
	}
	return false
}

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
		goBin, err := exec.LookPath("go")
		if err != nil {
			buildErr = fmt.Errorf("go is not on PATH to build the replica: %w", err)
			return
		}
		buildDir, err = os.MkdirTemp("", "replica")
		if err != nil {
			buildErr = err
			return
		}
		bin := filepath.Join(buildDir, "replica")
		args := []string{"build", "-o", bin}
		if raceEnabled() {
			args = append(args, "-race")
		}
		args = append(args, "./internal/replica")
		ctx, cancel := context.WithTimeout(context.Background(), buildTimeout)
		defer cancel()
		cmd := exec.CommandContext(ctx, goBin, args...)
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go %s: %w\n%s", strings.Join(args, " "), err, out)
			return
		}
		buildBin = bin
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return buildBin
}

// syncBuffer is a bytes.Buffer safe for a process writer and a reader.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// listeningLine is what the replica prints once it accepts requests.
var listeningLine = regexp.MustCompile(`(?m)^Listening on (http://\S+)$`)

// urlWatcher is a process's stdout: it keeps everything and reports the URL
// of the first "Listening on <url>" line.
type urlWatcher struct {
	syncBuffer
	once sync.Once
	url  chan string // receives the URL once
}

func (w *urlWatcher) Write(p []byte) (int, error) {
	n, err := w.syncBuffer.Write(p)
	if m := listeningLine.FindStringSubmatch(w.syncBuffer.String()); m != nil {
		w.once.Do(func() { w.url <- m[1] })
	}
	return n, err
}

// replica is a running replica process.
type replica struct {
	name   string
	url    string
	cmd    *exec.Cmd
	stdout *urlWatcher
	stderr *syncBuffer

	exited  chan struct{} // closed once the process has exited
	waitErr error         // set before exited is closed
}

// startReplica starts the replica program named name with env added to
// the environment and waits for its "Listening on <url>" line. It is
// stopped (SIGINT, then SIGKILL after stopGrace) when t ends; a data race
// report on its stderr then fails t.
func startReplica(t *testing.T, name string, env ...string) *replica {
	t.Helper()
	bin := replicaBinary(t)
	r := &replica{
		name:   name,
		stdout: &urlWatcher{url: make(chan string, 1)},
		stderr: &syncBuffer{},
		exited: make(chan struct{}),
	}
	r.cmd = exec.Command(bin)
	r.cmd.Env = append(os.Environ(), env...)
	r.cmd.Env = append(r.cmd.Env, "REPLICA_OWNER="+name)
	r.cmd.Stdout = r.stdout
	r.cmd.Stderr = r.stderr
	if err := r.cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", name, err)
	}
	go func() {
		r.waitErr = r.cmd.Wait()
		close(r.exited)
	}()
	t.Cleanup(func() {
		r.stop()
		if strings.Contains(r.stderr.String(), "WARNING: DATA RACE") {
			t.Errorf("%s reported a data race:\n%s", name, r.logs())
		}
	})
	timer := time.NewTimer(startTimeout)
	defer timer.Stop()
	select {
	case r.url = <-r.stdout.url:
		return r
	case <-r.exited:
		t.Fatalf("%s exited before it listened: %v\n%s", name, r.waitErr, r.logs())
	case <-timer.C:
		t.Fatalf("%s did not print its URL in time\n%s", name, r.logs())
	}
	return nil
}

// kill ends the process with SIGKILL: no shutdown, no last writes.
func (r *replica) kill(t *testing.T) {
	t.Helper()
	if err := r.cmd.Process.Kill(); err != nil {
		t.Fatalf("kill %s: %v", r.name, err)
	}
	<-r.exited
}

// stop ends the process: SIGINT (the replica shuts down on it), SIGKILL if
// it is still there after stopGrace.
func (r *replica) stop() {
	select {
	case <-r.exited:
		return
	default:
	}
	if err := r.cmd.Process.Signal(os.Interrupt); err != nil {
		_ = r.cmd.Process.Kill()
	}
	timer := time.NewTimer(stopGrace)
	defer timer.Stop()
	select {
	case <-r.exited:
	case <-timer.C:
		_ = r.cmd.Process.Kill()
		<-r.exited
	}
}

// logs is the process's output so far, for failure reports.
func (r *replica) logs() string {
	return fmt.Sprintf("%s stdout:\n%s%s stderr:\n%s", r.name, indentText(r.stdout.String()), r.name, indentText(r.stderr.String()))
}

func indentText(s string) string {
	if s == "" {
		return "  (empty)\n"
	}
	return "  " + strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n  ") + "\n"
}
