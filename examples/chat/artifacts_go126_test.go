//go:build go1.26

package main

import (
	"flag"
	"testing"
)

// artifactDir is where a test saves its failure screenshots: t.ArtifactDir
// when go test runs with -artifacts (kept under -outputdir), else a
// directory under os.TempDir named after the test, which is kept too.
func artifactDir(t *testing.T) string {
	if f := flag.Lookup("test.artifacts"); f != nil && f.Value.String() == "true" {
		return t.ArtifactDir()
	}
	return persistentArtifactDir(t)
}
