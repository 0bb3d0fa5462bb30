"""bandmate beyond the chat apps: a local web chat (:mod:`serve.web`), its tools over MCP
(:mod:`serve.mcp_server`), and the agent kept loaded for ``bandmate ask`` (:mod:`serve.agent_server`).

They take an :class:`assistant.api.Assistant` (or its tools) and never plan on their own; like ``bots/``, this
package sits between the CLI and the assistant and imports neither typer nor the bots.
"""
