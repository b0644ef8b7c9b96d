package conformance

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/octavus-go/octavus/internal/testtool"
)

// runTimeout bounds one SDK run of one scenario.
const runTimeout = 30 * time.Second

// run is what one SDK did in one scenario.
type run struct {
	sse    []byte   // the bytes its SSE writer produced
	bodies [][]byte // the raw bodies it POSTed to /trigger
	log    []string // the platform's request log
	stderr string   // Node only
}

var (
	nodeSetupOnce sync.Once
	nodeSetupErr  error
	nodeSkipMsg   string
)

// requireNode makes sure node is installed and conformance/node_modules is
// there (running `npm ci` once when it is not, and saying so on stderr).
// Without node the test is skipped, except under CI=true where that is a
// failure. The lookups go through testtool, so a node installed after a
// skipped run makes the next `go test` run the test instead of replaying
// the skip from the cache.
func requireNode(t *testing.T) {
	t.Helper()
	nodeSetupOnce.Do(func() {
		if _, err := testtool.Look("node"); err != nil {
			nodeSkipMsg = fmt.Sprintf("%v: the conformance scenarios need Node.js >= 20 to run the reference @octavus/server-sdk", err)
			return
		}
		if _, err := os.Stat("node_modules/@octavus/server-sdk/package.json"); err == nil {
			return
		}
		npm, err := testtool.Look("npm")
		if err != nil {
			nodeSetupErr = fmt.Errorf("conformance/node_modules is missing and npm cannot install it (run `npm ci` in conformance/): %w", err)
			return
		}
		dir, _ := filepath.Abs(".")
		fmt.Fprintf(os.Stderr, "conformance: running `npm ci` in %s: node_modules is missing, and the scenarios run the official @octavus/server-sdk and client-sdk 2.0.0 (and ws) from it\n", dir)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, npm, "ci", "--no-audit", "--no-fund")
		out, err := cmd.CombinedOutput()
		if err != nil {
			nodeSetupErr = fmt.Errorf("`npm ci` in conformance/ failed: %w\n%s", err, out)
		}
	})
	if nodeSetupErr != nil {
		t.Fatal(nodeSetupErr)
	}
	if nodeSkipMsg != "" {
		testtool.Skip(t, nodeSkipMsg)
	}
}

// oracleDirEnv names the environment variable that says where the 6.4.0
// oracle bundle (server-sdk-6.4.0.mjs) is, overriding <repo>/../shared/oracle.
const oracleDirEnv = "OCTAVUS_ORACLE_DIR"

// oracleFile is the 6.4.0 server SDK bundle inside the oracle directory.
const oracleFile = "server-sdk-6.4.0.mjs"

var (
	oracleOnce sync.Once
	oraclePath string // absolute path of the bundle, "" when absent
	oracleWhy  string // why it is absent
)

// findOracle returns the absolute path of the 6.4.0 oracle bundle, or ""
// and the reason when it is not there. The bundle lives in
// $OCTAVUS_ORACLE_DIR, else in ../shared/oracle beside the repository (the
// tests run in conformance/, so that is ../../shared/oracle from here).
func findOracle() (path, why string) {
	oracleOnce.Do(func() {
		dir := os.Getenv(oracleDirEnv)
		from := oracleDirEnv
		if dir == "" {
			dir = filepath.Join("..", "..", "shared", "oracle")
			from = "the default <repo>/../shared/oracle"
		}
		p, err := filepath.Abs(filepath.Join(dir, oracleFile))
		if err == nil {
			_, err = os.Stat(p)
		}
		if err != nil {
			oracleWhy = fmt.Sprintf("the 6.4.0 oracle is not at %s (%s): %v; set %s to the folder that holds %s",
				p, from, err, oracleDirEnv, oracleFile)
			return
		}
		oraclePath = p
	})
	return oraclePath, oracleWhy
}

// nodeJob is what node/run-scenario.mjs reads on stdin.
type nodeJob struct {
	SDK               string              `json:"sdk"`
	Version           string              `json:"version"`
	BaseURL           string              `json:"baseUrl"`
	APIKey            string              `json:"apiKey"`
	SessionID         string              `json:"sessionId"`
	Request           json.RawMessage     `json:"request"`
	Tools             map[string]toolSpec `json:"tools"`
	DynamicTools      []dynamicToolSpec   `json:"dynamicTools,omitempty"`
	Sender            json.RawMessage     `json:"sender,omitempty"`
	RejectClientTools bool                `json:"rejectClientTools,omitempty"`
	MaxRetries        int                 `json:"maxRetries"`
}

// runNodeScript runs `node script` (a path relative to conformance/) with
// job on its standard input and returns what it printed.
func runNodeScript(ctx context.Context, script string, job []byte) (stdout, stderr bytes.Buffer, err error) {
	return runNodeScriptEnv(ctx, script, job, nil)
}

// runNodeScriptEnv is runNodeScript with extra environment variables.
func runNodeScriptEnv(ctx context.Context, script string, job []byte, env []string) (stdout, stderr bytes.Buffer, err error) {
	cmd := exec.CommandContext(ctx, "node", script)
	if env != nil {
		cmd.Env = append(os.Environ(), env...)
	}
	cmd.Stdin = bytes.NewReader(job)
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	cmd.WaitDelay = 5 * time.Second
	err = cmd.Run()
	return stdout, stderr, err
}

// runNode plays the scenario through the reference SDK of the given
// version (the npm 2.0.0 package, or the 6.4.0 oracle bundle at sdk)
// against a fresh platform.
func runNode(t *testing.T, sc *scenario, version, sdk string) run {
	t.Helper()
	p := newPlatform(t, sc.Legs)
	tools := sc.Tools
	if tools == nil {
		tools = map[string]toolSpec{}
	}
	job, err := json.Marshal(nodeJob{
		SDK:               sdk,
		Version:           version,
		BaseURL:           p.URL(),
		APIKey:            apiKey,
		SessionID:         sessionID,
		Request:           sc.Request,
		Tools:             tools,
		DynamicTools:      sc.DynamicTools,
		Sender:            sc.Sender,
		RejectClientTools: sc.RejectClientTools,
		MaxRetries:        sc.Retries,
	})
	if err != nil {
		t.Fatalf("encoding the Node job: %v", err)
	}

	ctx, cancel := context.WithTimeout(t.Context(), runTimeout)
	defer cancel()
	// 6.4.0 formats a trimmed result's character count with
	// toLocaleString(): pin the locale so that recordings do not depend on
	// the machine's.
	stdout, stderr, err := runNodeScriptEnv(ctx, "node/run-scenario.mjs", job,
		[]string{"LC_ALL=en_US.UTF-8", "LANG=en_US.UTF-8"})
	if ctx.Err() != nil {
		t.Fatalf("the Node reference %s did not finish within %v\nstdout so far:\n%s\nstderr:\n%s\nplatform log:\n%s",
			version, runTimeout, stdout.Bytes(), stderr.Bytes(), joinLines(p.requestLog()))
	}
	if err != nil {
		t.Fatalf("the Node reference %s failed: %v\nstderr:\n%s\nplatform log:\n%s",
			version, err, stderr.Bytes(), joinLines(p.requestLog()))
	}
	return run{
		sse:    stdout.Bytes(),
		bodies: p.triggerBodies(),
		log:    p.requestLog(),
		stderr: stderr.String(),
	}
}
