package octavus

// The built-in tools of Octavus skills (the reference's
// OCTAVUS_SKILL_TOOLS). The platform runs them itself, in a sandbox; they
// show up in streams as tool calls.
const (
	SkillToolRead       = "octavus_skill_read"
	SkillToolList       = "octavus_skill_list"
	SkillToolRun        = "octavus_skill_run"
	SkillToolSetup      = "octavus_skill_setup"
	SkillToolCodeRun    = "octavus_code_run"
	SkillToolFileWrite  = "octavus_file_write"
	SkillToolFileRead   = "octavus_file_read"
	SkillToolFileUpload = "octavus_file_upload"
)

// IsOctavusSkillTool reports whether toolName is one of the built-in skill
// tools (SkillToolRead and the others of that list).
func IsOctavusSkillTool(toolName string) bool {
	switch toolName {
	case SkillToolRead, SkillToolList, SkillToolRun, SkillToolSetup, SkillToolCodeRun,
		SkillToolFileWrite, SkillToolFileRead, SkillToolFileUpload:
		return true
	}
	return false
}

// The built-in tools of remote MCP integrations that the platform connects
// lazily (the reference's OCTAVUS_MCP_TOOLS): the agent lists the
// integrations and activates one at run time. The platform runs them
// itself; they show up in streams as tool calls.
const (
	MCPToolList     = "octavus_mcp_list"
	MCPToolActivate = "octavus_mcp_activate"
)

// IsOctavusMCPTool reports whether toolName is one of the built-in MCP
// management tools, MCPToolList or MCPToolActivate.
func IsOctavusMCPTool(toolName string) bool {
	return toolName == MCPToolList || toolName == MCPToolActivate
}

// SkillSlugFromToolCall returns the skill a built-in skill tool call is
// about (its "skill" argument), or "" when the call is not a skill tool or
// names no skill.
func SkillSlugFromToolCall(toolName string, args map[string]any) string {
	if !IsOctavusSkillTool(toolName) {
		return ""
	}
	s, _ := args["skill"].(string)
	return s
}
