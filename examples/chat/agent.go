package main

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/octavus-go/octavus/octavustest"
)

// Tool names of the demo agent. get-order looks an order up (orders.go);
// confirm-refund asks the person (confirm.go). Both run in Go.
const (
	toolGetOrder      = "get-order"
	toolConfirmRefund = "confirm-refund"
)

// demoAgent is the scripted agent of the built-in fake platform. For a user
// message it thinks (reasoning), says what it does (text), looks the order
// up with the get-order server tool, tells what it found and, for a
// delivered order, asks the person to confirm a refund with the
// confirm-refund tool; after the person's answer it replies accordingly. Every text streams word by word at a visible pace.
//
// Two messages are special, for trying the page out: one with the word
// "long" streams a long answer slowly (press Stop during it, or reload the
// page), one with the word "error" fails mid-answer with a retryable
// platform error event (the page shows it with a Retry button; the retry
// succeeds).
type demoAgent struct {
	pace time.Duration   // pause before each streamed word
	hold <-chan struct{} // when not nil, the long answer waits for it after longHoldWords words
	done <-chan struct{} // closed on shutdown; pending pauses are dropped
	ids  atomic.Int64    // numbers the text and reasoning parts

	mu      sync.Mutex
	refunds map[string]map[string]any // executionId -> order waiting for confirm-refund
}

// newDemoAgent returns an agent that streams one word every pace; with a
// hold, its long answer stops after longHoldWords words until hold is
// closed (config.hold).
func newDemoAgent(pace time.Duration, hold, done <-chan struct{}) *demoAgent {
	return &demoAgent{pace: pace, hold: hold, done: done, refunds: map[string]map[string]any{}}
}

// script is the agent's script: it answers every POST of every session.
func (a *demoAgent) script() octavustest.Turn {
	return octavustest.Repeat(octavustest.Respond(a.respond))
}

// What respond looks for in a user message: the two special words and an
// order number.
var (
	wordLong   = regexp.MustCompile(`(?i)\blong\b`)
	wordError  = regexp.MustCompile(`(?i)\berror\b`)
	orderDigit = regexp.MustCompile(`\d+`)
)

// longAnswerEnd closes the long answer; a stopped stream never shows it.
const longAnswerEnd = "That is the end of the long answer."

// respond builds the answer to one trigger POST from what it carries.
func (a *demoAgent) respond(req octavustest.TriggerRequest) octavustest.Turn {
	for _, r := range req.ToolResults {
		switch r.ToolName {
		case toolGetOrder:
			return a.afterLookup(req.ExecutionID, r)
		case toolConfirmRefund:
			return a.afterConfirmation(req.ExecutionID, r)
		}
	}
	msg, _ := req.Input["USER_MESSAGE"].(string)
	switch {
	case wordError.MatchString(msg) && !req.Rollback.Present:
		// The first try fails; the browser's retry (which carries
		// rollbackAfterMessageId) gets an answer.
		return a.providerError()
	case wordError.MatchString(msg):
		p := a.newPacer()
		return p.stream(p.text(retriedAnswer))
	case wordLong.MatchString(msg):
		return a.longAnswer()
	}
	id := orderDigit.FindString(msg)
	intro := fmt.Sprintf("Let me look up order #%s for you.", id)
	if id == "" {
		id = latestOrderID
		intro = fmt.Sprintf("Let me look up your latest order, #%s.", id)
	}
	p := a.newPacer()
	parts := p.reasoning(fmt.Sprintf("The customer is asking about an order. I should fetch order #%s with get-order before I say anything about it, and offer a refund only if it was delivered.", id))
	parts = append(parts, p.text(intro)...)
	parts = append(parts, octavustest.ToolCall{Name: toolGetOrder, Title: "Looking up the order", Args: map[string]any{"orderId": id}})
	return p.stream(parts)
}

// afterLookup answers with the order the get-order tool found, and asks for
// a refund confirmation when it was delivered.
func (a *demoAgent) afterLookup(execID string, r octavustest.ToolResult) octavustest.Turn {
	p := a.newPacer()
	order, _ := r.Result.(map[string]any)
	if r.Error != "" || order == nil {
		return p.stream(p.text(fmt.Sprintf("Sorry, I could not find that order (%s). Your orders are #1042, #1043 and #1044.", orDefault(r.Error, "no result"))))
	}
	id, item, total, status, date := order["orderId"], order["item"], order["total"], order["status"], order["date"]
	if status != "delivered" {
		return p.stream(p.text(fmt.Sprintf("Order #%v, the %v (%v), is %v (%v). It can be refunded once it has been delivered.", id, item, total, status, date)))
	}
	a.mu.Lock()
	a.refunds[execID] = order
	a.mu.Unlock()
	parts := p.text(fmt.Sprintf("Order #%v, the %v, was delivered on %v and cost %v. It is eligible for a refund. Please confirm the refund below.", id, item, date, total))
	parts = append(parts, octavustest.ToolCall{Name: toolConfirmRefund, Title: "Confirm the refund", Args: map[string]any{
		"orderId":  id,
		"amount":   total,
		"question": fmt.Sprintf("Refund %v for the %v (order #%v)?", total, item, id),
	}})
	return p.stream(parts)
}

