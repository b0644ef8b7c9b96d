// Package testproc runs the programs that tests start as real processes
// (an example app server, a replica): it builds them with `go build` (with
// -race when the test binary has it) and starts them, waits for their
// "Listening on <url>" line, and stops them when the test ends, failing it
// on a data race report.
package testproc

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"runtime/debug"
	"strings"
	"sync"
	"testing"
	"time"
)

// StopGrace is how long a stopped process may take to exit after SIGINT
// before it is killed.
const StopGrace = 15 * time.Second

// RaceEnabled reports whether this test binary was built with -race; the
// programs it builds are then built with -race too, so that a data race
// under real traffic fails the test.
func RaceEnabled() bool {
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

// Build runs `go build -o bin pkg` in dir (with -race under RaceEnabled)
// and returns the command's output in the error when it fails.
func Build(ctx context.Context, dir, pkg, bin string) error {
	goBin, err := exec.LookPath("go")
	if err != nil {
		return fmt.Errorf("go is not on PATH to build %s: %w", pkg, err)
	}
	args := []string{"build", "-o", bin}
	if RaceEnabled() {
		args = append(args, "-race")
	}
	args = append(args, pkg)
	cmd := exec.CommandContext(ctx, goBin, args...)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go %s: %w\n%s", strings.Join(args, " "), err, out)
	}
	return nil
}

// SyncBuffer is a bytes.Buffer safe for a process writer and a reader.
type SyncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *SyncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *SyncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// listeningLine is what the programs print once they accept requests.
var listeningLine = regexp.MustCompile(`^Listening on (http://\S+)$`)

// urlWatcher is a process's stdout: it keeps everything and reports the URL
// of the first "Listening on <url>" line.
type urlWatcher struct {
	SyncBuffer
	mu      sync.Mutex
	partial []byte
	found   bool
	url     chan string // receives the URL once
}

func (w *urlWatcher) Write(p []byte) (int, error) {
	if _, err := w.SyncBuffer.Write(p); err != nil {
		return 0, err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.partial = append(w.partial, p...)
	for {
		i := bytes.IndexByte(w.partial, '\n')
		if i < 0 {
			break
		}
		line := strings.TrimRight(string(w.partial[:i]), "\r")
		w.partial = w.partial[i+1:]
		if m := listeningLine.FindStringSubmatch(line); m != nil && !w.found {
			w.found = true
			w.url <- m[1]
		}
	}
	return len(p), nil
}

// Process is a running program.
type Process struct {
	Name string
	URL  string // from its "Listening on <url>" line
	// Stdout and Stderr hold what it printed so far.
	Stdout, Stderr *SyncBuffer

	cmd     *exec.Cmd
	stdout  *urlWatcher
	exited  chan struct{} // closed once the process has exited
	waitErr error         // set before exited is closed
}

// Start starts argv with env added to the environment and waits, at most
// until ctx is done, for its "Listening on <url>" line. The process is
// stopped (Stop) when t ends; a data race report on its stderr then fails
// t.
func Start(t testing.TB, ctx context.Context, name string, argv, env []string) *Process {
	t.Helper()
	p := &Process{
		Name:   name,
		stdout: &urlWatcher{url: make(chan string, 1)},
		Stderr: &SyncBuffer{},
		exited: make(chan struct{}),
	}
	p.Stdout = &p.stdout.SyncBuffer
	p.cmd = exec.Command(argv[0], argv[1:]...)
	p.cmd.Env = append(os.Environ(), env...)
	p.cmd.Stdout = p.stdout
	p.cmd.Stderr = p.Stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", name, err)
	}
	go func() {
		p.waitErr = p.cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		p.Stop()
		if strings.Contains(p.Stderr.String(), "WARNING: DATA RACE") {
			t.Errorf("%s reported a data race:\n%s", name, p.Logs())
		}
	})
	select {
	case p.URL = <-p.stdout.url:
		return p
	case <-p.exited:
		t.Fatalf("%s exited before it listened: %v\n%s", name, p.waitErr, p.Logs())
	case <-ctx.Done():
		t.Fatalf("%s did not print its URL in time\n%s", name, p.Logs())
	}
	return nil
}

// Kill ends the process with SIGKILL (no shutdown, no last writes) and
// waits for it to exit.
func (p *Process) Kill(t testing.TB) {
	t.Helper()
	if err := p.cmd.Process.Kill(); err != nil {
		t.Fatalf("kill %s: %v", p.Name, err)
	}
	<-p.exited
}

// Stop ends the process: SIGINT (the programs shut down on it), SIGKILL if
// it is still there after StopGrace.
func (p *Process) Stop() {
	select {
	case <-p.exited:
		return
	default:
	}
	if err := p.cmd.Process.Signal(os.Interrupt); err != nil {
		_ = p.cmd.Process.Kill()
	}
	timer := time.NewTimer(StopGrace)
	defer timer.Stop()
	select {
	case <-p.exited:
	case <-timer.C:
		_ = p.cmd.Process.Kill()
		<-p.exited
	}
}

// Logs is the process's output so far, for failure reports.
func (p *Process) Logs() string {
	return fmt.Sprintf("%s stdout:\n%s%s stderr:\n%s", p.Name, Indent(p.Stdout.String()), p.Name, Indent(p.Stderr.String()))
}

// Indent indents s by two spaces for a failure report ("(empty)" when it
// is empty).
func Indent(s string) string {
	if s == "" {
		return "  (empty)\n"
	}
	return "  " + strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n  ") + "\n"
}
