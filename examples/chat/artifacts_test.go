//go:build !go1.26

package main

import "testing"

// artifactDir is where a test saves its failure screenshots: a directory
// under os.TempDir named after the test, kept after the test ends. (With
// Go 1.26 and go test -artifacts it is t.ArtifactDir.)
func artifactDir(t *testing.T) string { return persistentArtifactDir(t) }
