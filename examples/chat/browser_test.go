package main

import (
	"context"
	"encoding/json"
	"flag"
	"io"
	"math"
	"net"
	neturl "net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/octavus-go/octavus"
	"github.com/octavus-go/octavus/internal/testtool"
	"github.com/octavus-go/octavus/octavustest"
)

// screenshotFlag is where TestChatScreenshot writes its PNG.
var screenshotFlag = flag.String("screenshot", "",
	"TestChatScreenshot writes a PNG of a full conversation to this path (or set OCTAVUS_SCREENSHOT)")

// The browser tests drive headless Chromium with chromedp against the
// example, started in-process with the demo platform. They synchronise on
// conditions polled in the page, never on sleeps.
const (
	flowTimeout    = 60 * time.Second     // one flow in one tab
	browserTimeout = 3 * time.Minute      // the browser's whole life
	viewportWidth  = 1100                 // the tab's viewport, in CSS pixels
	viewportHeight = 800                  // the tab's viewport, in CSS pixels
	pollInterval   = 5 * time.Millisecond // how often waitFor checks its condition
)

// browserFlags are the flags Chromium is started with. chromedp adds only
// what it cannot work without: --remote-debugging-pipe, a temporary
// --user-data-dir, and about:blank as the first page.
var browserFlags = []chromedp.ExecAllocatorOption{
	chromedp.Flag("headless", true),
	chromedp.NoSandbox,
	chromedp.DisableGPU,
	chromedp.Flag("disable-background-networking", true),
	chromedp.Flag("disable-component-update", true),
	chromedp.NoFirstRun,
}

// findBrowser returns the path of Chromium or Chrome. Without one the test
// is skipped, except under CI=true, where it fails (testtool.Skip, which
// also keeps go test from caching the skip: once chromium is installed,
// the same go test command runs the test instead of printing "(cached)").
func findBrowser(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if path, err := testtool.Look(name); err == nil {
			return path
		}
	}
	testtool.Skip(t, "no chromium, chromium-browser or google-chrome in PATH (on Debian: apt-get install chromium)")
	return ""
}

// demo is the example served in-process with the demo platform, as run
// serves it.
type demo struct {
	t    *testing.T
	a    *app
	url  string
	addr string       // the address it listens on, with its port
	cfg  config       // the demo platform's pace and hold
	stop func() error // stops it and waits; idempotent
}

// startDemo serves the example with the demo platform, at its default
// pace, on 127.0.0.1:0. It stops the example, which must end cleanly, when
// the test ends.
func startDemo(t *testing.T) *demo {
	t.Helper()
	return startDemoWith(t, "127.0.0.1:0", config{pace: defaultPace})
}

// startDemoWith serves the example with a new demo platform on addr, its
// agent streaming a word every cfg.pace and holding the long answer at
// cfg.hold.
func startDemoWith(t *testing.T, addr string, cfg config) *demo {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	d := &demo{t: t, cfg: cfg}
	ready := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- serve(ctx, cfg, addr, testWriter{t}, func(a *app, url string) {
			d.a, d.url = a, url
			close(ready)
		})
	}()
	d.stop = sync.OnceValue(func() error {
		cancel()
		return <-done
	})
	t.Cleanup(func() { require.NoError(t, d.stop()) })
	select {
	case <-ready:
		d.addr = strings.TrimSuffix(strings.TrimPrefix(d.url, "http://"), "/")
		return d
	case err := <-done:
		t.Fatalf("serve ended early: %v", err)
		return nil
	}
}

// restart stops the example and serves it again on the same port, with a
// new demo platform that knows none of the old sessions, as a restarted
// server with an in-memory platform would.
func (d *demo) restart() {
	d.t.Helper()
	require.NoError(d.t, d.stop())
	*d = *startDemoWith(d.t, d.addr, d.cfg)
}

// testWriter writes to the test log.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// startBrowser starts headless Chromium and returns its context. The
// browser is closed when the test ends.
func startBrowser(t *testing.T, execPath string) context.Context {
	t.Helper()
	life, cancelLife := context.WithTimeout(context.Background(), browserTimeout)
	t.Cleanup(cancelLife)
	opts := append([]chromedp.ExecAllocatorOption{chromedp.ExecPath(execPath)}, browserFlags...)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(life, opts...)
	t.Cleanup(cancelAlloc)
	browserCtx, cancelBrowser := chromedp.NewContext(allocCtx)
	t.Cleanup(cancelBrowser)
	start := time.Now()
	if err := chromedp.Do(browserCtx); err != nil {
		t.Fatalf("starting %s: %v", execPath, err)
	}
	t.Logf("started %s in %v", execPath, time.Since(start).Round(time.Millisecond))
	return browserCtx
}

