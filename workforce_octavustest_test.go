package octavus_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/octavus-go/octavus"
	"github.com/octavus-go/octavus/octavustest"
)

// WorkforceAPI against octavustest's Workforce endpoints: the statuses,
// failures and refusals a user's code meets.
func TestWorkforceAgainstOctavustest(t *testing.T) {
	ctx := t.Context()
	platform := octavustest.NewServer()
	defer platform.Close()
	failing := platform.AddAgent(octavustest.Agent{ID: "agt_failing", ThreadSteps: []octavustest.ThreadStep{
		{Status: "queued"}, {Status: "failed", FailureReason: "Computer unavailable"},
	}})
	slow := platform.AddAgent(octavustest.Agent{ID: "agt_slow", ThreadSteps: []octavustest.ThreadStep{{Status: "running"}}})
	newClient := func(key string) *octavus.Client {
		c, err := octavus.NewClient(octavus.ClientOptions{BaseURL: platform.URL, APIKey: key, MaxRetries: -1})
		require.NoError(t, err)
		return c
	}
	failingKey, _ := platform.AgentKey(failing)
	slowKey, _ := platform.AgentKey(slow)
	fast := octavus.WorkforceWaitOptions{PollInterval: time.Millisecond}

	t.Run("failed run", func(t *testing.T) {
		th, err := newClient(failingKey).Workforce.Run(ctx, failing, "Go", octavus.WorkforceRunOptions{PollInterval: time.Millisecond})
		require.NoError(t, err)
		require.Equal(t, octavus.ThreadFailed, th.Status)
		require.NotNil(t, th.FailureReason)
		require.Equal(t, "Computer unavailable", *th.FailureReason)
	})
	t.Run("cancelled run", func(t *testing.T) {
		wf := newClient(slowKey).Workforce
		res, err := wf.Dispatch(ctx, slow, "Go", octavus.WorkforceDispatchOptions{})
		require.NoError(t, err)
		th, err := wf.GetThread(ctx, slow, res.ThreadID)
		require.NoError(t, err)
		require.Equal(t, octavus.ThreadRunning, th.Status)
		require.True(t, platform.CancelThread(res.ThreadID))
		th, err = wf.WaitForCompletion(ctx, slow, res.ThreadID, fast)
		require.NoError(t, err)
		require.Equal(t, octavus.ThreadCancelled, th.Status)
	})
	t.Run("timeout", func(t *testing.T) {
		wf := newClient(slowKey).Workforce
		res, err := wf.Dispatch(ctx, slow, "Go", octavus.WorkforceDispatchOptions{})
		require.NoError(t, err)
		_, err = wf.WaitForCompletion(ctx, slow, res.ThreadID, octavus.WorkforceWaitOptions{Timeout: -1})
		var te *octavus.WorkforceTimeoutError
		require.ErrorAs(t, err, &te)
		require.Equal(t, octavus.ThreadRunning, te.Thread.Status)
	})
	t.Run("cancelled context", func(t *testing.T) {
		wf := newClient(slowKey).Workforce
		res, err := wf.Dispatch(ctx, slow, "Go", octavus.WorkforceDispatchOptions{})
		require.NoError(t, err)
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		_, err = wf.WaitForCompletion(cctx, slow, res.ThreadID, octavus.WorkforceWaitOptions{})
		require.ErrorIs(t, err, context.Canceled)
	})
	t.Run("refusals", func(t *testing.T) {
		var apiErr *octavus.APIError
		// Another agent's key: 403.
		_, err := newClient(slowKey).Workforce.Dispatch(ctx, failing, "Go", octavus.WorkforceDispatchOptions{})
		require.ErrorAs(t, err, &apiErr)
		require.Equal(t, 403, apiErr.Status)
		// No key: 401.
		_, err = newClient("").Workforce.Dispatch(ctx, failing, "Go", octavus.WorkforceDispatchOptions{})
		require.ErrorAs(t, err, &apiErr)
		require.Equal(t, 401, apiErr.Status)
		// Unknown thread: 404.
		_, err = newClient(slowKey).Workforce.GetThread(ctx, slow, "thread_nope")
		require.ErrorAs(t, err, &apiErr)
		require.Equal(t, 404, apiErr.Status)
		// Out of credits: 402, for dispatches and follow-ups.
		wf := newClient(slowKey).Workforce
		res, err := wf.Dispatch(ctx, slow, "Go", octavus.WorkforceDispatchOptions{})
		require.NoError(t, err)
		require.True(t, platform.SetBlocked(slow, true))
		_, err = wf.FollowUp(ctx, slow, res.ThreadID, "More", octavus.WorkforceDispatchOptions{})
		require.ErrorAs(t, err, &apiErr)
		require.Equal(t, 402, apiErr.Status)
		_, err = wf.Run(ctx, slow, "Go", octavus.WorkforceRunOptions{})
		require.ErrorAs(t, err, &apiErr)
		require.Equal(t, 402, apiErr.Status)
	})
}
