package octavus

import (
	"context"
	"errors"
	"net/http"

	"github.com/octavus-go/octavus/internal/wire"
)

// AgentsAPI lists and reads agent definitions. Get it from Client.Agents.
// Creating and changing agents is the job of the Octavus CLI.
type AgentsAPI struct{ c *Client }

// AgentFormat is an agent's kind: an interactive chat or a background worker.
type AgentFormat string

// The agent formats.
const (
	AgentInteractive AgentFormat = "interactive"
	AgentWorker      AgentFormat = "worker"
)

// Agent is an agent as listed by AgentsAPI.List.
type Agent struct {
	// Slug is the agent's readable name within its project.
	Slug string `json:"slug"`
	// ID is the agent's id: use it with Create.
	ID   string `json:"id"`
	Name string `json:"name"`
	// Description is nil when the agent has none.
	Description *string     `json:"description"`
	Format      AgentFormat `json:"format"`
	CreatedAt   string      `json:"createdAt"`
	UpdatedAt   string      `json:"updatedAt"`
	ProjectID   string      `json:"projectId"`
}

// AgentSettings are an agent definition's settings.
type AgentSettings struct {
	Slug        string      `json:"slug"`
	Name        string      `json:"name"`
	Description string      `json:"description,omitempty"`
	Format      AgentFormat `json:"format"`
}

// AgentPrompt is one prompt file of an agent definition.
type AgentPrompt struct {
	Name    string `json:"name"`
	Content string `json:"content"`
}

// AgentDefinition is an agent's full definition, as AgentsAPI.Get returns it.
type AgentDefinition struct {
	Settings AgentSettings `json:"settings"`
	// Protocol is the agent's protocol (YAML text).
	Protocol string        `json:"protocol"`
	Prompts  []AgentPrompt `json:"prompts"`
	ID       string        `json:"id"`
}

// List returns every agent of the API key's project.
func (a *AgentsAPI) List(ctx context.Context) ([]Agent, error) {
	var out struct {
		Agents []Agent `json:"agents"`
	}
	const path = "/api/agents"
	check := func(o *wire.Object) error {
		for _, ag := range o.Array("agents") {
			if err := checkAgent(ag); err != nil {
				return err
			}
		}
		return o.Err()
	}
	if err := a.c.doChecked(ctx, http.MethodGet, path, nil, check, &out); err != nil {
		return nil, err
	}
	return out.Agents, nil
}

// checkAgent checks one agent of the list as the reference's agentSchema.
func checkAgent(o *wire.Object) error {
	o.String("slug")
	o.String("id")
	o.String("name")
	// description is required but may be null.
	if o.Kind("description") != 'n' {
		o.String("description")
	}
	o.Enum("format", string(AgentInteractive), string(AgentWorker))
	o.String("createdAt")
	o.String("updatedAt")
	o.String("projectId")
	return o.Err()
}

// checkAgentDefinition checks an agent definition as the reference's
// agentDefinitionSchema.
func checkAgentDefinition(o *wire.Object) error {
	if !o.Has("settings") {
		return errors.New(`field "settings": required`)
	}
	if st := o.OptObject("settings"); st != nil {
		st.String("slug")
		st.String("name")
		st.OptString("description")
		st.Enum("format", string(AgentInteractive), string(AgentWorker))
		if err := st.Err(); err != nil {
			return err
		}
	}
	o.String("protocol")
	for _, p := range o.Array("prompts") {
		p.String("name")
		p.String("content")
		if err := p.Err(); err != nil {
			return err
		}
	}
	o.String("id")
	return o.Err()
}

// Get returns the definition of agent agentID.
func (a *AgentsAPI) Get(ctx context.Context, agentID string) (*AgentDefinition, error) {
	if err := checkID("agent id", agentID); err != nil {
		return nil, err
	}
	path := "/api/agents/" + escapeID(agentID)
	var out AgentDefinition
	if err := a.c.doChecked(ctx, http.MethodGet, path, nil, checkAgentDefinition, &out); err != nil {
		return nil, err
	}
	return &out, nil
}