// page is one tab of the browser, for one test flow.
type page struct {
	t   *testing.T
	tab context.Context // the tab; lives until the test ends
	ctx context.Context // tab with the flow's timeout, for the flow's actions
}

// openPage opens a tab with a 1100x800 viewport at url, in a browser
// context of its own (its own localStorage: a new visitor). When the test
// fails, a screenshot of the tab is saved and its path logged.
func openPage(t *testing.T, browser context.Context, url string) *page {
	t.Helper()
	tab, cancelTab := chromedp.NewContext(browser, chromedp.WithNewBrowserContext())
	t.Cleanup(cancelTab)
	ctx, cancel := context.WithTimeout(tab, flowTimeout)
	t.Cleanup(cancel)
	p := &page{t: t, tab: tab, ctx: ctx}
	t.Cleanup(func() {
		if t.Failed() {
			p.saveScreenshot()
		}
	})
	p.do("open the page", chromedp.EmulateViewport(viewportWidth, viewportHeight), chromedp.Navigate(url))
	p.waitFor("a session (the chat is idle)", `document.getElementById('chat').dataset.status === 'idle'`)
	return p
}

// saveScreenshot writes a PNG of the tab to the test's artifact directory.
func (p *page) saveScreenshot() {
	ctx, cancel := context.WithTimeout(p.tab, 10*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		p.t.Logf("no screenshot: %v", err)
		return
	}
	path := filepath.Join(artifactDir(p.t), "screenshot.png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		p.t.Logf("no screenshot: %v", err)
		return
	}
	p.t.Logf("screenshot of the failing page: %s", path)
}

// persistentArtifactDir is a directory under os.TempDir named after the
// test, kept after the test ends.
func persistentArtifactDir(t *testing.T) string {
	name := strings.NewReplacer("/", "_", " ", "_").Replace(t.Name())
	dir := filepath.Join(os.TempDir(), "octavus-chat-"+name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Logf("creating %s: %v", dir, err)
	}
	return dir
}

// do runs actions in the page; what says what they do in a failure.
func (p *page) do(what string, actions ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	if err := chromedp.Do(p.ctx, actions...); err != nil {
		p.t.Fatalf("%s: %v", what, err)
	}
}

// waitFor waits until the JavaScript condition is true in the page, polled
// every pollInterval, or fails the test when the flow's time is up.
func (p *page) waitFor(what, condition string) {
	p.t.Helper()
	_, err := chromedp.Run(p.ctx, chromedp.Poll[chromedp.Void](condition,
		chromedp.WithPollingInterval(pollInterval), chromedp.WithPollingTimeout(0)))
	if err != nil {
		p.t.Fatalf("waiting for %s (%s): %v\npage state: %s", what, condition, err, p.state())
	}
}

// state describes the page for failure messages.
func (p *page) state() string {
	ctx, cancel := context.WithTimeout(p.tab, 5*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](
		`'status=' + document.getElementById('chat').dataset.status + ' messages=' + document.getElementById('messages').innerText`))
	if err != nil {
		return err.Error()
	}
	return s
}

// eval evaluates a JavaScript expression in the page and decodes its value.
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
	jsStatus     = `document.getElementById('chat').dataset.status`
	jsLastAnswer = `[...document.querySelectorAll('[data-testid="assistant-message"]')].at(-1)`
	// jsConversation is what the conversation shows, in order: who speaks,
	// the texts, the tool calls' titles and states, and their results as
	// JSON with sorted keys (the key order of a result kept by the
	// platform is its own).
	jsConversation = `[...document.querySelectorAll('#messages .role, #messages .part.text, #messages .reasoning-text, #messages .tool-name, #messages .badge, #messages .tool-result')]
		.map((e) => e.classList.contains('tool-result')
			? JSON.stringify(Object.fromEntries(Object.entries(JSON.parse(e.dataset.json ?? 'null') ?? {}).sort()))
			: e.textContent)`
	// jsAnswerText is the text of the last answer's text parts.
	jsAnswerText = `[...` + jsLastAnswer + `.querySelectorAll('[data-testid="text-part"]')].map((e) => e.textContent).join(' | ')`
	// jsRecordFirstText records each distinct text the first text part of
	// the last answer shows, now and at every DOM change, in
	// window.seenTexts.
	jsRecordFirstText = `(() => {
		window.seenTexts = [];
		const record = () => {
			const answer = ` + jsLastAnswer + `;
			const text = answer?.querySelector('[data-testid="text-part"]')?.textContent;
			if (text && window.seenTexts.at(-1) !== text) {
				window.seenTexts.push(text);
			}
		};
		new MutationObserver(record).observe(document.getElementById('messages'),
			{ subtree: true, childList: true, characterData: true });
		record();
	})()`
)

