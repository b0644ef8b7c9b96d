package octavus

import (
	"context"
	"slices"
	"sync"
	"time"
)

// AgentSession is a session attached with your tools and resources. Make one
// with AgentSessionsAPI.Attach; it is cheap, so attach per request. It is
// safe for concurrent use, though a session runs one execution at a time on
// the platform.
type AgentSession struct {
	c         *Client
	id        string
	resources map[string]Resource
	sender    *MessageSender

	toolTimeout     time.Duration
	maxTools        int
	maxRounds       int
	resourceTimeout time.Duration
	rejectClient    bool
	onToolResults   func(ctx context.Context, results []ToolResult) error

	// start is set on a deferred session (AgentSessionsAPI.Start): its id
	// is assigned by the platform, and kept there instead of in id.
	start *deferredStart
	// worker is set on the internal session of a worker execution
	// (WorkersAPI): it posts to the agent's /execute endpoint.
	worker *workerTarget

	// mu guards the tool set, which SetDynamicTools replaces while
	// executions may be reading it.
	mu sync.RWMutex
	// base are the static tools of AttachOptions; tools are base with
	// the dynamic tools merged over them.
	base, tools ToolHandlers
	// dynamic is the JSON of the dynamic tools' schemas, sent as
	// dynamicToolSchemas on every leg; nil sends no key.
	dynamic []byte
	// mcpJSON is "[" and the JSON of the MCP servers' schemas, which
	// lead dynamic (nil without MCP schemas); mcpErr is why the
	// servers could not be resolved (see AttachOptions.MCPServers).
	mcpJSON []byte
	mcpErr  error
}

// AttachOptions are the tools and resources of an attached session. The
// zero value attaches with no tools (every tool call goes to the browser)
// and no resources.
type AttachOptions struct {
	// Tools are the server tools, by tool name. A tool the platform asks
	// for that has no handler here is a client tool: it is handed to the
	// browser in a client-tool-request.
	Tools ToolHandlers
	// Resources are told when the agent updates them.
	//
	// Deprecated: use tools. 6.4.0 supersedes resources with tools: persist
	// the state with a tool of your own (a ToolHandlers entry, or an MCP
	// tool) instead.
	Resources []Resource
	// MCPServers are inline MCP servers (see NewInlineMCPServer): their
	// handlers join Tools, and their schemas are sent as
	// dynamicToolSchemas on every leg, ahead of those of SetDynamicTools.
	// A namespace given twice, or a tool name that Tools or another server
	// already has, is an error of 6.4.0's words: it is logged at Attach,
	// and every Execute of the session then ends at once, with nothing
	// sent to the platform, in an internal_error ErrorEvent carrying it.
	MCPServers []MCPServer

	// ToolTimeout, when positive, bounds each handler call: its ctx is
	// cancelled when the time is up and the call fails with the tool error
	// "Tool <name> timed out after <ToolTimeout>" (the model sees it), even
	// if the handler ignores ctx. Zero means no limit.
	ToolTimeout time.Duration
	// MaxConcurrentTools, when positive, bounds how many handlers of one
	// execution run at once; the others wait their turn. Zero means no
	// limit: all calls of a round run at once.
	MaxConcurrentTools int
	// MaxToolRounds bounds the rounds of server tools one execution runs:
	// when the platform asks for one more round after that many, no tool
	// runs and the execution ends with a non-retryable internal_error
	// ErrorEvent saying the limit was reached (logged), so a platform that
	// always asks for one more round cannot run tools forever. Zero means
	// 100; negative means no limit.
	MaxToolRounds int
	// ResourceUpdateTimeout bounds how long an execution waits, once its
	// stream is over, for the Resources' OnUpdate calls still queued or
	// running, so a hung OnUpdate cannot keep Handler (or any reader of
	// Execute's channel) waiting after the browser left. At the deadline
	// the running OnUpdate's ctx is cancelled, updates not yet started are
	// dropped (logged at warn level) and the channel is closed; an
	// OnUpdate that ignores its ctx finishes in the background. Zero means
	// 5 s; negative means wait for every update.
	ResourceUpdateTimeout time.Duration
	// RejectClientTools answers a tool call that has no handler with the
	// tool error `Tool "<name>" is not available. No handler is registered
	// for this tool.` instead of handing it to the browser, for server-only
	// workers that have no browser to ask. As in the reference, these
	// results follow the server tools' results.
	RejectClientTools bool
	// Sender, when set, is the author stamped on every trigger of this
	// session whose TriggerRequest has no Sender of its own: set it from
	// the signed-in user when you attach for a socket connection
	// (ServeSocket), where no HTTP request carries the user per trigger.
	// Nil sends none.
	Sender *MessageSender
	// OnToolResults, when set, is called with the results of each round of
	// server tools (not those of RejectClientTools, nor the browser's),
	// after the handlers ran and before anything is done with them: before
	// their tool-output-available and tool-output-error events, the
	// client-tool-request that lists them, and the continuation request
	// that posts them (6.4.0's onToolResults). Each Result is the
	// handler's value already encoded, a json.RawMessage (nil for none).
	// Modify the results in place (the elements of the slice, e.g. their
	// Result or Error), for instance
	// to upload the images a tool returned (NormalizeToolResultMedia); a
	// Result set to a value other than json.RawMessage is encoded with
	// encoding/json. It is not called for a round without server results.
	//
	// ctx is the execution's: it is cancelled when the execution is, after
	// which the execution ends with finish {stop} whatever the hook
	// returns. A non-nil error (or a panic) ends the execution, as a throw
	// does in the reference: the last event is an internal_error
	// ErrorEvent whose message is the error's text (keep secrets out of
	// it: the browser sees it), nothing more is posted, and its results
	// are not forwarded.
	OnToolResults func(ctx context.Context, results []ToolResult) error
}

