"""The base of every settings group: a frozen pydantic model whose fields name their variables.

A group (agents/llm/config.py `LLMConfig`, agents/chat/config.py `ChatConfig`, …) declares each
setting once: its type, default, range and the environment variable it is read from
(`env("QUBITZ_…")`). The domain package owns its group and takes it as its configuration;
server/settings.py composes the groups into one object and reads the environment into them.
Nothing here reads the environment: a group is validated from a mapping handed to it.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Annotated, Any, ClassVar

from pydantic import AliasChoices, BaseModel, BeforeValidator, ConfigDict, Field, ValidationError


class SettingsGroup(BaseModel):
    """Fields are read by their variable names (aliases) or, in code and tests, by field name."""

    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)

    # Variables read by a validator rather than a field (e.g. one per LLM role).
    extra_env_names: ClassVar[tuple[str, ...]] = ()

    @classmethod
    def env_names(cls) -> Iterator[str]:
        """Every variable this group reads, nested groups included."""
        for info in cls.model_fields.values():
            alias = info.validation_alias
            if isinstance(alias, str):
                yield alias
            elif isinstance(alias, AliasChoices):
                yield from (c for c in alias.choices if isinstance(c, str))
            kind = info.annotation
            if isinstance(kind, type) and issubclass(kind, SettingsGroup):
                yield from kind.env_names()
        yield from cls.extra_env_names


def env(name: str, *fallbacks: str, default: Any = None, **constraints: Any) -> Any:
    """A field read from `name` (else from the first of `fallbacks` that is set)."""
    alias: str | AliasChoices = AliasChoices(name, *fallbacks) if fallbacks else name
    return Field(default, validation_alias=alias, **constraints)


def _split_csv(value: object) -> object:
    if isinstance(value, str):
        return tuple(p.strip() for p in value.split(",") if p.strip())
    return value


def _split_words(value: object) -> object:
    return tuple(value.split()) if isinstance(value, str) else value


def _zero_is_none(value: object) -> object:
    return None if value in (0, "0") else value


# A comma-separated list ("a, b,c" → ("a", "b", "c")).
Csv = Annotated[tuple[str, ...], BeforeValidator(_split_csv)]
# A command line split on whitespace ("npx cdk" → ("npx", "cdk")).
Words = Annotated[tuple[str, ...], BeforeValidator(_split_words)]
# A positive limit where 0 means "none".
OptionalLimit = Annotated[Annotated[int, Field(gt=0)] | None, BeforeValidator(_zero_is_none)]


def without_empty(values: Mapping[str, str]) -> dict[str, str]:
    """An unset and an empty variable both mean the default."""
    return {k: v for k, v in values.items() if v.strip() != ""}


def describe_errors(exc: ValidationError) -> str:
    """One line naming each bad variable: `QUBITZ_PORT='x': Input should be a valid integer`."""
    parts: list[str] = []
    for error in exc.errors():
        name = str(error["loc"][-1]) if error["loc"] else ""
        message = error["msg"].removeprefix("Value error, ")
        if name.isupper():  # a variable's name (field errors are located by their alias)
            parts.append(f"{name}={error.get('input')!r}: {message}")
        else:  # a check across fields; its message names the variables
            parts.append(message)
    return "; ".join(parts)
