package testproc

import (
	"context"
	"os/exec"
	"testing"
	"time"
)

func TestStartReadsTheURLAndStopEndsTheProcess(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh on PATH:", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	p := Start(t, ctx, "echoer", []string{sh, "-c", `echo starting; echo oops >&2; echo "Listening on http://127.0.0.1:1234"; exec sleep 60`}, nil)
	if p.URL != "http://127.0.0.1:1234" {
		t.Fatalf("URL %q", p.URL)
	}
	p.Stop()
	select {
	case <-p.exited:
	default:
		t.Fatal("Stop returned while the process runs")
	}
	want := "echoer stdout:\n  starting\n  Listening on http://127.0.0.1:1234\n" +
		"echoer stderr:\n  oops\n"
	if got := p.Logs(); got != want {
		t.Fatalf("Logs %q, want %q", got, want)
	}
}

func TestURLWatcherFindsALineSplitAcrossWrites(t *testing.T) {
	w := &urlWatcher{url: make(chan string, 1)}
	for _, part := range []string{"Listen", "ing on http://h:1\r", "\nListening on http://h:2\n"} {
		if _, err := w.Write([]byte(part)); err != nil {
			t.Fatal(err)
		}
	}
	if got := <-w.url; got != "http://h:1" {
		t.Fatalf("url %q", got)
	}
	select {
	case u := <-w.url:
		t.Fatalf("a second url %q", u)
	default:
	}
}

func TestIndent(t *testing.T) {
	for in, want := range map[string]string{"": "  (empty)\n", "a\nb\n": "  a\n  b\n", "a": "  a\n"} {
		if got := Indent(in); got != want {
			t.Errorf("Indent(%q) = %q, want %q", in, got, want)
		}
	}
}