// Resource is told when the agent updates a resource of the session (a
// "resource-update" event), so you can persist it. Name is the resource's
// name in the agent's protocol.
//
// OnUpdate runs for each update of that name, in stream order, one at a
// time, without holding up the stream. value is the decoded JSON value. Its
// ctx carries the execution's values but is not cancelled with it: an
// update the agent made is worth saving even when the browser went away. An
// error is logged and the stream goes on. Every update has finished before
// Execute's channel is closed, within AttachOptions.ResourceUpdateTimeout
// (5 s by default) after the stream ended; past it, ctx is cancelled. At
// most 64 updates (16 MiB of values) wait behind a slow OnUpdate: past
// that, the oldest waiting update a later one of the same resource
// supersedes is dropped, else the oldest (logged at warn level).
//
// Deprecated: use tools. 6.4.0 supersedes resources with tools: persist the
// state with a tool of your own (a ToolHandlers entry, or an MCP tool)
// instead.
type Resource interface {
	Name() string
	OnUpdate(ctx context.Context, value any) error
}

// ResourceFunc returns a Resource named name that calls fn on each update.
//
// Deprecated: use tools, as for Resource.
func ResourceFunc(name string, fn func(ctx context.Context, value any) error) Resource {
	return resourceFunc{name, fn}
}

type resourceFunc struct {
	name string
	fn   func(ctx context.Context, value any) error
}

func (r resourceFunc) Name() string                                  { return r.name }
func (r resourceFunc) OnUpdate(ctx context.Context, value any) error { return r.fn(ctx, value) }