// jsString is s as a JavaScript string literal.
func jsString(s string) string {
	b, err := json.Marshal(s)
	if err != nil {
		panic(err) // a string always marshals
	}
	return string(b)
}

// jsRecordStops records the URL of each stop request the page makes, in
// window.stopURLs (app.js calls the global fetch).
const jsRecordStops = `(() => {
	window.stopURLs = [];
	const fetch = window.fetch;
	window.fetch = (resource, ...rest) => {
		if (String(resource).startsWith('/api/chat/stop')) {
			window.stopURLs.push(String(resource));
		}
		return fetch(resource, ...rest);
	};
})()`

// sendMessage types text into the composer and presses Send.
func (p *page) sendMessage(text string) {
	p.t.Helper()
	p.do("type and send "+text,
		chromedp.SendKeys(chromedp.ID("input"), text),
		chromedp.Click(chromedp.ID("send")))
}

// triggerRequest returns the platform request of the trigger whose body
// contains substr: the POST the SDK sent for the browser's request.
func triggerRequest(t *testing.T, fake *octavustest.Server, substr string) octavustest.Request {
	t.Helper()
	for _, r := range fake.Requests() {
		if r.Method == "POST" && strings.HasSuffix(r.Path, "/trigger") && strings.Contains(string(r.Body), substr) {
			return r
		}
	}
	t.Fatalf("no trigger request to the platform with %q", substr)
	return octavustest.Request{}
}

