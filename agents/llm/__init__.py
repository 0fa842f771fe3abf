"""LLM port and providers. Pipelines depend on `agents.llm.port` only."""
