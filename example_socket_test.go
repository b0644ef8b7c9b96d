package octavus_test

import (
	"context"
	"fmt"
	"io"

	"github.com/octavus-go/octavus"
	"github.com/octavus-go/octavus/octavustest"
)

// chanConn is an in-memory octavus.SocketConn: what the browser sends
// arrives on in (closed: the browser left), what ServeSocket writes goes to
// out. A real server adapts its WebSocket instead (see examples/socket).
type chanConn struct{ in, out chan []byte }

func (c chanConn) Read(ctx context.Context) ([]byte, error) {
	select {
	case m, ok := <-c.in:
		if !ok {
			return nil, io.EOF
		}
		return m, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (c chanConn) Write(ctx context.Context, msg []byte) error {
	select {
	case c.out <- msg:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// ServeSocket serves one browser connection of the socket transport. The
// session is created on the first trigger (the docs' server-managed
// sessions); each event comes back as one JSON message.
func ExampleServeSocket() {
	platform := octavustest.NewServer(octavustest.WithScript(
		octavustest.Stream(octavustest.Text("Hello", " from Octavus")),
	))
	defer platform.Close()
	client, _ := octavus.NewClient(octavus.ClientOptions{BaseURL: platform.URL, APIKey: platform.APIKey})
	agentID := platform.AddAgent(octavustest.Agent{Name: "Support"})

	conn := chanConn{in: make(chan []byte), out: make(chan []byte)}
	done := make(chan error, 1)
	go func() {
		// In an HTTP handler: ctx is r.Context(), conn wraps the WebSocket.
		done <- octavus.ServeSocket(context.Background(), conn, func(ctx context.Context, sessionID string) (*octavus.AgentSession, error) {
			id, err := client.AgentSessions.Create(ctx, agentID, map[string]any{"COMPANY_NAME": "Acme Corp"})
			if err != nil {
				return nil, err
			}
			return client.AgentSessions.Attach(id, octavus.AttachOptions{}), nil
		})
	}()

	// The browser (createSocketTransport) triggers and reads until finish.
	conn.in <- []byte(`{"type":"trigger","triggerName":"user-message","input":{"USER_MESSAGE":"Hi"}}`)
	for {
		msg := <-conn.out
		fmt.Println(string(msg))
		ev, _ := octavus.ParseStreamEvent(msg)
		if _, ok := ev.(*octavus.FinishEvent); ok {
			break
		}
	}
	close(conn.in) // the browser leaves
	fmt.Println("ServeSocket returned", <-done)
	// Output:
	// {"type":"start","messageId":"msg_2","executionId":"exec_1"}
	// {"type":"text-start","id":"text_1"}
	// {"type":"text-delta","id":"text_1","delta":"Hello"}
	// {"type":"text-delta","id":"text_1","delta":" from Octavus"}
	// {"type":"text-end","id":"text_1"}
	// {"type":"finish","finishReason":"stop","executionId":"exec_1"}
	// ServeSocket returned <nil>
}