// TestChatInBrowser chats in a real browser: a full conversation with two
// tools and a confirmed refund, a stopped answer, retry after a platform
// error, reloads (history back, a prompt asked again) and an expired
// session restored.
func TestChatInBrowser(t *testing.T) {
	execPath := findBrowser(t)
	// The long answer (the stop flow) stops after its first words until
	// Stop: the hold is never released.
	d := startDemoWith(t, "127.0.0.1:0", config{pace: defaultPace, hold: make(chan struct{})})
	a, url := d.a, d.url
	browser := startBrowser(t, execPath)

	t.Run("conversation", func(t *testing.T) {
		p := openPage(t, browser, url)
		converse(p)

		// The platform got the person's answer in the SDK's continue
		// request, the result of the waiting confirm-refund tool.
		var body struct {
			ExecutionID string           `json:"executionId"`
			ToolResults []map[string]any `json:"toolResults"`
		}
		require.NoError(t, json.Unmarshal(triggerRequest(t, a.fake, `"confirm-refund"`).Body, &body))
		assert.NotEmpty(t, body.ExecutionID)
		require.Len(t, body.ToolResults, 1)
		assert.Equal(t, "confirm-refund", body.ToolResults[0]["toolName"])
		assert.Equal(t, map[string]any{"confirmed": true}, body.ToolResults[0]["result"])
	})

	t.Run("stop", func(t *testing.T) {
		p := openPage(t, browser, url)
		p.sendMessage("Tell me a long story about keyboards.")
		held := heldLongText()
		p.waitFor("the answer's first words", jsStatus+` === 'streaming' && `+jsAnswerText+` === `+jsString(held))
		p.do("record the stop request", chromedp.Evaluate[chromedp.Void](jsRecordStops))
		p.do("press Stop", chromedp.Click(chromedp.ID("stop")))

		p.waitFor("the stopped answer", jsStatus+` === 'idle' && `+jsLastAnswer+`.dataset.state === 'stopped'`)
		// Stop named the execution it stops (a late stop must not stop
		// the next one): the id the trigger answered, the log's latest.
		stops := eval[[]string](p, `window.stopURLs`)
		require.Len(t, stops, 1)
		stopURL, err := neturl.Parse(stops[0])
		require.NoError(t, err)
		sessionID := eval[string](p, `JSON.parse(localStorage.getItem('octavus-chat')).sessionId`)
		latest, err := a.execs.Read(p.ctx, octavus.LogRead{SessionID: sessionID, Cursor: math.MaxInt})
		require.NoError(t, err)
		require.NotEmpty(t, latest.Execution.ID)
		assert.Equal(t, neturl.Values{"sessionId": {sessionID}, "executionId": {latest.Execution.ID}}, stopURL.Query())
		assert.Equal(t, "Stopped", eval[string](p, jsLastAnswer+`.querySelector('[data-testid="stopped-note"]').textContent`))
		assert.Equal(t, "Stopped.", eval[string](p, `document.getElementById('status').textContent`))
		assert.True(t, eval[bool](p, `document.getElementById('stop').hidden && !document.getElementById('send').hidden`))
		stopped := eval[string](p, jsAnswerText)
		full := longAnswerText()
		assert.Equal(t, held, stopped, "the partial answer is kept")
		assert.Greater(t, len(stopped), 40, "the partial answer is kept")
		assert.Less(t, len(stopped), len(full), "the answer stopped mid-stream")
		assert.True(t, strings.HasPrefix(full, stopped), "the partial answer is the start of the answer: %q", stopped)

		// The Go side cancelled the execution: the platform saw its
		// trigger request go away mid-stream.
		req, err := a.fake.WaitDone(p.ctx, triggerRequest(t, a.fake, "long story").Seq)
		require.NoError(t, err)
		assert.True(t, req.Aborted, "the platform request was aborted")
		// Nothing arrived after Stop.
		assert.Equal(t, stopped, eval[string](p, jsAnswerText))
	})

	t.Run("retry", func(t *testing.T) {
		p := openPage(t, browser, url)
		p.sendMessage("What is the status of order 1043?")
		p.waitFor("the first answer, kept", jsStatus+` === 'idle' && document.getElementById('chat').dataset.kept === '2'`)

		p.sendMessage("Show me an error.")
		p.waitFor("the error", `document.querySelector('[data-testid="error"]') !== null`)
		assert.Equal(t, "error", eval[string](p, jsStatus))
		errBox := `document.querySelector('[data-testid="error"]')`
		assert.Equal(t, "provider_overloaded", eval[string](p, errBox+`.dataset.errorType`))
		assert.Equal(t, "The AI model is overloaded right now. Retry in a moment.", eval[string](p, errBox+`.querySelector('.error-title').textContent`))
		assert.Equal(t, demoErrorMessage, eval[string](p, errBox+`.querySelector('.error-message').textContent`), "the details stay")
		assert.Equal(t, "Let me think about that...", eval[string](p, jsAnswerText), "the text before the error is kept")
		assert.True(t, eval[bool](p, `!document.getElementById('input').disabled`), "the person can send again")

		p.do("press Retry", chromedp.Click(chromedp.CSS(`[data-testid="retry"]`)))
		p.waitFor("the retried answer", jsStatus+` === 'idle' && `+jsLastAnswer+`.dataset.state === 'done'`)
		assert.Equal(t, retriedAnswer, eval[string](p, jsAnswerText))
		assert.Equal(t, []string{"What is the status of order 1043?", "Show me an error."},
			eval[[]string](p, `[...document.querySelectorAll('[data-testid="user-message"] .part')].map((e) => e.textContent)`),
			"the failed turn was replaced, not repeated")
		assert.Equal(t, 2, eval[int](p, `document.querySelectorAll('[data-testid="assistant-message"]').length`))
		assert.False(t, eval[bool](p, `document.querySelector('[data-testid="error"]') !== null`))

		// The retry rolled back to the message before the failed turn:
		// the first answer, as the trigger's start event said.
		sessionID := eval[string](p, `JSON.parse(localStorage.getItem('octavus-chat')).sessionId`)
		var body struct {
			Rollback *string `json:"rollbackAfterMessageId"`
		}
		require.NoError(t, json.Unmarshal(triggerRequest(t, a.fake, `"rollbackAfterMessageId"`).Body, &body))
		st, err := a.client.AgentSessions.GetMessages(p.ctx, sessionID)
		require.NoError(t, err)
		require.Len(t, st.Messages, 4, "the platform dropped the failed turn")
		require.NotNil(t, body.Rollback)
		assert.Equal(t, st.Messages[1].ID, *body.Rollback)
	})

	t.Run("reload", func(t *testing.T) {
		p := openPage(t, browser, url)
		converse(p)
		before := eval[[]string](p, jsConversation)
		require.Greater(t, len(before), 10, "the conversation shows: %q", before)
		p.do("reload", chromedp.Reload())
		p.waitFor("the page again", jsStatus+` === 'idle' && document.getElementById('chat').dataset.opened === 'active'`)
		assert.Equal(t, before, eval[[]string](p, jsConversation), "the conversation is back as it was")
		assert.Equal(t, "Looking up order 1042", eval[string](p, `document.querySelector('[data-tool-name="get-order"] .tool-name').textContent`))
		assert.Equal(t, "done", eval[string](p, `document.querySelector('[data-tool-name="get-order"]').dataset.status`))
		assert.True(t, eval[bool](p, `document.getElementById('welcome').hidden`))

		// It goes on in the same session.
		p.sendMessage("What is the status of order 1044?")
		p.waitFor("the answer", jsStatus+` === 'idle' && `+jsLastAnswer+`.dataset.state === 'done'`)
		assert.Contains(t, eval[string](p, jsAnswerText), "Order #1044, the Desk lamp")
		assert.Equal(t, 4, eval[int](p, `document.querySelectorAll('#messages > li').length`), "the kept question and answer, then the new ones")
	})

	t.Run("reload while the agent waits for the person", func(t *testing.T) {
		p := openPage(t, browser, url)
		p.sendMessage("Where is my order 1042? It arrived, but I want to return it.")
		confirm := `document.querySelector('[data-tool-name="confirm-refund"] [data-testid="confirm"]')`
		p.waitFor("the confirm prompt", jsStatus+` === 'awaiting-input' && `+confirm+`?.disabled === false`)
		p.do("reload", chromedp.Reload())
		p.waitFor("the prompt again", jsStatus+` === 'awaiting-input' && `+confirm+`?.disabled === false && `+confirm+`.checkVisibility()`)
		assert.Equal(t, "Refund $129.00 for the Mechanical keyboard (order #1042)?",
			eval[string](p, `document.querySelector('[data-tool-name="confirm-refund"] .tool-question').textContent`))
		p.do("decline", chromedp.Click(chromedp.CSS(`[data-tool-name="confirm-refund"] [data-testid="decline"]`)))
		p.waitFor("the final answer", jsStatus+` === 'idle' && `+jsLastAnswer+`.dataset.state === 'done'`)
		assert.Contains(t, eval[string](p, jsAnswerText),
			"| Understood: you declined, so I did not refund $129.00 for the Mechanical keyboard (order #1042).")
		assert.Equal(t, 2, eval[int](p, `document.querySelectorAll('#messages > li').length`), "the answer went on in the same message")
	})

	t.Run("expired", func(t *testing.T) {
		p := openPage(t, browser, url)
		p.sendMessage("What is the status of order 1043?")
		p.waitFor("the answer, kept", jsStatus+` === 'idle' && document.getElementById('chat').dataset.kept === '2'`)
		before := eval[[]string](p, jsConversation)
		sessionID := eval[string](p, `JSON.parse(localStorage.getItem('octavus-chat')).sessionId`)
		require.True(t, a.fake.ExpireSession(sessionID))

		p.do("reload", chromedp.Reload())
		p.waitFor("the restored chat", jsStatus+` === 'idle' && document.getElementById('chat').dataset.opened === 'restored'`)
		assert.Equal(t, before, eval[[]string](p, jsConversation))
		assert.Contains(t, eval[string](p, `document.getElementById('status').textContent`), "restored")
		st, err := a.client.AgentSessions.GetMessages(p.ctx, sessionID)
		require.NoError(t, err)
		assert.False(t, st.Expired(), "the server restored the session")
		assert.Len(t, st.Messages, 2)

		p.sendMessage("And order 1044?")
		p.waitFor("the answer", jsStatus+` === 'idle' && `+jsLastAnswer+`.dataset.state === 'done'`)
		assert.Contains(t, eval[string](p, jsAnswerText), "Order #1044, the Desk lamp")
	})
}

