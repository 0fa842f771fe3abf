"""Architectures used by the render and runtime tests."""

from __future__ import annotations

from typing import Any

from agents.spec.schema import Architecture

HAIKU = "anthropic.claude-3-5-haiku-20241022-v1:0"
SONNET_US = "us.anthropic.claude-sonnet-4-20250514-v1:0"


def architecture(pattern: str = "pipeline", **orchestration: Any) -> Architecture:
    return Architecture.model_validate(
        {
            "agents_config": {
                "planner": {
                    "name": "Planner",
                    "description": "Plans the work.",
                    "model": SONNET_US,
                    "prompt": "You plan.",
                    "tools": ["current_time"],
                    "memory": {"enabled": True, "strategies": ["buffer", "summary"]},
                },
                "analyst": {
                    "name": "Analyst",
                    "description": "Computes figures.",
                    "model": HAIKU,
                    "prompt": "You compute.",
                    "tools": ["calculator", "json_query"],
                },
                "writer": {
                    "name": "Writer",
                    "description": "Writes the answer.",
                    "model": HAIKU,
                    "prompt": "You write.",
                    "tools": ["document_reader", "http_fetch"],
                },
            },
            "orchestration": {
                "pattern": pattern,
                "entry_agent": "planner",
                "order": ["planner", "analyst", "writer"],
                "max_turns": 4,
                **orchestration,
            },
            "gateway_config": {
                "targets": [{"path": "/analyse", "agent": "analyst"}],
                "throttling": {"rate_limit": 5.0, "burst_limit": 10, "quota_limit": 1000},
            },
        }
    )
