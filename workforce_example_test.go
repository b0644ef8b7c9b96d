package octavus_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/octavus-go/octavus"
	"github.com/octavus-go/octavus/octavustest"
)

// newWorkforceFake is a fake platform with one Workforce agent whose
// threads go queued, running, then completed, one step per read.
func newWorkforceFake() (platform *octavustest.Server, client *octavus.Client, agentID string) {
	platform = octavustest.NewServer()
	agentID = platform.AddAgent(octavustest.Agent{Name: "Sales", ThreadSteps: []octavustest.ThreadStep{
		{Status: "queued"},
		{Status: "running", Parts: []octavustest.Part{octavustest.Text("Reading the report. ")}},
		{Status: "completed", Parts: []octavustest.Part{octavustest.Text("Sales were up 12% today.")}},
	}})
	// A Workforce agent is driven with its own key (oct_agt_...).
	key, _ := platform.AgentKey(agentID)
	client, err := octavus.NewClient(octavus.ClientOptions{BaseURL: platform.URL, APIKey: key})
	if err != nil {
		panic(err)
	}
	return platform, client, agentID
}

// lastText is the text of a thread's last message.
func lastText(th *octavus.WorkforceThread) string {
	if len(th.Messages) == 0 {
		return ""
	}
	var s string
	for _, p := range th.Messages[len(th.Messages)-1].Parts {
		s += p.Text
	}
	return s
}

// fast polls the fake without the 3 s default pause.
var fast = octavus.WorkforceWaitOptions{PollInterval: time.Millisecond}

// Run sends a message to a Workforce agent and waits for its answer: the
// all-in-one call for automating an agent.
func ExampleWorkforceAPI_Run() {
	platform, client, agentID := newWorkforceFake()
	defer platform.Close()

	thread, err := client.Workforce.Run(context.Background(), agentID, "Summarize today's sales",
		octavus.WorkforceRunOptions{PollInterval: time.Millisecond})
	if err != nil {
		fmt.Println("error:", err)
		return
	}
	fmt.Println(thread.Status)
	fmt.Println(lastText(thread))
	// Output:
	// completed
	// Reading the report. Sales were up 12% today.
}

// Dispatch starts a thread and returns at once; read it later.
func ExampleWorkforceAPI_Dispatch() {
	platform, client, agentID := newWorkforceFake()
	defer platform.Close()

	res, err := client.Workforce.Dispatch(context.Background(), agentID, "Summarize today's sales", octavus.WorkforceDispatchOptions{})
	if err != nil {
		fmt.Println("error:", err)
		return
	}
	fmt.Println(res.ThreadID, res.Status)
	// Output: thread_1 queued
}

// GetThread reads a thread's status and messages, e.g. from a job that
// checks on runs it dispatched earlier.
func ExampleWorkforceAPI_GetThread() {
	platform, client, agentID := newWorkforceFake()
	defer platform.Close()
	ctx := context.Background()

	res, _ := client.Workforce.Dispatch(ctx, agentID, "Summarize today's sales", octavus.WorkforceDispatchOptions{})
	for {
		th, err := client.Workforce.GetThread(ctx, agentID, res.ThreadID)
		if err != nil {
			fmt.Println("error:", err)
			return
		}
		fmt.Printf("%s %q\n", th.Status, lastText(th))
		if octavus.IsTerminalThreadStatus(th.Status) {
			break
		}
	}
	// Output:
	// running "Reading the report. "
	// completed "Reading the report. Sales were up 12% today."
}

// FollowUp continues a thread; WaitForCompletion waits for that run.
func ExampleWorkforceAPI_FollowUp() {
	platform, client, agentID := newWorkforceFake()
	defer platform.Close()
	ctx := context.Background()

	first, _ := client.Workforce.Run(ctx, agentID, "Summarize today's sales", octavus.WorkforceRunOptions{PollInterval: time.Millisecond})
	res, err := client.Workforce.FollowUp(ctx, agentID, first.ThreadID, "And yesterday?", octavus.WorkforceDispatchOptions{})
	if err != nil {
		fmt.Println("error:", err)
		return
	}
	fmt.Println(res.ThreadID, res.Status)
	th, _ := client.Workforce.WaitForCompletion(ctx, agentID, res.ThreadID, fast)
	fmt.Println(th.Status, len(th.Messages), "messages")
	// Output:
	// thread_1 queued
	// completed 4 messages
}

// WaitForCompletion gives up after its Timeout with a
// *WorkforceTimeoutError; the run goes on and can be read later.
func ExampleWorkforceAPI_WaitForCompletion() {
	platform, client, agentID := newWorkforceFake()
	defer platform.Close()
	ctx := context.Background()

	res, _ := client.Workforce.Dispatch(ctx, agentID, "Summarize today's sales", octavus.WorkforceDispatchOptions{})
	// A negative Timeout reads once.
	_, err := client.Workforce.WaitForCompletion(ctx, agentID, res.ThreadID, octavus.WorkforceWaitOptions{Timeout: -1})
	var timeout *octavus.WorkforceTimeoutError
	if errors.As(err, &timeout) {
		fmt.Println(err)
	}
	th, _ := client.Workforce.WaitForCompletion(ctx, agentID, res.ThreadID, fast)
	fmt.Println(th.Status)
	// Output:
	// Workforce thread thread_1 did not finish within 0ms (last status: running)
	// completed
}

func ExampleIsTerminalThreadStatus() {
	for _, s := range []octavus.ThreadStatus{octavus.ThreadRunning, octavus.ThreadFailed, "paused"} {
		fmt.Println(s, octavus.IsTerminalThreadStatus(s))
	}
	// Output:
	// running false
	// failed true
	// paused false
}
