"""Query validation: what a research request must satisfy before any model is called.

`ContentPolicy` holds deny rules (named, case-insensitive regular expressions). Rules come from
`ContentPolicy.default()` (a short built-in list) plus operator rules parsed by
`parse_deny_rules` from the `QUBITZ_DENY_RULES` setting:

- a JSON list: `["term", {"name": "...", "pattern": "regex"}, ...]` (strings are literal terms);
- otherwise a comma-separated list of literal terms or phrases, e.g. `casino, payday loans`;
  an item written `re:<pattern>` is a regular expression (without commas).

The setting may also arrive already split (a sequence of items, same item syntax).
Literal terms match whole words only.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class DenyRule:
    name: str
    pattern: re.Pattern[str]

    @classmethod
    def term(cls, term: str, *, name: str | None = None) -> DenyRule:
        words = r"\s+".join(re.escape(w) for w in term.split())
        return cls(name or term, re.compile(rf"(?<!\w){words}(?!\w)", re.IGNORECASE))

    @classmethod
    def regex(cls, name: str, pattern: str) -> DenyRule:
        return cls(name, re.compile(pattern, re.IGNORECASE))


_DEFAULT_RULES = (
    ("weapons of mass destruction", r"\b(bio|chemical|nuclear|radiological)[\s-]*weapons?\b"),
    ("weapons of mass destruction", r"\bnerve[\s-]+agents?\b.*\b(synthes|make|produc)"),
    ("explosives", r"\b(build|make|assemble)\w*\s+(a\s+|an\s+)?(bomb|explosive device|ied)\b"),
    ("child sexual content", r"\b(child|minor)\w*\s+(sexual|porn)"),
    ("malware", r"\b(write|build|create)\w*\s+(a\s+)?(ransomware|keylogger|botnet)\b"),
)


class PolicyError(ValueError):
    """A deny-rule specification cannot be parsed."""


def _item_rule(item: str) -> DenyRule:
    if item.startswith("re:"):
        pattern = item[3:].strip()
        try:
            return DenyRule.regex(pattern, pattern)
        except re.error as exc:
            raise PolicyError(f"deny rules: bad pattern {pattern!r}: {exc}") from exc
    return DenyRule.term(item)


def parse_deny_rules(spec: str | Sequence[str]) -> list[DenyRule]:
    """Rules from the operator's setting (see module docstring); '' gives none."""
    if not isinstance(spec, str):
        joined = ",".join(spec).strip()
        if joined.startswith("["):
            return parse_deny_rules(joined)
        return [_item_rule(item.strip()) for item in spec if item.strip()]
    spec = spec.strip()
    if not spec:
        return []
    if spec.startswith("["):
        try:
            items = json.loads(spec)
        except json.JSONDecodeError as exc:
            raise PolicyError(f"deny rules: invalid JSON ({exc.msg})") from exc
        if not isinstance(items, list):
            raise PolicyError("deny rules: expected a JSON list")
        rules = []
        for item in items:
            if isinstance(item, str) and item.strip():
                rules.append(DenyRule.term(item.strip()))
            elif isinstance(item, dict) and isinstance(item.get("pattern"), str):
                name = item.get("name")
                try:
                    rules.append(DenyRule.regex(str(name or item["pattern"]), item["pattern"]))
                except re.error as exc:
                    raise PolicyError(
                        f"deny rules: bad pattern {item['pattern']!r}: {exc}"
                    ) from exc
            else:
                raise PolicyError(f"deny rules: unsupported entry {item!r}")
        return rules
    return [_item_rule(t.strip()) for t in spec.split(",") if t.strip()]


@dataclass(frozen=True)
class ContentPolicy:
    rules: tuple[DenyRule, ...] = ()
    max_query_chars: int = 4000

    @classmethod
    def default(
        cls, *, extra: Iterable[DenyRule] = (), max_query_chars: int = 4000
    ) -> ContentPolicy:
        built_in = tuple(DenyRule.regex(n, p) for n, p in _DEFAULT_RULES)
        return cls(built_in + tuple(extra), max_query_chars)

    def check(self, text: str) -> DenyRule | None:
        """The first rule `text` breaks, or None."""
        for rule in self.rules:
            if rule.pattern.search(text):
                return rule
        return None


def validate_query(prompt: str, company_name: str, policy: ContentPolicy) -> str | None:
    """Why the query is not acceptable, or None when it is (pure; no model involved)."""
    topic = prompt.strip()
    if not topic:
        return "the research prompt is empty"
    if len(topic) > policy.max_query_chars:
        return (
            f"the research prompt is too long ({len(topic)} characters; "
            f"the limit is {policy.max_query_chars})"
        )
    if not company_name.strip():
        return "the company name is empty"
    for text in (topic, company_name):
        rule = policy.check(text)
        if rule is not None:
            return f"the topic was rejected by the content policy ({rule.name})"
    return None
