package octavus

import (
	"context"
	"errors"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
)

const agentsAnswer = `{"agents":[
 {"slug":"support","id":"agent_1","name":"Support","description":"Helps users","format":"interactive","createdAt":"2024-01-01T00:00:00.000Z","updatedAt":"2024-01-02T00:00:00.000Z","projectId":"proj_1"},
 {"slug":"nightly","id":"agent_2","name":"Nightly","description":null,"format":"worker","createdAt":"2024-02-01T00:00:00.000Z","updatedAt":"2024-02-02T00:00:00.000Z","projectId":"proj_1"}
]}`

func TestListAgents(t *testing.T) {
	f := newFakePlatform(t)
	f.handle("GET /api/agents", jsonRoute(agentsAnswer))
	agents, err := f.client(t).Agents.List(context.Background())
	require.NoError(t, err)
	require.Equal(t, []Agent{
		{Slug: "support", ID: "agent_1", Name: "Support", Description: ptr("Helps users"), Format: AgentInteractive,
			CreatedAt: "2024-01-01T00:00:00.000Z", UpdatedAt: "2024-01-02T00:00:00.000Z", ProjectID: "proj_1"},
		{Slug: "nightly", ID: "agent_2", Name: "Nightly", Description: nil, Format: AgentWorker,
			CreatedAt: "2024-02-01T00:00:00.000Z", UpdatedAt: "2024-02-02T00:00:00.000Z", ProjectID: "proj_1"},
	}, agents)
	require.Equal(t, AgentFormat("interactive"), AgentInteractive)
	require.Equal(t, AgentFormat("worker"), AgentWorker)

	r := oneRequest(t, f)
	require.Equal(t, http.MethodGet, r.Method)
	require.Equal(t, "/api/agents", r.Path)
	require.Empty(t, r.Query)
	require.Empty(t, r.Body)
}

func TestListAgentsEmpty(t *testing.T) {
	f := newFakePlatform(t)
	f.handle("GET /api/agents", jsonRoute(`{"agents":[]}`))
	agents, err := f.client(t).Agents.List(context.Background())
	require.NoError(t, err)
	require.NotNil(t, agents)
	require.Empty(t, agents)
}

func TestListAgentsBadAnswers(t *testing.T) {
	agent := func(m map[string]any) map[string]any { return m["agents"].([]any)[0].(map[string]any) }
	cases := map[string]string{
		"not json":          `<html>`,
		"array":             `[]`,
		"without agents":    `{}`,
		"agents null":       `{"agents":null}`,
		"agents object":     `{"agents":{}}`,
		"agent not object":  `{"agents":["agent_1"]}`,
		"bad format":        editJSON(t, agentsAnswer, func(m map[string]any) { agent(m)["format"] = "robot" }),
		"description num":   editJSON(t, agentsAnswer, func(m map[string]any) { agent(m)["description"] = 3 }),
		"id is a number":    editJSON(t, agentsAnswer, func(m map[string]any) { agent(m)["id"] = 3 }),
		"projectId is null": editJSON(t, agentsAnswer, func(m map[string]any) { agent(m)["projectId"] = nil }),
	}
	// description is nullable but required.
	for _, key := range []string{"slug", "id", "name", "description", "format", "createdAt", "updatedAt", "projectId"} {
		cases["without "+key] = editJSON(t, agentsAnswer, func(m map[string]any) { delete(agent(m), key) })
	}
	for name, answer := range cases {
		t.Run(name, func(t *testing.T) {
			f := newFakePlatform(t)
			f.handle("GET /api/agents", jsonRoute(answer))
			agents, err := f.client(t).Agents.List(context.Background())
			require.Error(t, err)
			require.Nil(t, agents)
			var apiErr *APIError
			require.False(t, errors.As(err, &apiErr))
		})
	}
}

const agentDefinitionAnswer = `{"settings":{"slug":"support","name":"Support","description":"Helps users","format":"interactive"},
 "protocol":"agent:\n  model: x\n","prompts":[{"name":"system","content":"You are helpful."},{"name":"user-message","content":"{{MESSAGE}}"}],
 "id":"agent_1"}`

