package conformance

import (
	"os"
	"testing"
)

// TestConformance plays every scenario through octavus-go and compares its
// SSE payloads, final [DONE] and trigger POST bodies with:
//
//   - the recording of the official 6.4.0 server SDK (recorded/<name>.json),
//     always, so that a clone without the oracle still checks 6.4.0;
//   - the live 6.4.0 oracle when it is there (../shared/oracle or
//     $OCTAVUS_ORACLE_DIR), which must still produce the recording: a
//     stale recording fails (-update-recordings rewrites them);
//   - the live npm @octavus/server-sdk@2.0.0 for the scenarios that list
//     "2.0.0" in versions.
//
// Under CI=true a missing node or oracle is a failure, not a skip.
func TestConformance(t *testing.T) {
	scenarios := loadAllScenarios(t)
	requireNode(t)
	oracle, why := findOracle()
	ci := os.Getenv("CI") == "true"
	if oracle == "" {
		if ci || *updateRecordings {
			t.Fatal(why + " (CI=true or -update-recordings: not skipping)")
		}
		t.Logf("%s: comparing with the recordings only", why)
	}
	for _, sc := range scenarios {
		t.Run(sc.Name, func(t *testing.T) {
			t.Parallel()
			conformScenario(t, sc, oracle)
		})
	}
}

// conformScenario runs one scenario through every reference it names.
func conformScenario(t *testing.T, sc *scenario, oracle string) {
	var refs []reference
	if sc.runsOn(version64) {
		path := recordingPath(sc)
		var live *run
		if oracle != "" {
			r := runNode(t, sc, version64, oracle)
			live = &r
		}
		switch {
		case path == "":
			// A scenario of $OCTAVUS_CONFORMANCE_DIR: only the live oracle.
			const why = "this scenario has no recording and the 6.4.0 oracle is not there (set " + oracleDirEnv + ")"
			switch {
			case live != nil:
				refs = append(refs, reference{label: "reference 6.4.0 (Node)", out: outcomeOf(*live), run: live})
			case sc.runsOn(version20):
				t.Log(why + ": compared with 2.0.0 only")
			default:
				t.Skip(why)
			}
		case *updateRecordings:
			if err := writeRecording(path, sc, outcomeOf(*live)); err != nil {
				t.Fatalf("writing %s: %v", path, err)
			}
			refs = append(refs, reference{label: "reference 6.4.0 (Node)", out: outcomeOf(*live), run: live})
		default:
			rec, err := loadRecording(path, sc)
			if err != nil {
				t.Fatalf("%v\nregenerate the recordings with: %s", err, regenerate)
			}
			if live != nil {
				if problems := diffOutcomes("recording", rec, rec.payloads, "recording payloads",
					"live 6.4.0 oracle", outcomeOf(*live)); len(problems) > 0 {
					t.Errorf("%s is stale: the 6.4.0 oracle no longer produces it; regenerate the recordings with:\n  %s\n%s",
						path, regenerate, joinLines(problems))
				}
			}
			refs = append(refs, reference{label: "recorded 6.4.0 oracle", out: rec, run: live})
		}
	}
	if sc.runsOn(version20) {
		r := runNode(t, sc, version20, "@octavus/server-sdk")
		refs = append(refs, reference{label: "reference 2.0.0 (Node)", out: outcomeOf(r), run: &r})
	}
	gosdk := runGo(t, sc)
	for _, ref := range refs {
		compareRuns(t, sc, ref, gosdk)
	}
}