// TestChatResumesAfterReload reloads the page in the middle of the long
// answer: the execution goes on on the server, and the reloaded page
// replays its log and follows the live tail, so the answer goes on where
// it was and ends complete, once. The demo platform holds the answer after
// its first words until the reloaded page shows them again, so the reload
// is mid-answer however slow the machine.
func TestChatResumesAfterReload(t *testing.T) {
	execPath := findBrowser(t)
	hold := make(chan struct{})
	d := startDemoWith(t, "127.0.0.1:0", config{pace: 2 * time.Millisecond, hold: hold})
	p := openPage(t, startBrowser(t, execPath), d.url)
	p.sendMessage("Tell me a long story about keyboards.")
	held := heldLongText()
	p.waitFor("the answer's first words", jsStatus+` === 'streaming' && `+jsAnswerText+` === `+jsString(held))

	p.do("reload", chromedp.Reload())
	p.waitFor("the resumed answer, replayed up to where it waits",
		`document.getElementById('chat').dataset.resumed === 'true' && `+jsStatus+` === 'streaming' && `+jsAnswerText+` === `+jsString(held))
	assert.Equal(t, []string{"Tell me a long story about keyboards."},
		eval[[]string](p, `[...document.querySelectorAll('[data-testid="user-message"] .part')].map((e) => e.textContent)`))
	p.do("record the streamed text", chromedp.Evaluate[chromedp.Void](jsRecordFirstText))
	close(hold) // the answer goes on
	p.waitFor("the end of the answer", jsStatus+` === 'idle' && `+jsLastAnswer+`.dataset.state === 'done'`)
	full := longAnswerText()
	assert.Equal(t, full, eval[string](p, jsAnswerText), "the whole answer, once")
	assert.Equal(t, 2, eval[int](p, `document.querySelectorAll('#messages > li').length`), "one question, one answer")
	seen := eval[[]string](p, `window.seenTexts`)
	require.NotEmpty(t, seen)
	assert.Equal(t, held, seen[0], "after the reload the answer was still streaming: it grew in the page")
	assert.Equal(t, full, seen[len(seen)-1])

	// The platform ran the trigger once: the reload started nothing.
	var triggers int
	for _, r := range d.a.fake.Requests() {
		if r.Method == "POST" && strings.HasSuffix(r.Path, "/trigger") {
			triggers++
		}
	}
	assert.Equal(t, 1, triggers)
	// And the kept history is the finished answer.
	p.do("reload", chromedp.Reload())
	p.waitFor("the page again", jsStatus+` === 'idle' && document.getElementById('chat').dataset.opened === 'active'`)
	assert.Equal(t, full, eval[string](p, jsAnswerText))
}

