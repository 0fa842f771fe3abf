"""The `chat` settings group, which is also the configuration the chat pipeline takes."""

from __future__ import annotations

from agents.settings_model import OptionalLimit, SettingsGroup, env


class ChatConfig(SettingsGroup):
    # Budget
    # per session; a request's token_limit may only lower it
    default_token_limit: int = env("QUBITZ_CHAT_TOKEN_LIMIT", default=250_000, ge=1)
    # a further ceiling on any session's limit
    max_token_limit: int = env("QUBITZ_CHAT_MAX_TOKEN_LIMIT", default=10_000_000, ge=1)
    # per workspace per UTC day, over all sessions (0 in the environment: none)
    workspace_daily_tokens: OptionalLimit = env("QUBITZ_WORKSPACE_DAILY_TOKENS", default=5_000_000)
    # Model output
    max_output_tokens: int = env("QUBITZ_CHAT_MAX_OUTPUT_TOKENS", default=2048, ge=1)
    report_max_tokens: int = env("QUBITZ_CHAT_REPORT_MAX_TOKENS", default=8192, ge=1)
    model_timeout: float | None = None  # per attempt, passed to the provider
    # Tools
    web_search: bool = env("QUBITZ_CHAT_WEB_SEARCH", default=True)  # when the provider has it
    web_search_max_uses: int = env("QUBITZ_CHAT_WEB_SEARCH_MAX_USES", default=5, ge=1)
    # Grounding
    max_section_tokens: int = 700
    max_sections: int = 8
