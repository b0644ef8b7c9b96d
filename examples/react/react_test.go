package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/octavus-go/octavus/internal/testtool"
	"github.com/octavus-go/octavus/octavustest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	if builtDir != "" {
		_ = os.RemoveAll(builtDir)
	}
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintf(os.Stderr, "goleak: %v\n", err)
			code = 1
		}
	}
	os.Exit(code)
}

// lookTool returns the path of the first of names in PATH. Without any it
// skips the test, or fails it under CI=true (testtool.Skip, which also
// keeps go test from caching the skip, so the next run looks again).
func lookTool(t *testing.T, install string, names ...string) string {
	t.Helper()
	for _, name := range names {
		if path, err := testtool.Look(name); err == nil {
			return path
		}
	}
	testtool.Skip(t, fmt.Sprintf("no %s in PATH (%s)", strings.Join(names, " or "), install))
	return ""
}

// The app is built once per test run, into builtDir (removed by TestMain).
var (
	buildOnce sync.Once
	builtDir  string
	buildErr  error
)

// buildApp runs `npm ci` (unless node_modules is already what
// package-lock.json says) and `npm run build` into a temporary directory,
// once per test run, and returns that directory. It reads the app's
// sources first, so that go test's cache notices when they change.
func buildApp(t *testing.T) string {
	t.Helper()
	lookTool(t, "install Node.js 20+: apt-get install nodejs npm", "node")
	npm := lookTool(t, "install npm: apt-get install npm", "npm")
	buildOnce.Do(func() {
		if buildErr = touchSources(); buildErr != nil {
			return
		}
		if !nodeModulesCurrent() {
			fmt.Fprintln(os.Stderr, "examples/react: running npm ci (node_modules is missing or differs from package-lock.json)")
			if buildErr = runNPM(npm, "ci", "--no-audit", "--no-fund"); buildErr != nil {
				return
			}
		}
		dir, err := os.MkdirTemp("", "octavus-react-dist-")
		if err != nil {
			buildErr = err
			return
		}
		builtDir = dir
		buildErr = runNPM(npm, "run", "build", "--", "--outDir", dir, "--emptyOutDir")
	})
	require.NoError(t, buildErr)
	return builtDir
}

// runNPM runs npm with args in this directory; its output is in the error.
func runNPM(npm string, args ...string) error {
	var out bytes.Buffer
	cmd := exec.Command(npm, args...)
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("npm %s: %w\n%s", strings.Join(args, " "), err, out.String())
	}
	return nil
}

// touchSources reads every source of the app (go test records the files a
// test opens, and runs it again when one changes).
func touchSources() error {
	for _, f := range []string{"package.json", "package-lock.json", "index.html", "vite.config.js"} {
		if _, err := os.ReadFile(f); err != nil {
			return err
		}
	}
	return filepath.WalkDir("src", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		_, err = os.ReadFile(path)
		return err
	})
}

// nodeModulesCurrent reports whether node_modules holds what
// package-lock.json says: npm's own record of what it installed,
// node_modules/.package-lock.json, has the lockfile's entries, less the
// optional ones npm skipped on this platform.
func nodeModulesCurrent() bool {
	read := func(path string) map[string]map[string]any {
		var lock struct {
			Packages map[string]map[string]any `json:"packages"`
		}
		b, err := os.ReadFile(path)
		if err != nil || json.Unmarshal(b, &lock) != nil {
			return nil
		}
		return lock.Packages
	}
	want, have := read("package-lock.json"), read(filepath.Join("node_modules", ".package-lock.json"))
	if want == nil || have == nil {
		return false
	}
	delete(want, "") // the project itself
	for name, entry := range want {
		got, ok := have[name]
		if !ok && entry["optional"] == true {
			continue
		}
		if !reflect.DeepEqual(entry, got) {
			return false
		}
	}
	return len(have) <= len(want)
}

// startServer serves cfg (the demo platform: no baseURL) on 127.0.0.1:0,
// as main does, and returns the app and its URL. It stops the server,
// which must end cleanly, when the test ends.
func startServer(t *testing.T, cfg config) (*app, string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	type started struct {
		a   *app
		url string
	}
	ready := make(chan started, 1)
	done := make(chan error, 1)
	go func() {
		done <- serve(ctx, cfg, "127.0.0.1:0", io.Discard, func(a *app, url string) {
			ready <- started{a, url}
		})
	}()
	t.Cleanup(func() {
		cancel()
		require.NoError(t, <-done)
	})
	select {
	case s := <-ready:
		return s.a, s.url
	case err := <-done:
		t.Fatalf("serve ended early: %v", err)
		return nil, ""
	}
}

