//go:build !workerapi

package conformance

import "testing"

func runGoWorker(t *testing.T, sc *workerScenario) workerRun {
	t.Skip("the Go workers / deferred start API has not landed yet")
	return workerRun{}
}