func newAgentSession(c *Client, id string, opts AttachOptions) *AgentSession {
	s := &AgentSession{c: c, id: id, base: opts.Tools, tools: opts.Tools, toolTimeout: opts.ToolTimeout, maxTools: opts.MaxConcurrentTools, maxRounds: orDefault(opts.MaxToolRounds, defaultMaxToolRounds), resourceTimeout: orDefault(opts.ResourceUpdateTimeout, defaultResourceUpdateTimeout), rejectClient: opts.RejectClientTools, onToolResults: opts.OnToolResults}
	if opts.Sender != nil {
		sender := *opts.Sender
		s.sender = &sender
	}
	s.attachMCP(opts.Tools, opts.MCPServers)
	if len(opts.Resources) > 0 {
		s.resources = make(map[string]Resource, len(opts.Resources))
		for _, r := range opts.Resources {
			if r != nil {
				s.resources[r.Name()] = r
			}
		}
	}
	return s
}

// SessionID returns the id of the session. For a deferred session
// (AgentSessionsAPI.Start) it is "" until the platform assigned the id
// during the first trigger.
func (s *AgentSession) SessionID() string {
	if s.start != nil {
		return s.start.sessionID()
	}
	return s.id
}

// SetDynamicTools replaces the session's dynamic tools with p's, as the
// reference's session.setDynamicTools: tools the platform does not know from
// the agent's definition, such as those of a device or an inline MCP server.
// Only p's schemas that have a handler in p.ToolHandlers are kept. Their
// handlers are merged over the static AttachOptions.Tools (a dynamic tool
// wins on a name clash; the static handler is back once a later call no
// longer names it), and their schemas are sent as dynamicToolSchemas on
// every following request of the session, trigger or continue, even an
// empty list. A nil p removes the dynamic tools and sends no schemas but
// those of AttachOptions.MCPServers.
//
// It is safe to call while an execution runs: the next leg of the
// execution uses the new set, as in the reference.
func (s *AgentSession) SetDynamicTools(p ToolProvider) {
	tools := s.base
	var dynamic []byte
	if p != nil {
		handlers := p.ToolHandlers()
		tools = make(ToolHandlers, len(s.base)+len(handlers))
		for name, h := range s.base {
			tools[name] = h
		}
		dynamic = append(dynamic, s.mcpOpen()...)
		for _, sc := range p.ToolSchemas() {
			h := handlers[sc.Name]
			if h == nil {
				continue
			}
			b, err := marshalJSON(sc)
			if err != nil {
				// The platform could not read it either: leave the tool out.
				s.c.log.Error("octavus: dynamic tool schema is not JSON; tool left out", "session", s.SessionID(), "tool", sc.Name, "error", err)
				continue
			}
			if len(dynamic) > 1 {
				dynamic = append(dynamic, ',')
			}
			dynamic = append(dynamic, b...)
			tools[sc.Name] = h
		}
		dynamic = append(dynamic, ']')
	} else {
		dynamic = s.mcpOnly()
	}
	s.mu.Lock()
	s.tools, s.dynamic = tools, dynamic
	s.mu.Unlock()
}

// toolSet returns the current handlers and the JSON of the dynamic
// schemas (nil for none); neither is modified afterwards.
func (s *AgentSession) toolSet() (ToolHandlers, []byte) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.tools, s.dynamic
}

// DynamicTools returns a ToolProvider of tools, for SetDynamicTools. A tool
// without a Handler is left out; of two tools with one name, the last wins.
func DynamicTools(tools ...DynamicTool) ToolProvider {
	p := dynamicTools{handlers: make(ToolHandlers, len(tools))}
	for _, t := range tools {
		if t.Handler == nil {
			continue
		}
		if _, dup := p.handlers[t.Schema.Name]; dup {
			p.schemas = slices.DeleteFunc(p.schemas, func(s ToolSchema) bool { return s.Name == t.Schema.Name })
		}
		p.handlers[t.Schema.Name] = t.Handler
		p.schemas = append(p.schemas, t.Schema)
	}
	return p
}

type dynamicTools struct {
	handlers ToolHandlers
	schemas  []ToolSchema
}

func (d dynamicTools) ToolHandlers() ToolHandlers { return d.handlers }
func (d dynamicTools) ToolSchemas() []ToolSchema  { return d.schemas }
