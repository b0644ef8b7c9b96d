package octavus

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/octavus-go/octavus/internal/wire"
)

// TokensAPI mints and revokes ephemeral tokens: short-lived credentials
// bound to one agent (and optionally one session), traded for a trusted
// long-lived key that has the "Mint Ephemeral Tokens" permission. Hand a
// token to compute you trust less (a sandbox, a job runner, a user's
// device): it can act only within its scope and expires on its own, so the
// long-lived key never leaves your server. Use it as another Client's
// APIKey. Get it from Client.Tokens.
type TokensAPI struct{ c *Client }

// MintTokenRequest is the scope and lifetime of a token to mint. The scope
// must lie within the calling key's own.
type MintTokenRequest struct {
	// AgentID is the agent the token is bound to. Required.
	AgentID string `json:"agentId"`
	// SessionID, when set, narrows the token to that one session of the
	// agent, the tightest scope.
	SessionID string `json:"sessionId,omitempty"`
	// TTLSeconds is the lifetime asked for, in seconds. Zero asks for the
	// platform's default (one hour); the platform caps it (at 24 hours).
	// A negative value is refused before anything is sent.
	TTLSeconds int `json:"ttlSeconds,omitempty"`
}

// MintTokenResponse is a minted token.
type MintTokenResponse struct {
	// Token is the bearer token (an "oct_et_..." string): a credential,
	// keep it out of logs.
	Token string
	// JTI is the token's id, for your records (Revoke takes the token).
	JTI string
	// ExpiresAt is when the token stops working: the answer's ISO-8601
	// expiresAt, to the nanosecond, in the offset it was written with
	// (UTC for the platform's "Z").
	ExpiresAt time.Time

	// expiresAt is the answer's expiresAt as it was written, so that
	// MarshalJSON gives it back unchanged.
	expiresAt string
}

// MarshalJSON encodes the token as the platform's answer
// {token, jti, expiresAt}, so that it can be handed on (to a runner, or to
// a browser) in the reference's shape. A decoded answer's expiresAt is
// written back exactly as the platform wrote it while ExpiresAt still
// holds that instant; otherwise ExpiresAt is written as JavaScript's
// toISOString writes it (UTC, milliseconds).
func (r MintTokenResponse) MarshalJSON() ([]byte, error) {
	exp := r.expiresAt
	if t, err := parseISOTime(exp); exp == "" || err != nil || !t.Equal(r.ExpiresAt) {
		exp = r.ExpiresAt.UTC().Format("2006-01-02T15:04:05.000Z")
	}
	return json.Marshal(struct {
		Token     string `json:"token"`
		JTI       string `json:"jti"`
		ExpiresAt string `json:"expiresAt"`
	}{r.Token, r.JTI, exp})
}

// UnmarshalJSON decodes the platform's answer {token, jti, expiresAt}.
// expiresAt must be an RFC 3339 date and time (what the platform writes).
func (r *MintTokenResponse) UnmarshalJSON(data []byte) error {
	var w struct {
		Token     string `json:"token"`
		JTI       string `json:"jti"`
		ExpiresAt string `json:"expiresAt"`
	}
	if err := json.Unmarshal(data, &w); err != nil {
		return err
	}
	t, err := parseISOTime(w.ExpiresAt)
	if err != nil {
		return fmt.Errorf(`field "expiresAt": %w`, err)
	}
	*r = MintTokenResponse{Token: w.Token, JTI: w.JTI, ExpiresAt: t, expiresAt: w.ExpiresAt}
	return nil
}

// parseISOTime reads an ISO-8601 date and time with a zone as the platform
// writes them (JavaScript's toISOString: "2026-01-02T15:04:05.000Z"): RFC
// 3339, with or without fractions of a second, or with a "+hhmm" offset.
func parseISOTime(s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err == nil {
		return t, nil
	}
	if t, err2 := time.Parse("2006-01-02T15:04:05.999999999Z0700", s); err2 == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("%q is not an ISO-8601 date and time", s)
}

// RevokeTokenResult is the answer of Revoke.
type RevokeTokenResult struct {
	// Revoked is true when the token was live and is now revoked, false
	// when it was unknown, already expired or already revoked.
	Revoked bool `json:"revoked"`
	// JTI is the revoked token's id, when the platform names it.
	JTI string `json:"jti,omitempty"`
}

// Mint mints an ephemeral token of req's scope and lifetime
// (POST /api/tokens). It fails with an *APIError when the key lacks the
// mint permission or the agent or session is unknown or out of its scope.
//
// Like every POST, it is retried only when the platform certainly did not
// process it (see ClientOptions.MaxRetries), so no second token is minted
// by a retry.
func (t *TokensAPI) Mint(ctx context.Context, req MintTokenRequest) (*MintTokenResponse, error) {
	if err := checkID("agent id", req.AgentID); err != nil {
		return nil, err
	}
	if req.TTLSeconds < 0 {
		return nil, fmt.Errorf("octavus: MintTokenRequest.TTLSeconds %d is negative", req.TTLSeconds)
	}
	const path = "/api/tokens"
	check := func(o *wire.Object) error {
		o.String("token")
		o.String("jti")
		o.String("expiresAt")
		return o.Err()
	}
	var out MintTokenResponse
	if err := t.c.doChecked(ctx, http.MethodPost, path, req, check, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Revoke revokes token before it expires (POST /api/tokens/revoke). It is
// idempotent: revoking a token that is unknown, expired or already revoked
// succeeds with Revoked false. An empty token is refused before anything is
// sent.
func (t *TokensAPI) Revoke(ctx context.Context, token string) (*RevokeTokenResult, error) {
	if token == "" {
		return nil, errors.New("octavus: empty token")
	}
	const path = "/api/tokens/revoke"
	body := struct {
		Token string `json:"token"`
	}{token}
	check := func(o *wire.Object) error {
		o.Bool("revoked")
		o.OptString("jti")
		return o.Err()
	}
	var out RevokeTokenResult
	if err := t.c.doChecked(ctx, http.MethodPost, path, body, check, &out); err != nil {
		return nil, err
	}
	return &out, nil
}
