package main

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/octavus-go/octavus"
	"github.com/octavus-go/octavus/octavustest"
)

// The tools of the order assistant. get-order is a server tool, run in Go
// by getOrder; confirm-refund is a client tool with no Go handler, so the
// SDK hands it to the browser, where the React app asks the person.
const (
	toolGetOrder      = "get-order"
	toolConfirmRefund = "confirm-refund"
)

// Order is one order of the demo shop, as get-order returns it.
type Order struct {
	ID     string `json:"orderId"`
	Item   string `json:"item"`
	Total  string `json:"total"`  // formatted, e.g. "$129.00"
	Status string `json:"status"` // "delivered" or "shipped"
	Date   string `json:"date"`   // when it was delivered or shipped
}

// orders is the demo shop's order database; it is never written.
var orders = map[string]Order{
	"1042": {ID: "1042", Item: "Mechanical keyboard", Total: "$129.00", Status: "delivered", Date: "2026-03-02"},
	"1043": {ID: "1043", Item: "USB-C dock", Total: "$89.50", Status: "shipped", Date: "2026-03-05"},
}

// getOrderArgs are the arguments of get-order.
type getOrderArgs struct {
	OrderID string `json:"orderId"`
}

// getOrder is the get-order server tool. An unknown order fails the call;
// the agent sees the error's message.
func getOrder(ctx context.Context, args getOrderArgs) (Order, error) {
	if err := ctx.Err(); err != nil {
		return Order{}, err
	}
	id := strings.TrimPrefix(strings.TrimSpace(args.OrderID), "#")
	o, ok := orders[id]
	if !ok {
		return Order{}, fmt.Errorf("no order #%s", id)
	}
	return o, nil
}

// serverTools are the tools the Go server runs, attached to every request.
func serverTools() octavus.ToolHandlers {
	return octavus.ToolHandlers{toolGetOrder: octavus.Tool(getOrder)}
}

// demoAgent is the scripted agent of the built-in fake platform. For a user
// message with an order number it thinks, says so and calls get-order; with
// the order it answers and, for a delivered one, asks for a refund with
// confirm-refund; with the person's answer it refunds or not. Its texts
// stream word by word, one word per pace.
type demoAgent struct {
	pace time.Duration   // pause before each streamed word; 0 streams at once
	hold <-chan struct{} // when not nil, a turn's first text waits for it after its first word
	done <-chan struct{} // closed on shutdown: pending pauses are dropped
	ids  atomic.Int64    // numbers the text and reasoning parts

	mu      sync.Mutex
	refunds map[string]Order // executionId -> order waiting for confirm-refund
}

// newDemoAgent returns an agent that streams one word every pace; with a
// hold, the first text of each turn stops after its first word until hold
// is closed (config.hold).
func newDemoAgent(pace time.Duration, hold, done <-chan struct{}) *demoAgent {
	return &demoAgent{pace: pace, hold: hold, done: done, refunds: map[string]Order{}}
}

// turn is the agent's script: it answers every trigger of every session.
func (a *demoAgent) turn() octavustest.Turn {
	return octavustest.Repeat(octavustest.Respond(a.respond))
}

var orderNumber = regexp.MustCompile(`\d+`)

// respond answers one trigger POST from what it carries.
func (a *demoAgent) respond(req octavustest.TriggerRequest) octavustest.Turn {
	p := &pacer{a: a}
	for _, r := range req.ToolResults {
		switch r.ToolName {
		case toolGetOrder:
			return p.stream(a.afterLookup(p, req.ExecutionID, r)...)
		case toolConfirmRefund:
			return p.stream(a.afterConfirmation(p, req.ExecutionID, r)...)
		}
	}
	msg, _ := req.Input["USER_MESSAGE"].(string)
	id := orderNumber.FindString(msg)
	if id == "" {
		return p.stream(p.text("Tell me an order number, like 1042 or 1043, and I will look it up.")...)
	}
	parts := p.reasoning(fmt.Sprintf("The customer asks about order #%s. I look it up with get-order first.", id))
	parts = append(parts, p.text(fmt.Sprintf("Let me look up order #%s.", id))...)
	return p.stream(append(parts, octavustest.ToolCall{Name: toolGetOrder, Args: map[string]any{"orderId": id}})...)
}