func TestGetAgent(t *testing.T) {
	f := newFakePlatform(t)
	f.handle("GET /api/agents/agent_1", jsonRoute(agentDefinitionAnswer))
	def, err := f.client(t).Agents.Get(context.Background(), "agent_1")
	require.NoError(t, err)
	require.Equal(t, &AgentDefinition{
		Settings: AgentSettings{Slug: "support", Name: "Support", Description: "Helps users", Format: AgentInteractive},
		Protocol: "agent:\n  model: x\n",
		Prompts:  []AgentPrompt{{Name: "system", Content: "You are helpful."}, {Name: "user-message", Content: "{{MESSAGE}}"}},
		ID:       "agent_1",
	}, def)

	r := oneRequest(t, f)
	require.Equal(t, http.MethodGet, r.Method)
	require.Equal(t, "/api/agents/agent_1", r.Path)
	require.Empty(t, r.Query)
	require.Empty(t, r.Body)
}

func TestGetAgentWithoutDescription(t *testing.T) {
	f := newFakePlatform(t)
	f.handle("GET /api/agents/agent_2", jsonRoute(`{"settings":{"slug":"w","name":"W","format":"worker"},"protocol":"","prompts":[],"id":"agent_2"}`))
	def, err := f.client(t).Agents.Get(context.Background(), "agent_2")
	require.NoError(t, err)
	require.Equal(t, &AgentDefinition{Settings: AgentSettings{Slug: "w", Name: "W", Format: AgentWorker},
		Protocol: "", Prompts: []AgentPrompt{}, ID: "agent_2"}, def)
}

func TestGetAgentBadAnswers(t *testing.T) {
	settings := func(m map[string]any) map[string]any { return m["settings"].(map[string]any) }
	prompt := func(m map[string]any) map[string]any { return m["prompts"].([]any)[0].(map[string]any) }
	cases := map[string]string{
		"not json":               `nope`,
		"empty":                  `{}`,
		"settings not object":    editJSON(t, agentDefinitionAnswer, func(m map[string]any) { m["settings"] = "x" }),
		"bad format":             editJSON(t, agentDefinitionAnswer, func(m map[string]any) { settings(m)["format"] = "chat" }),
		"null description":       editJSON(t, agentDefinitionAnswer, func(m map[string]any) { settings(m)["description"] = nil }),
		"prompts null":           editJSON(t, agentDefinitionAnswer, func(m map[string]any) { m["prompts"] = nil }),
		"prompt without name":    editJSON(t, agentDefinitionAnswer, func(m map[string]any) { delete(prompt(m), "name") }),
		"prompt without content": editJSON(t, agentDefinitionAnswer, func(m map[string]any) { delete(prompt(m), "content") }),
	}
	for _, key := range []string{"settings", "protocol", "prompts", "id"} {
		cases["without "+key] = editJSON(t, agentDefinitionAnswer, func(m map[string]any) { delete(m, key) })
	}
	for _, key := range []string{"slug", "name", "format"} {
		cases["settings without "+key] = editJSON(t, agentDefinitionAnswer, func(m map[string]any) { delete(settings(m), key) })
	}
	for name, answer := range cases {
		t.Run(name, func(t *testing.T) {
			f := newFakePlatform(t)
			f.handle("GET /api/agents/agent_1", jsonRoute(answer))
			def, err := f.client(t).Agents.Get(context.Background(), "agent_1")
			require.Error(t, err)
			require.Nil(t, def)
		})
	}
}

func TestAgentIDsAreEscaped(t *testing.T) {
	for _, tc := range idCases {
		t.Run(tc.id, func(t *testing.T) {
			f := newFakePlatform(t)
			want := "/api/agents/" + tc.escaped
			f.handle("GET "+want, jsonRoute(`{"settings":{"slug":"s","name":"n","format":"worker"},"protocol":"p","prompts":[],"id":`+jsonString(tc.id)+`}`))
			// A request that escaped its segment would reach the list.
			f.handle("GET /api/agents", jsonRoute(`{"agents":[]}`))
			def, err := f.client(t).Agents.Get(context.Background(), tc.id)
			require.NoError(t, err)
			require.Equal(t, tc.id, def.ID)
			r := oneRequest(t, f)
			require.Equal(t, http.MethodGet, r.Method)
			require.Equal(t, want, escapedPath(r))
			require.Equal(t, "/api/agents/"+tc.id, r.Path)
			require.Empty(t, r.Query)
		})
	}
}
