"""Which Bedrock resources the function may invoke: exactly the models named in spec.json."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

PROFILE = re.compile(r"^(us|eu|apac|global)\.(.+)$")

# Converse and ConverseStream are authorised by these two actions.
BEDROCK_ACTIONS = ("bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream")


def spec_models(spec: dict[str, Any]) -> list[str]:
    """The Bedrock model ids of the spec's agents (OpenAI-compatible "openai:" ids left out)."""
    models = {agent["model"] for agent in spec["agents_config"].values()}
    return sorted(m for m in models if not m.startswith("openai:"))


def model_arns(models: Iterable[str], *, region: str, account: str) -> list[str]:
    """Foundation-model ARNs; for a cross-region profile (us./eu./...), the profile ARN plus the
    model in every region the profile may route to (the region is a wildcard there)."""
    arns: list[str] = []
    for model in sorted(set(models)):
        profile = PROFILE.match(model)
        if profile:
            arns.append(f"arn:aws:bedrock:{region}:{account}:inference-profile/{model}")
            arns.append(f"arn:aws:bedrock:*::foundation-model/{profile.group(2)}")
        else:
            arns.append(f"arn:aws:bedrock:{region}::foundation-model/{model}")
    return arns
