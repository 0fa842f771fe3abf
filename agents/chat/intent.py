"""Does the user ask for a new or revised report (rather than an answer about this one)?

A clear heuristic, no model call: a writing verb directly followed (up to a few determiners and
adjectives) by "report", e.g. "write a new report on ...", "revise the report to ...",
"generate an updated version of the report". "Summarize the report" or "update me on the report"
are questions, not requests for a report.
"""

from __future__ import annotations

import re

_VERBS = (
    "write|generate|create|produce|draft|prepare|make|build|compose|rewrite|revise|redo|"
    "regenerate|redraft|update|extend|expand|shorten|condense|restructure"
)
_FILLERS = (
    "a|an|the|this|that|my|our|me|us|new|revised|updated|another|fresh|full|complete|shorter|"
    "longer|short|detailed|brief|executive|final|second|improved|better|version|copy|of"
)
_REQUEST = re.compile(rf"\b(?:{_VERBS})\s+(?:(?:{_FILLERS})\s+){{0,6}}report\b", re.IGNORECASE)
_NOT_ME = re.compile(r"\b(?:update|make)\s+(?:me|us)\s+on\b", re.IGNORECASE)


def wants_report(message: str) -> bool:
    """True when `message` asks for a new or revised report (see module docstring)."""
    return any(not _NOT_ME.match(m.group(0)) for m in _REQUEST.finditer(message))