// TestChatReconnects cuts the page's connections in the middle of the long
// answer, as a flaky network does: the EventSource reconnects with
// Last-Event-ID and gets the events it missed, then the live tail, so the
// answer ends complete and once. (A replay from the start would show the
// text twice: the page does not reset the answer on a reconnect.) The demo
// platform holds the answer after its first words until the page has
// reconnected.
func TestChatReconnects(t *testing.T) {
	execPath := findBrowser(t)
	hold := make(chan struct{})
	d := startDemoWith(t, "127.0.0.1:0", config{pace: 2 * time.Millisecond, hold: hold})
	proxy := startCutter(t, d.addr)
	p := openPage(t, startBrowser(t, execPath), "http://"+proxy.addr+"/")
	p.sendMessage("Tell me a long story about keyboards.")
	held := heldLongText()
	p.waitFor("the answer's first words", jsStatus+` === 'streaming' && `+jsAnswerText+` === `+jsString(held))
	before := proxy.accepted()
	proxy.cut()
	// onerror counts the reconnect and says "Reconnecting…"; onopen, once
	// the EventSource is connected again, puts the status line back.
	p.waitFor("the event stream open again", `document.getElementById('chat').dataset.reconnects === '1' && `+
		`document.getElementById('status').textContent === `+jsString(statusStreaming))
	assert.Greater(t, proxy.accepted(), before, "the page connected again")
	assert.Equal(t, held, eval[string](p, jsAnswerText), "nothing new yet")
	close(hold) // the answer goes on
	p.waitFor("the end of the answer", jsStatus+` === 'idle' && `+jsLastAnswer+`.dataset.state === 'done'`)
	assert.Equal(t, longAnswerText(), eval[string](p, jsAnswerText), "the whole answer, once")
	assert.Equal(t, "1", eval[string](p, `document.getElementById('chat').dataset.reconnects`), "the event stream was cut once")
}

// statusStreaming is the page's status line while an answer streams
// (STATUS_TEXT.streaming in static/app.js).
const statusStreaming = "The agent is answering…"