// afterLookup answers with get-order's result and, for a delivered order,
// asks the person to confirm a refund.
func (a *demoAgent) afterLookup(p *pacer, execID string, r octavustest.ToolResult) []octavustest.Part {
	m, _ := r.Result.(map[string]any)
	if r.Error != "" || m == nil {
		return p.text(fmt.Sprintf("Sorry, I could not find that order (%s).", r.Error))
	}
	o := Order{ID: fmt.Sprint(m["orderId"]), Item: fmt.Sprint(m["item"]), Total: fmt.Sprint(m["total"]), Status: fmt.Sprint(m["status"]), Date: fmt.Sprint(m["date"])}
	if o.Status != "delivered" {
		return p.text(fmt.Sprintf("Order #%s, the %s, was %s on %s. It can be refunded once it is delivered.", o.ID, o.Item, o.Status, o.Date))
	}
	a.mu.Lock()
	a.refunds[execID] = o
	a.mu.Unlock()
	parts := p.text(fmt.Sprintf("Order #%s, the %s, was delivered on %s. I can refund it.", o.ID, o.Item, o.Date))
	return append(parts, octavustest.ToolCall{Name: toolConfirmRefund, Args: map[string]any{
		"orderId":  o.ID,
		"question": fmt.Sprintf("Refund %s for the %s (order #%s)?", o.Total, o.Item, o.ID),
	}})
}

// afterConfirmation answers the person's confirm-refund result.
func (a *demoAgent) afterConfirmation(p *pacer, execID string, r octavustest.ToolResult) []octavustest.Part {
	a.mu.Lock()
	o, ok := a.refunds[execID]
	delete(a.refunds, execID)
	a.mu.Unlock()
	what := "the order"
	if ok {
		what = fmt.Sprintf("%s for the %s (order #%s)", o.Total, o.Item, o.ID)
	}
	if res, _ := r.Result.(map[string]any); r.Error == "" && res["confirmed"] == true {
		return p.text(fmt.Sprintf("Done: I refunded %s.", what))
	}
	return p.text(fmt.Sprintf("All right, I did not refund %s.", what))
}

// pacer builds the parts of one turn with a pause (an octavustest.Stall)
// before each word, and releases the pauses one per pace once the turn
// streams: octavustest has no delay part, and a Stall released later is one.
type pacer struct {
	a     *demoAgent
	gates []chan struct{}
	held  bool // the turn's first text has its hold (demoAgent.hold)
}

func (p *pacer) text(s string) []octavustest.Part      { return p.deltas("text", s) }
func (p *pacer) reasoning(s string) []octavustest.Part { return p.deltas("reasoning", s) }

func (p *pacer) deltas(kind, s string) []octavustest.Part {
	id := fmt.Sprintf("%s_demo_%d", kind, p.a.ids.Add(1))
	parts := []octavustest.Part{octavustest.Event(map[string]any{"type": kind + "-start", "id": id})}
	for _, word := range strings.SplitAfter(s, " ") {
		if p.a.pace > 0 {
			gate := make(chan struct{})
			p.gates = append(p.gates, gate)
			parts = append(parts, octavustest.Stall(gate))
		}
		parts = append(parts, octavustest.Event(map[string]any{"type": kind + "-delta", "id": id, "delta": word}))
		if kind == "text" && p.a.hold != nil && !p.held {
			p.held = true
			parts = append(parts, octavustest.Stall(p.a.hold))
		}
	}
	return append(parts, octavustest.Event(map[string]any{"type": kind + "-end", "id": id}))
}

// stream returns the turn and starts releasing its pauses. The goroutine
// ends after the last pause or on shutdown.
func (p *pacer) stream(parts ...octavustest.Part) octavustest.Turn {
	if len(p.gates) > 0 {
		gates, pace, done := p.gates, p.a.pace, p.a.done
		go func() {
			t := time.NewTicker(pace)
			defer t.Stop()
			for _, g := range gates {
				select {
				case <-t.C:
					close(g)
				case <-done:
					return
				}
			}
		}()
	}
	return octavustest.Stream(parts...)
}
