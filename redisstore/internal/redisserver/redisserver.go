// Package redisserver starts a private redis-server for tests: its own
// process, listening only on a unix socket in a temporary folder, with
// persistence off, stopped when the test ends.
package redisserver

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/octavus-go/octavus/internal/testtool"
)

// startTimeout bounds how long redis-server may take to accept connections.
const startTimeout = 20 * time.Second

// Server is a running redis-server.
type Server struct {
	// Socket is the path of the server's unix socket.
	Socket string

	cmd    *exec.Cmd
	done   chan struct{}
	mu     sync.Mutex
	output strings.Builder
}

// Binary returns the path of redis-server, or skips t with a message saying
// it is missing. Under CI=true a missing redis-server fails t instead.
func Binary(t testing.TB) string {
	t.Helper()
	// testtool.Require also keeps go test from replaying the skip from its
	// cache once redis-server is installed.
	return testtool.Require(t, "redis-server", "the redisstore tests start their own (Debian package redis-server; .ci/run installs it)")
}

// Start starts a redis-server on a unix socket in a temporary folder of t
// and stops it when t ends. Without redis-server it skips t (fails under
// CI=true).
func Start(t testing.TB) *Server {
	t.Helper()
	bin := Binary(t)
	// Unix socket paths are limited to ~108 bytes; t.TempDir() can be long.
	dir, err := os.MkdirTemp("", "redis")
	if err != nil {
		t.Fatalf("redis temp dir: %v", err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	s := &Server{Socket: filepath.Join(dir, "redis.sock"), done: make(chan struct{})}
	s.cmd = exec.Command(bin,
		"--port", "0",
		"--unixsocket", s.Socket,
		"--unixsocketperm", "700",
		"--save", "",
		"--appendonly", "no",
		"--dir", dir,
		"--daemonize", "no",
		"--loglevel", "warning",
	)
	s.cmd.Stdout = (*outputWriter)(s)
	s.cmd.Stderr = (*outputWriter)(s)
	if err := s.cmd.Start(); err != nil {
		t.Fatalf("start redis-server: %v", err)
	}
	go func() {
		_ = s.cmd.Wait()
		close(s.done)
	}()
	t.Cleanup(s.stop)
	if err := s.waitReady(); err != nil {
		t.Fatalf("redis-server did not start: %v\n%s", err, s.Output())
	}
	return s
}

// Output returns what redis-server has written so far.
func (s *Server) Output() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.output.String()
}

type outputWriter Server

func (w *outputWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.output.Write(p)
}

// waitReady waits until the socket answers PING with PONG.
func (s *Server) waitReady() error {
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		err := ping(ctx, s.Socket)
		if err == nil {
			return nil
		}
		select {
		case <-s.done:
			return fmt.Errorf("redis-server exited: %w", err)
		case <-ctx.Done():
			return fmt.Errorf("%w (last: %w)", ctx.Err(), err)
		case <-tick.C:
		}
	}
}

func ping(ctx context.Context, socket string) error {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "unix", socket)
	if err != nil {
		return fmt.Errorf("dial: %w", err)
	}
	defer conn.Close()
	if deadline, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(deadline)
	}
	if _, err := io.WriteString(conn, "PING\r\n"); err != nil {
		return fmt.Errorf("write: %w", err)
	}
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		return fmt.Errorf("read: %w", err)
	}
	if strings.TrimSpace(line) != "+PONG" {
		return fmt.Errorf("PING answered %q", line)
	}
	return nil
}

// stop kills the server and waits for it to exit.
func (s *Server) stop() {
	select {
	case <-s.done:
		return
	default:
	}
	_ = s.cmd.Process.Kill()
	<-s.done
}