// cutter is a TCP proxy whose connections the test can cut.
type cutter struct {
	addr  string
	mu    sync.Mutex
	conns []net.Conn
	count int
}

// startCutter proxies a listener on 127.0.0.1 to target until the test ends.
func startCutter(t *testing.T, target string) *cutter {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	c := &cutter{addr: ln.Addr().String()}
	var wg sync.WaitGroup
	t.Cleanup(func() {
		_ = ln.Close()
		c.cut()
		wg.Wait()
	})
	wg.Go(func() {
		for {
			in, err := ln.Accept()
			if err != nil {
				return
			}
			out, err := net.Dial("tcp", target)
			if err != nil {
				_ = in.Close()
				continue
			}
			c.mu.Lock()
			c.conns = append(c.conns, in, out)
			c.count++
			c.mu.Unlock()
			for _, pipe := range [][2]net.Conn{{in, out}, {out, in}} {
				wg.Go(func() {
					_, _ = io.Copy(pipe[0], pipe[1])
					_ = pipe[0].Close()
					_ = pipe[1].Close()
				})
			}
		}
	})
	return c
}

// cut closes every open connection.
func (c *cutter) cut() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, conn := range c.conns {
		_ = conn.Close()
	}
	c.conns = nil
}

// accepted is how many connections the proxy took.
func (c *cutter) accepted() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.count
}

// TestChatAfterServerRestart restarts the example (and so its in-memory
// demo platform) under an open page: a reload starts a new chat, saying
// so, and a message sent from a page that still shows the lost chat ends in
// the not-found error, whose button starts a new chat.
func TestChatAfterServerRestart(t *testing.T) {
	execPath := findBrowser(t)
	d := startDemo(t)
	p := openPage(t, startBrowser(t, execPath), d.url)
	p.sendMessage("What is the status of order 1043?")
	p.waitFor("the answer", jsStatus+` === 'idle' && `+jsLastAnswer+`.dataset.state === 'done'`)

	d.restart()
	p.do("reload", chromedp.Reload())
	p.waitFor("a new chat", jsStatus+` === 'idle' && document.getElementById('chat').dataset.opened === 'lost'`)
	assert.Contains(t, eval[string](p, `document.getElementById('status').textContent`), "this is a new chat")
	assert.Equal(t, 0, eval[int](p, `document.querySelectorAll('#messages > li').length`))
	assert.False(t, eval[bool](p, `document.getElementById('welcome').hidden`))
	p.sendMessage("What is the status of order 1044?")
	p.waitFor("the answer in the new chat", jsStatus+` === 'idle' && `+jsLastAnswer+`.dataset.state === 'done'`)
	assert.Contains(t, eval[string](p, jsAnswerText), "Order #1044, the Desk lamp")

	d.restart()
	p.sendMessage("And order 1042?")
	p.waitFor("the error", `document.querySelector('[data-testid="error"]') !== null`)
	errBox := `document.querySelector('[data-testid="error"]')`
	assert.Equal(t, "not_found_error", eval[string](p, errBox+`.dataset.errorType`))
	assert.Equal(t, "This chat no longer exists on the server (it may have restarted).", eval[string](p, errBox+`.querySelector('.error-title').textContent`))
	p.do("start a new chat", chromedp.Click(chromedp.CSS(`[data-testid="error-new-chat"]`)))
	p.waitFor("a new chat", jsStatus+` === 'idle' && document.getElementById('chat').dataset.opened === 'new' && document.querySelectorAll('#messages > li').length === 0`)
	p.sendMessage("What is the status of order 1043?")
	p.waitFor("the answer", jsStatus+` === 'idle' && `+jsLastAnswer+`.dataset.state === 'done'`)
	assert.Contains(t, eval[string](p, jsAnswerText), "Order #1043, the USB-C dock")
}

