package octavus

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/octavus-go/octavus/internal/testtool"
)

// oracleDir finds the official SDKs: OCTAVUS_ORACLE_DIR, or shared/oracle
// next to the repository or one of its parents ($(git rev-parse
// --show-toplevel)/../shared/oracle in CI).
func oracleDir() string {
	if d := os.Getenv("OCTAVUS_ORACLE_DIR"); d != "" {
		if _, err := os.Stat(filepath.Join(d, "server-sdk-6.4.0.mjs")); err != nil {
			return ""
		}
		return d
	}
	dir, err := filepath.Abs(".")
	if err != nil {
		return ""
	}
	for i := 0; i < 4; i++ {
		cand := filepath.Join(dir, "..", "shared", "oracle")
		if _, err := os.Stat(filepath.Join(cand, "server-sdk-6.4.0.mjs")); err == nil {
			return cand
		}
		dir = filepath.Dir(dir)
	}
	return ""
}

// requireOracle returns the folder of the official 6.4.0 SDKs (oracleDir)
// for tests that run them with node. When the folder or node is missing the
// test is skipped with what is missing and what is still checked without
// them (still), except under CI=true, where nothing may skip: that fails.
func requireOracle(t *testing.T, still string) string {
	t.Helper()
	dir := oracleDir()
	_, nodeErr := testtool.Look("node")
	if dir != "" && nodeErr == nil {
		return dir
	}
	msg := "the 6.4.0 server SDK (../shared/oracle, or OCTAVUS_ORACLE_DIR) or node is missing"
	if still != "" {
		msg += ": " + still
	}
	testtool.Skip(t, msg)
	return ""
}

// runNode runs `node script args...` (requireOracle has found node), with
// stdin (nil for none), for at most timeout (0: only the test's own
// deadline), and returns what it wrote on standard output. A failure fails
// the test with node's standard error.
func runNode(t *testing.T, timeout time.Duration, stdin []byte, script string, args ...string) []byte {
	t.Helper()
	ctx := t.Context()
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	cmd := exec.CommandContext(ctx, "node", append([]string{script}, args...)...)
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node %s: %v\n%s", script, err, stderr.String())
	}
	return out
}
