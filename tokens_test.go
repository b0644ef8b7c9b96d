package octavus

import (
	"encoding/json"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

const mintAnswer = `{"token":"oct_et_abc","jti":"jti_1","expiresAt":"2026-12-03T11:25:49.120Z"}`

func TestMintTokenBodies(t *testing.T) {
	cases := []struct {
		name string
		req  MintTokenRequest
		body string
	}{
		{"agent only", MintTokenRequest{AgentID: "agent_1"}, `{"agentId":"agent_1"}`},
		{"session scope and ttl", MintTokenRequest{AgentID: "agent_1", SessionID: "sess_1", TTLSeconds: 3600}, `{"agentId":"agent_1","sessionId":"sess_1","ttlSeconds":3600}`},
		{"ttl only", MintTokenRequest{AgentID: "agent_1", TTLSeconds: 60}, `{"agentId":"agent_1","ttlSeconds":60}`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakePlatform(t)
			f.handle("POST /api/tokens", jsonRoute(mintAnswer))
			got, err := f.client(t).Tokens.Mint(t.Context(), tc.req)
			require.NoError(t, err)
			r := oneRequest(t, f)
			require.Equal(t, http.MethodPost, r.Method)
			require.Equal(t, "/api/tokens", r.Path)
			require.Equal(t, tc.body, string(r.Body))
			require.Equal(t, "Bearer "+testKey, r.Header.Get("Authorization"))
			require.Equal(t, "oct_et_abc", got.Token)
			require.Equal(t, "jti_1", got.JTI)
			require.Equal(t, time.Date(2026, 12, 3, 11, 25, 49, 120e6, time.UTC), got.ExpiresAt)
			require.Equal(t, time.UTC, got.ExpiresAt.Location())
		})
	}
}

func TestMintTokenExpiresAtKeptExact(t *testing.T) {
	for exp, nanos := range map[string]int{
		"2026-12-03T11:25:49.120Z":       120e6,
		"2026-12-03T11:25:49Z":           0,
		"2026-12-03T11:25:49.123456789Z": 123456789,
		"2026-12-03T12:25:49.120+01:00":  120e6,
		"2026-12-03T12:25:49.120+0100":   120e6,
	} {
		t.Run(exp, func(t *testing.T) {
			f := newFakePlatform(t)
			f.handle("POST /api/tokens", jsonRoute(`{"token":"t","jti":"j","expiresAt":"`+exp+`","extra":1}`))
			got, err := f.client(t).Tokens.Mint(t.Context(), MintTokenRequest{AgentID: "a"})
			require.NoError(t, err)
			require.Equal(t, time.Date(2026, 12, 3, 11, 25, 49, nanos, time.UTC), got.ExpiresAt.UTC())
			_, off := got.ExpiresAt.Zone()
			if exp[len(exp)-1] != 'Z' {
				require.Equal(t, 3600, off, "the offset is kept")
			}
			b, err := json.Marshal(got)
			require.NoError(t, err)
			// The extra key is dropped, as the reference's zod object does.
			require.Equal(t, `{"token":"t","jti":"j","expiresAt":"`+exp+`"}`, string(b))
		})
	}
}

func TestMintTokenResponseMarshalWritesISOString(t *testing.T) {
	r := MintTokenResponse{Token: "t", JTI: "j", ExpiresAt: time.Date(2026, 1, 2, 4, 4, 5, 7e8, time.FixedZone("", 3600))}
	b, err := json.Marshal(r)
	require.NoError(t, err)
	// JavaScript's toISOString: UTC, milliseconds.
	require.Equal(t, `{"token":"t","jti":"j","expiresAt":"2026-01-02T03:04:05.700Z"}`, string(b))

	// A decoded answer whose ExpiresAt was changed is written from the
	// new time.
	var d MintTokenResponse
	require.NoError(t, json.Unmarshal([]byte(mintAnswer), &d))
	d.ExpiresAt = d.ExpiresAt.Add(time.Hour)
	b, err = json.Marshal(d)
	require.NoError(t, err)
	require.Equal(t, `{"token":"oct_et_abc","jti":"jti_1","expiresAt":"2026-12-03T12:25:49.120Z"}`, string(b))
}

func TestMintTokenBadAnswers(t *testing.T) {
	for name, answer := range map[string]string{
		"no token":             `{"jti":"j","expiresAt":"2026-12-03T11:25:49.120Z"}`,
		"no jti":               `{"token":"t","expiresAt":"2026-12-03T11:25:49.120Z"}`,
		"no expiresAt":         `{"token":"t","jti":"j"}`,
		"token null":           `{"token":null,"jti":"j","expiresAt":"2026-12-03T11:25:49.120Z"}`,
		"jti number":           `{"token":"t","jti":1,"expiresAt":"2026-12-03T11:25:49.120Z"}`,
		"expiresAt number":     `{"token":"t","jti":"j","expiresAt":1790000000}`,
		"expiresAt not a date": `{"token":"t","jti":"j","expiresAt":"tomorrow"}`,
		"array":                `[]`,
		"not JSON":             `oops`,
	} {
		t.Run(name, func(t *testing.T) {
			f := newFakePlatform(t)
			f.handle("POST /api/tokens", jsonRoute(answer))
			got, err := f.client(t).Tokens.Mint(t.Context(), MintTokenRequest{AgentID: "a"})
			require.Error(t, err)
			require.Nil(t, got)
		})
	}
}

