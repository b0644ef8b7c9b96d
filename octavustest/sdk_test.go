package octavustest_test

import (
	"context"
	"testing"
	"time"

	"github.com/octavus-go/octavus"
	"github.com/octavus-go/octavus/octavustest"
)

// The Go SDK's token and log calls work against the fake: what a user's
// test of their own code would do.
func TestGoSDKTokensAndLogs(t *testing.T) {
	srv := newServer(t, octavustest.WithClock(fixedClock),
		octavustest.WithScript(octavustest.Stream(octavustest.Text("Hi"))))
	agent := srv.AddAgent(octavustest.Agent{Name: "Support"})
	sess := srv.AddSession(octavustest.Session{AgentID: agent})
	trigger(t, srv, sess, userMessage)
	client, err := octavus.NewClient(octavus.ClientOptions{BaseURL: srv.URL, APIKey: srv.APIKey, HTTPClient: srv.Client()})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()

	minted, err := client.Tokens.Mint(ctx, octavus.MintTokenRequest{AgentID: agent, SessionID: sess})
	if err != nil {
		t.Fatal(err)
	}
	if minted.Token != "oct_et_test_1" || minted.JTI != "jti_1" || !minted.ExpiresAt.Equal(fixedClock().Add(time.Hour)) {
		t.Fatalf("minted %+v", minted)
	}
	// The token drives its session.
	runner, err := octavus.NewClient(octavus.ClientOptions{BaseURL: srv.URL, APIKey: minted.Token, HTTPClient: srv.Client()})
	if err != nil {
		t.Fatal(err)
	}
	logs, err := runner.AgentSessions.GetLogs(ctx, sess, octavus.GetLogsOptions{ExcludeModelRequests: true})
	if err != nil {
		t.Fatal(err)
	}
	if logs.SessionID != sess || len(logs.Entries) != 3 || logs.Total == nil || *logs.Total != 3 || logs.Truncated {
		t.Fatalf("logs %+v", logs)
	}
	revoked, err := client.Tokens.Revoke(ctx, minted.Token)
	if err != nil || !revoked.Revoked || revoked.JTI != "jti_1" {
		t.Fatalf("revoke %+v, %v", revoked, err)
	}
	if _, err := runner.AgentSessions.GetLogs(ctx, sess, octavus.GetLogsOptions{}); err == nil {
		t.Fatal("a revoked token still works")
	}
	cleared, err := client.AgentSessions.Clear(ctx, sess)
	if err != nil || cleared.SessionID != sess || !cleared.Cleared {
		t.Fatalf("clear %+v, %v", cleared, err)
	}
}