// page is a tab of headless Chromium, for one flow of at most a minute.
type page struct {
	t   *testing.T
	ctx context.Context
}

// openBrowser starts headless Chromium with a fresh profile and opens url.
// On failure a screenshot is saved and its path logged.
func openBrowser(t *testing.T, chromium, url string) *page {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromium),
		chromedp.Flag("headless", true),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
	}
	life, cancelLife := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancelLife)
	alloc, cancelAlloc := chromedp.NewExecAllocator(life, opts...)
	t.Cleanup(cancelAlloc)
	browser, cancelBrowser := chromedp.NewContext(alloc)
	t.Cleanup(cancelBrowser)
	ctx, cancel := context.WithTimeout(browser, time.Minute)
	t.Cleanup(cancel)
	p := &page{t: t, ctx: ctx}
	t.Cleanup(func() {
		if t.Failed() {
			p.screenshot()
		}
	})
	p.do("open "+url, chromedp.EmulateViewport(900, 900), chromedp.Navigate(url))
	return p
}

// screenshot saves a PNG of the page under os.TempDir and logs its path.
func (p *page) screenshot() {
	ctx, cancel := context.WithTimeout(p.ctx, 10*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	path := filepath.Join(os.TempDir(), "octavus-react-"+strings.ReplaceAll(p.t.Name(), "/", "_")+".png")
	if err == nil {
		err = os.WriteFile(path, png, 0o644)
	}
	if err != nil {
		p.t.Logf("no screenshot: %v", err)
		return
	}
	p.t.Logf("screenshot of the page: %s", path)
}

func (p *page) do(what string, actions ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	if err := chromedp.Do(p.ctx, actions...); err != nil {
		p.t.Fatalf("%s: %v", what, err)
	}
}

// waitFor polls the JavaScript condition until it is true; the flow's
// timeout fails the test.
func (p *page) waitFor(what, condition string) {
	p.t.Helper()
	_, err := chromedp.Run(p.ctx, chromedp.Poll[chromedp.Void](condition,
		chromedp.WithPollingInterval(5*time.Millisecond), chromedp.WithPollingTimeout(0)))
	if err != nil {
		state, _ := chromedp.Run(p.ctx, chromedp.Evaluate[string](`document.body.innerText`))
		p.t.Fatalf("waiting for %s (%s): %v\npage: %s", what, condition, err, state)
	}
}

// eval evaluates expr in the page and decodes its value.
func eval[T any](p *page, expr string) T {
	p.t.Helper()
	v, err := chromedp.Run(p.ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		p.t.Fatalf("evaluating %s: %v", expr, err)
	}
	return v
}

// JavaScript for the page's state.
const (
	jsStatus     = `document.getElementById('chat')?.dataset.status`
	jsLastAnswer = `[...document.querySelectorAll('[data-testid="assistant-message"]')].at(-1)`
	jsAnswerText = `[...` + jsLastAnswer + `.querySelectorAll('[data-testid="text-part"]')].map((e) => e.textContent).join(' | ')`
	// jsRecordTexts records each distinct text of the answer's text parts
	// at every DOM change, in window.seenTexts.
	jsRecordTexts = `(() => {
		window.seenTexts = [];
		new MutationObserver(() => {
			const answer = ` + jsLastAnswer + `;
			const text = answer ? ` + jsAnswerText + ` : '';
			if (text && window.seenTexts.at(-1) !== text) window.seenTexts.push(text);
		}).observe(document.body, { subtree: true, childList: true, characterData: true });
	})()`
)

// TestReactAppInBrowser builds the React app, serves it with the demo
// platform and holds a conversation in headless Chromium: a message, the
// get-order server tool's result, a streamed answer, the confirm-refund
// client tool answered in the page, and the final answer.
func TestReactAppInBrowser(t *testing.T) {
	chromium := lookTool(t, "on Debian: apt-get install chromium", "chromium", "chromium-browser", "google-chrome")
	dist := buildApp(t)
	// The demo agent streams a word every 30 ms, as in the demo; its first
	// text stops after one word until the page showed it.
	hold := make(chan struct{})
	a, url := startServer(t, config{dist: dist, pace: defaultPace, hold: hold})
	p := openBrowser(t, chromium, url)

	p.waitFor("a session", jsStatus+` === 'idle'`)
	p.do("record the answer's texts", chromedp.Evaluate[chromedp.Void](jsRecordTexts))
	const question = "Can I get a refund for order 1042?"
	p.do("send a message", chromedp.SendKeys(chromedp.ID("input"), question), chromedp.Click(chromedp.ID("send")))
	// The answer streams: the page shows its first word alone.
	p.waitFor("the answer's first word", jsStatus+` === 'streaming' && `+jsLastAnswer+` !== undefined && `+jsAnswerText+` === 'Let '`)
	close(hold)

	getOrder := `document.querySelector('[data-tool-name="get-order"]')`
	p.waitFor("the get-order result", getOrder+`?.dataset.status === 'done' && `+getOrder+`.querySelector('[data-testid="tool-result"]') !== null`)
	var order Order
	require.NoError(t, json.Unmarshal([]byte(eval[string](p, getOrder+`.querySelector('[data-testid="tool-result"]').dataset.json`)), &order))
	assert.Equal(t, Order{ID: "1042", Item: "Mechanical keyboard", Total: "$129.00", Status: "delivered", Date: "2026-03-02"}, order)
	assert.Equal(t, question, eval[string](p, `document.querySelector('[data-testid="user-message"]').textContent`))

	confirm := `document.querySelector('[data-tool-name="confirm-refund"] [data-testid="confirm"]')`
	p.waitFor("the confirm prompt", jsStatus+` === 'awaiting-input' && `+confirm+` !== null`)
	assert.Equal(t, "Refund $129.00 for the Mechanical keyboard (order #1042)?",
		eval[string](p, `document.querySelector('[data-tool-name="confirm-refund"] .prompt p').textContent`))
	assert.Equal(t, "Let me look up order #1042. | Order #1042, the Mechanical keyboard, was delivered on 2026-03-02. I can refund it.",
		eval[string](p, jsAnswerText))
	assert.True(t, eval[bool](p, `document.getElementById('input').disabled`), "no new message while the agent waits for the person")
	assert.Contains(t, eval[string](p, jsLastAnswer+`.querySelector('[data-testid="reasoning-part"]').textContent`), "I look it up with get-order")
	p.do("confirm", chromedp.Click(chromedp.CSS(`[data-tool-name="confirm-refund"] [data-testid="confirm"]`)))

	p.waitFor("the final answer", jsStatus+` === 'idle' && `+jsAnswerText+`.includes('Done:')`)
	assert.Equal(t, "Let me look up order #1042. | Order #1042, the Mechanical keyboard, was delivered on 2026-03-02. I can refund it. | Done: I refunded $129.00 for the Mechanical keyboard (order #1042).",
		eval[string](p, jsAnswerText))
	assert.JSONEq(t, `{"confirmed": true}`,
		eval[string](p, `document.querySelector('[data-tool-name="confirm-refund"] [data-testid="tool-result"]').dataset.json`))

	// The answer streamed in: the page showed the first text partly before whole.
	seen := eval[[]string](p, `window.seenTexts`)
	partial := false
	for _, s := range seen {
		partial = partial || (strings.HasPrefix("Let me look up order #1042.", s) && len(s) < len("Let me look up order #1042."))
	}
	assert.True(t, partial, "a partial text was shown; seen: %q", seen)

	// The platform got the person's answer in the continue request.
	var cont struct {
		ExecutionID string                   `json:"executionId"`
		ToolResults []octavustest.ToolResult `json:"toolResults"`
	}
	require.NoError(t, json.Unmarshal(triggerBody(t, a.fake, `"confirm-refund"`), &cont))
	assert.NotEmpty(t, cont.ExecutionID)
	require.Len(t, cont.ToolResults, 1)
	assert.Equal(t, toolConfirmRefund, cont.ToolResults[0].ToolName)
	assert.Equal(t, map[string]any{"confirmed": true}, cont.ToolResults[0].Result)
}

// triggerBody returns the body of the platform trigger request that
// contains substr.
func triggerBody(t *testing.T, fake *octavustest.Server, substr string) []byte {
	t.Helper()
	for _, r := range fake.Requests() {
		if r.Method == "POST" && strings.HasSuffix(r.Path, "/trigger") && strings.Contains(string(r.Body), substr) {
			return r.Body
		}
	}
	t.Fatalf("no trigger request to the platform with %q", substr)
	return nil
}