func TestMintTokenRefusedLocally(t *testing.T) {
	f := newFakePlatform(t)
	c := f.client(t)
	_, err := c.Tokens.Mint(t.Context(), MintTokenRequest{})
	require.ErrorContains(t, err, "empty agent id")
	_, err = c.Tokens.Mint(t.Context(), MintTokenRequest{AgentID: "a", TTLSeconds: -1})
	require.ErrorContains(t, err, "negative")
	_, err = c.Tokens.Revoke(t.Context(), "")
	require.ErrorContains(t, err, "empty token")
	require.Empty(t, f.reqs())
}

func TestMintTokenAPIError(t *testing.T) {
	f := newFakePlatform(t)
	f.handle("POST /api/tokens", statusLeg(http.StatusForbidden, `{"error":"API key lacks the Mint Ephemeral Tokens permission","code":"FORBIDDEN"}`))
	_, err := f.client(t).Tokens.Mint(t.Context(), MintTokenRequest{AgentID: "a"})
	var apiErr *APIError
	require.ErrorAs(t, err, &apiErr)
	require.Equal(t, http.StatusForbidden, apiErr.Status)
	require.Equal(t, "API key lacks the Mint Ephemeral Tokens permission", apiErr.Message)
	require.Equal(t, "FORBIDDEN", apiErr.Code)
}

// Mint and Revoke are POSTs: a 5xx is not retried (the token may have been
// minted), a 429 is.
func TestTokensRetryOnlyUnprocessed(t *testing.T) {
	for _, call := range []struct {
		route  string
		answer string
		do     func(c *Client) error
	}{
		{"POST /api/tokens", mintAnswer, func(c *Client) error {
			_, err := c.Tokens.Mint(t.Context(), MintTokenRequest{AgentID: "a"})
			return err
		}},
		{"POST /api/tokens/revoke", `{"revoked":true}`, func(c *Client) error {
			_, err := c.Tokens.Revoke(t.Context(), "oct_et_abc")
			return err
		}},
	} {
		t.Run(call.route, func(t *testing.T) {
			f := newFakePlatform(t)
			f.handle(call.route, statusLeg(http.StatusServiceUnavailable, `{"error":"down"}`))
			c, waits := clientWith(t, f, ClientOptions{})
			require.Error(t, call.do(c))
			require.Len(t, f.reqs(), 1, "a 503 to a POST is not retried")
			require.Empty(t, *waits)

			f = newFakePlatform(t)
			var n atomic.Int32
			f.handle(call.route, func(w http.ResponseWriter, r *http.Request) {
				if n.Add(1) == 1 {
					statusLeg(http.StatusTooManyRequests, `{"error":"slow down"}`)(w, r)
					return
				}
				jsonRoute(call.answer)(w, r)
			})
			c, waits = clientWith(t, f, ClientOptions{})
			require.NoError(t, call.do(c))
			require.Len(t, f.reqs(), 2, "a 429 is retried")
			require.Len(t, *waits, 1)
		})
	}
}

func TestRevokeToken(t *testing.T) {
	for _, tc := range []struct {
		answer string
		want   RevokeTokenResult
	}{
		{`{"revoked":true,"jti":"jti_1"}`, RevokeTokenResult{Revoked: true, JTI: "jti_1"}},
		{`{"revoked":false}`, RevokeTokenResult{}},
		{`{"revoked":false,"other":"x"}`, RevokeTokenResult{}},
	} {
		t.Run(tc.answer, func(t *testing.T) {
			f := newFakePlatform(t)
			f.handle("POST /api/tokens/revoke", jsonRoute(tc.answer))
			got, err := f.client(t).Tokens.Revoke(t.Context(), "oct_et_abc")
			require.NoError(t, err)
			require.Equal(t, tc.want, *got)
			r := oneRequest(t, f)
			require.Equal(t, `{"token":"oct_et_abc"}`, string(r.Body))
		})
	}
}

func TestRevokeTokenBadAnswers(t *testing.T) {
	for _, answer := range []string{`{}`, `{"revoked":"yes"}`, `{"revoked":true,"jti":null}`, `{"revoked":true,"jti":7}`, `null`} {
		t.Run(answer, func(t *testing.T) {
			f := newFakePlatform(t)
			f.handle("POST /api/tokens/revoke", jsonRoute(answer))
			_, err := f.client(t).Tokens.Revoke(t.Context(), "oct_et_abc")
			require.ErrorContains(t, err, "invalid answer")
		})
	}
}