// afterConfirmation answers the browser's confirm-refund result.
func (a *demoAgent) afterConfirmation(execID string, r octavustest.ToolResult) octavustest.Turn {
	a.mu.Lock()
	order := a.refunds[execID]
	delete(a.refunds, execID)
	a.mu.Unlock()
	what := "the order"
	if order != nil {
		what = fmt.Sprintf("%v for the %v (order #%v)", order["total"], order["item"], order["orderId"])
	}
	p := a.newPacer()
	result, _ := r.Result.(map[string]any)
	if r.Error == "" && result["confirmed"] == true {
		return p.stream(p.text(fmt.Sprintf("Done: you confirmed, so I refunded %s. The money will be back on your card in 3 to 5 business days.", what)))
	}
	return p.stream(p.text(fmt.Sprintf("Understood: you declined, so I did not refund %s. Is there anything else I can help with?", what)))
}

// retriedAnswer is the answer to the retry of the "error" message.
const retriedAnswer = "This time it worked: the retry got through."

// demoErrorMessage is the message of the scripted platform error.
const demoErrorMessage = "The model provider is overloaded right now (a scripted demo error)."

// providerError starts an answer and fails it with a platform error event,
// as the platform does when the model provider gives up mid-answer. (An
// HTTP 503 would do too, but the SDK retries those before it reports them.)
func (a *demoAgent) providerError() octavustest.Turn {
	p := a.newPacer()
	parts := p.text("Let me think about that...")
	parts = append(parts,
		octavustest.Event(map[string]any{
			"type":       "error",
			"errorType":  "provider_overloaded",
			"message":    demoErrorMessage,
			"source":     "provider",
			"retryable":  true,
			"retryAfter": 5,
			"provider":   map[string]any{"name": "demo"},
		}),
		octavustest.Finish("error"))
	return p.stream(parts)
}

// longAnswer streams many paragraphs slowly, for trying Stop. With a hold
// it stops after longHoldWords words until the hold is closed.
func (a *demoAgent) longAnswer() octavustest.Turn {
	p := a.newPacer()
	parts := p.text(longAnswerText())
	if a.hold != nil {
		// The text-start event, then a pause and a delta per word.
		parts = slices.Insert(parts, 1+2*longHoldWords, octavustest.Stall(a.hold))
	}
	return p.stream(parts)
}

// longHoldWords is how many words of the long answer stream before a hold
// (config.hold) stops it.
const longHoldWords = 10

// longAnswerText is the long answer: about 800 words, some 25 seconds at
// the default pace.
func longAnswerText() string {
	var b strings.Builder
	b.WriteString("Here is a long answer, streamed slowly so that you can press Stop.\n\n")
	for i := 1; i <= 40; i++ {
		fmt.Fprintf(&b, "Paragraph %d: a good keyboard deserves care, so dust it weekly, keep drinks away and check the cable now and then.\n\n", i)
	}
	b.WriteString(longAnswerEnd)
	return b.String()
}

// newPacer starts the parts of one turn.
func (a *demoAgent) newPacer() *pacer { return &pacer{a: a} }

// pacer builds the parts of one streamed turn with a pause (an
// octavustest.Stall) before each word, and releases the pauses one per pace
// once the turn streams. octavustest has no delay part; a Stall whose
// release channel closes later is one.
type pacer struct {
	a     *demoAgent
	gates []chan struct{}
}

// text streams s as one text part, a word per delta.
func (p *pacer) text(s string) []octavustest.Part { return p.deltas("text", s) }

// reasoning streams s as one reasoning part, a word per delta.
func (p *pacer) reasoning(s string) []octavustest.Part { return p.deltas("reasoning", s) }

func (p *pacer) deltas(kind, s string) []octavustest.Part {
	id := fmt.Sprintf("%s_demo_%d", kind, p.a.ids.Add(1))
	parts := []octavustest.Part{octavustest.Event(map[string]any{"type": kind + "-start", "id": id})}
	for _, word := range strings.SplitAfter(s, " ") {
		gate := make(chan struct{})
		p.gates = append(p.gates, gate)
		parts = append(parts,
			octavustest.Stall(gate),
			octavustest.Event(map[string]any{"type": kind + "-delta", "id": id, "delta": word}))
	}
	return append(parts, octavustest.Event(map[string]any{"type": kind + "-end", "id": id}))
}

// stream returns the turn and starts releasing its pauses. The releasing
// goroutine ends after the last pause or on shutdown; a stream that ended
// early (the client went away) no longer waits for it.
func (p *pacer) stream(parts []octavustest.Part) octavustest.Turn {
	gates, pace, done := p.gates, p.a.pace, p.a.done
	go func() {
		t := time.NewTimer(pace)
		defer t.Stop()
		for _, g := range gates {
			select {
			case <-t.C:
				close(g)
				t.Reset(pace)
			case <-done:
				return
			}
		}
	}()
	return octavustest.Stream(parts...)
}

// orDefault returns s, or def when s is empty.
func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
