package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/octavus-go/octavus"
)

// Order is one order of the demo shop, as the get-order tool returns it.
type Order struct {
	ID     string `json:"orderId"`
	Item   string `json:"item"`
	Total  string `json:"total"`  // formatted, e.g. "$129.00"
	Status string `json:"status"` // "delivered", "shipped" or "processing"
	Date   string `json:"date"`   // when it was delivered, shipped or placed
}

// latestOrderID is the most recent order, the one a message without an
// order number is about.
const latestOrderID = "1042"

// orderStore is the in-memory order database behind the get-order server
// tool. It is read-only, so it is safe for concurrent use.
type orderStore struct {
	orders map[string]Order
}

// newOrderStore returns a store with the demo shop's few orders.
func newOrderStore() *orderStore {
	s := &orderStore{orders: map[string]Order{}}
	for _, o := range []Order{
		{ID: "1042", Item: "Mechanical keyboard", Total: "$129.00", Status: "delivered", Date: "2026-03-02"},
		{ID: "1043", Item: "USB-C dock", Total: "$89.50", Status: "shipped", Date: "2026-03-05"},
		{ID: "1044", Item: "Desk lamp", Total: "$34.99", Status: "processing", Date: "2026-03-06"},
	} {
		s.orders[o.ID] = o
	}
	return s
}

// getOrderArgs are the arguments of the get-order tool.
type getOrderArgs struct {
	OrderID string `json:"orderId"`
}

// getOrder is the get-order server tool: it looks an order up by id. An
// unknown id fails the call; the agent sees the error message.
func (s *orderStore) getOrder(ctx context.Context, args getOrderArgs) (Order, error) {
	if err := ctx.Err(); err != nil {
		return Order{}, err
	}
	id := strings.TrimPrefix(strings.TrimSpace(args.OrderID), "#")
	if id == "" {
		return Order{}, fmt.Errorf("orderId is required")
	}
	o, ok := s.orders[id]
	if !ok {
		return Order{}, fmt.Errorf("no order #%s", id)
	}
	return o, nil
}

// tools returns get-order, made with the typed octavus.Tool helper.
// (confirm-refund, which asks the person, is in confirm.go.)
func (s *orderStore) tools() octavus.ToolHandlers {
	return octavus.ToolHandlers{
		"get-order": octavus.Tool(s.getOrder),
	}
}