// converse plays a full conversation in p: a message, streamed reasoning
// and text, the get-order server tool's result, the confirm-refund
// tool confirmed in the page, and the final answer.
func converse(p *page) {
	t := p.t
	t.Helper()
	p.do("record the streamed text", chromedp.Evaluate[chromedp.Void](jsRecordFirstText))
	p.sendMessage("Where is my order 1042? It arrived, but I want to return it.")

	getOrder := `document.querySelector('[data-tool-name="get-order"]')`
	p.waitFor("the get-order result", getOrder+`?.dataset.status === 'done'`)
	result := eval[string](p, getOrder+`.querySelector('[data-testid="tool-result"]').dataset.json`)
	var order map[string]any
	require.NoError(t, json.Unmarshal([]byte(result), &order), result)
	assert.Equal(t, "Mechanical keyboard", order["item"])
	assert.Contains(t, eval[string](p, getOrder+`.querySelector('[data-testid="tool-args"]').textContent`), "1042")

	confirm := `document.querySelector('[data-tool-name="confirm-refund"] [data-testid="confirm"]')`
	p.waitFor("the confirm prompt", jsStatus+` === 'awaiting-input' && `+confirm+`?.disabled === false && `+confirm+`.checkVisibility()`)
	assert.True(t, eval[bool](p, `document.getElementById('stop').hidden && document.getElementById('input').disabled`),
		"while the agent waits for the person, the prompt is the only way on")
	assert.Equal(t, "Refund $129.00 for the Mechanical keyboard (order #1042)?",
		eval[string](p, `document.querySelector('[data-tool-name="confirm-refund"] .tool-question').textContent`))
	assert.Equal(t, "Let me look up order #1042 for you. | Order #1042, the Mechanical keyboard, was delivered on 2026-03-02 and cost $129.00. It is eligible for a refund. Please confirm the refund below.",
		eval[string](p, jsAnswerText))
	p.do("confirm", chromedp.Click(chromedp.CSS(`[data-tool-name="confirm-refund"] [data-testid="confirm"]`)))

	p.waitFor("the final answer", jsStatus+` === 'idle' && `+jsLastAnswer+`.dataset.state === 'done'`)
	assert.Contains(t, eval[string](p, jsAnswerText),
		"| Done: you confirmed, so I refunded $129.00 for the Mechanical keyboard (order #1042).")
	assert.Equal(t, "done", eval[string](p, `document.querySelector('[data-tool-name="confirm-refund"]').dataset.status`))
	confirmResult := `document.querySelector('[data-tool-name="confirm-refund"] [data-testid="tool-result"]')`
	assert.JSONEq(t, `{"confirmed": true}`, eval[string](p, confirmResult+`.dataset.json`))
	assert.Equal(t, []string{"confirmed", "true"},
		eval[[]string](p, `[...`+confirmResult+`.querySelectorAll('dt, dd')].map((e) => e.textContent)`), "shown as a table")
	assert.Contains(t, eval[string](p, jsLastAnswer+`.querySelector('[data-testid="reasoning-part"]').textContent`),
		"I should fetch order #1042 with get-order")

	// The text streamed in: the page showed a part of it before the whole.
	seen := eval[[]string](p, `window.seenTexts`)
	require.NotEmpty(t, seen)
	final := seen[len(seen)-1]
	assert.Equal(t, "Let me look up order #1042 for you.", final)
	partial := false
	for _, s := range seen[:len(seen)-1] {
		partial = partial || (len(s) < len(final) && strings.HasPrefix(final, s))
	}
	assert.True(t, partial, "a partial text was shown before the final one; seen: %q", seen)
}

// TestChatScreenshot writes a PNG of the chat after a full conversation,
// for the docs:
//
//	go test ./examples/chat -run TestChatScreenshot -screenshot=../../docs/chat.png
//
// or with OCTAVUS_SCREENSHOT=path. Without either it is skipped.
func TestChatScreenshot(t *testing.T) {
	path := *screenshotFlag
	if path == "" {
		path = os.Getenv("OCTAVUS_SCREENSHOT")
	}
	if path == "" {
		t.Skip("writes docs/chat.png only when asked: go test ./examples/chat -run TestChatScreenshot -screenshot=../../docs/chat.png (or OCTAVUS_SCREENSHOT=path)")
	}
	execPath := findBrowser(t)
	p := openPage(t, startBrowser(t, execPath), startDemo(t).url)
	converse(p)
	// The conversation scrolled to its end, without a focus ring.
	p.do("scroll", chromedp.Evaluate[chromedp.Void](
		`document.activeElement.blur(); document.getElementById('scroller').scrollTop = document.getElementById('scroller').scrollHeight`))
	png, err := chromedp.Run(p.ctx, chromedp.CaptureScreenshot())
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(path, png, 0o644))
	abs, _ := filepath.Abs(path)
	t.Logf("wrote %s (%d bytes)", abs, len(png))
}
