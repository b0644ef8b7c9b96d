package conformance

import (
	"testing"
)

// TestConformance plays every scenario through the reference SDK and through
// octavus-go, each against its own fresh scripted platform, and compares the
// SSE payloads, the final [DONE] and the trigger POST bodies.
func TestConformance(t *testing.T) {
	scenarios := loadAllScenarios(t)
	requireNode(t)
	for _, sc := range scenarios {
		t.Run(sc.Name, func(t *testing.T) {
			t.Parallel()
			node := runNode(t, sc)
			gosdk := runGo(t, sc)
			compareRuns(t, sc, node, gosdk)
		})
	}
}
