"""The report's method note: which providers were used, how far the research went, what was
dropped, and what could not be found (written by the pipeline, not by a model)."""

from __future__ import annotations

from agents.research.state import JobState


def method_note(state: JobState) -> str:
    providers = ", ".join(state.providers_used) or "none"
    budget = state.budget
    searches = sum(r.searches for r in state.results)
    rounds = max((r.rounds for r in state.results), default=0)
    lines = [
        "## Method",
        "",
        f"Sources searched: {providers}. Depth {state.request.depth}: up to "
        f"{state.profile.rounds} research round(s) per question (at most {rounds} used), "
        f"{searches} searches, {budget.pages} page(s) read "
        f"({budget.bytes / 1_048_576:.1f} MiB of a {budget.max_bytes / 1_048_576:.0f} MiB "
        f"budget). Every statement above cites a claim whose supporting quote was found in "
        f"the cited source: {len(state.claims)} claim(s) kept, {state.claims_dropped} dropped.",
    ]
    company_pages = [s for s in state.job_sources if s.company]
    if state.company_url and not company_pages:
        lines += [
            "",
            f"The website of {state.company} ({state.company_url}) could not be read; this "
            "report speaks of the sector, not of the company's own statements.",
        ]
    empty = [r.question for r in state.results if not r.claims]
    if empty:
        lines += ["", f"No source gathered answered: {'; '.join(empty)}."]
    return "\n".join(lines)
