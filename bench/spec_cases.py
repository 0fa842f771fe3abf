"""The fixed quality set of bench_embedded: 20 use cases and 10 update instructions.

Each use case lists the tools its agents could reasonably need (a subset of the catalog); a
generated agent whose tools go beyond that set loses the "tools fit the role" point. Each
instruction names the kind of change it asks for, which the update's diff must show.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class UseCase:
    name: str
    description: str
    tools: frozenset[str]


def _uc(name: str, description: str, *tools: str) -> UseCase:
    return UseCase(name, description, frozenset(tools))


FETCH, CALC, TIME, JSON, DOCS = (
    "http_fetch", "calculator", "current_time", "json_query", "document_reader",
)  # fmt: skip

USE_CASES: tuple[UseCase, ...] = (
    _uc("Invoice triage", "Read incoming supplier invoices, extract totals and due dates, match "
        "them to purchase orders, route them to the right approver and flag anomalies such as "
        "duplicate invoices or unusual amounts.", DOCS, JSON, CALC, TIME),
    _uc("Invoice routing", "Route supplier invoices to approvers and flag anomalies.",
        DOCS, JSON, CALC, TIME),
    _uc("Support ticket triage", "Classify customer support tickets by product and urgency, "
        "draft a first reply from the help-center articles, and escalate angry customers.",
        DOCS, JSON, TIME),
    _uc("Contract review", "Review vendor contracts against our legal playbook and list risky "
        "clauses with suggested wording.", DOCS),
    _uc("Sales lead research", "Research a company from its public website and write a short "
        "brief for the account executive before a first call.", FETCH, DOCS),
    _uc("Expense audit", "Check employee expense reports against the travel policy, compute "
        "per-diem overruns and flag receipts that do not add up.", DOCS, CALC, JSON, TIME),
    _uc("Meeting scheduler", "Propose meeting times across time zones for a list of "
        "participants and write the invitation text.", TIME),
    _uc("Inventory reorder", "Watch stock levels from the warehouse JSON feed and propose "
        "reorder quantities using lead times and average daily sales.", JSON, CALC, TIME),
    _uc("Product FAQ bot", "Answer customer questions about our products from the bundled "
        "manuals and say when the manuals do not cover a question.", DOCS),
    _uc("Loan pre-screening", "Pre-screen small business loan applications: compute debt "
        "ratios from the submitted figures and summarise risks for the credit officer.",
        CALC, DOCS, JSON),
    _uc("Release notes writer", "Turn a JSON export of merged pull requests into customer-"
        "facing release notes grouped by feature area.", JSON),
    _uc("Job applicant screening", "Compare CVs against a job description, score each "
        "candidate on the required skills and draft interview questions.", DOCS),
    _uc("Shipping delay alerts", "Check carrier tracking pages for our open shipments and "
        "notify customers whose delivery is late, with a new estimate.", FETCH, TIME, JSON),
    _uc("Compliance Q&A", "Answer employee questions about internal compliance policies, "
        "quoting the policy section that applies.", DOCS),
    _uc("Pricing assistant", "Compute quotes for custom orders from the price list, volume "
        "discounts and shipping costs, and explain the calculation.", CALC, DOCS, JSON),
    _uc("News monitoring", "Fetch a list of industry news pages every morning and summarise "
        "what changed for our market.", FETCH, TIME),
    _uc("IT helpdesk", "Walk employees through common IT fixes from the runbooks and open a "
        "ticket summary when the fix does not work.", DOCS, TIME),
    _uc("Grant application helper", "Help researchers draft grant applications that follow the "
        "funder's guidelines and check the budget arithmetic.", DOCS, CALC),
    _uc("Energy usage report", "Read smart-meter readings (JSON), compute monthly consumption "
        "and cost, and explain unusual peaks.", JSON, CALC, TIME),
    _uc("Onboarding guide", "Answer new hires' questions during their first weeks from the "
        "onboarding handbook and remind them of deadlines.", DOCS, TIME),
)  # fmt: skip


@dataclass(frozen=True)
class Instruction:
    text: str
    kind: str  # add | remove | change | orchestration | gateway


INSTRUCTIONS: tuple[Instruction, ...] = (
    Instruction("Add a security agent that validates all API calls and enforces rate "
                "limiting", "add"),
    Instruction("Remove the anomaly agent; approvals no longer need it.", "remove"),
    Instruction("Switch the approval agent to the Claude Haiku 4.5 model to cut costs.", "change"),
    Instruction("Give the extraction agent the calculator tool as well.", "change"),
    Instruction("Turn on summary memory for the approval agent.", "change"),
    Instruction("Use a supervisor pattern where the intake agent decides who to call.",
                "orchestration"),
    Instruction("Expose the approval agent at /approve in addition to /invoke.", "gateway"),
    Instruction("Add an agent that writes a weekly report of processed invoices, run last.",
                "add"),
    Instruction("Make the intake agent's prompt insist on rejecting invoices without a "
                "purchase order number.", "change"),
    Instruction("Lower the gateway rate limit to 5 requests per second with a burst of 10.",
                "gateway"),
)  # fmt: skip


def _agent(name: str, description: str, prompt: str, tools: list[str]) -> dict[str, object]:
    return {
        "name": name,
        "description": description,
        "model": "anthropic.claude-sonnet-4-5-20250929-v1:0",
        "prompt": prompt,
        "tools": tools,
        "memory": {"enabled": False, "strategies": []},
    }


SEED_SPEC: dict[str, object] = {
    "agents_config": {
        "intake_agent": _agent(
            "Intake Agent", "Reads incoming invoices.",
            "You read each incoming invoice and pass its fields on as JSON.", [DOCS]),
        "extraction_agent": _agent(
            "Extraction Agent", "Extracts totals, dates and PO numbers.",
            "You extract the total, currency, due date and PO number from the invoice.", [JSON]),
        "approval_agent": _agent(
            "Approval Agent", "Routes invoices to the right approver.",
            "You choose the approver for each invoice from the approval matrix.", [DOCS]),
        "anomaly_agent": _agent(
            "Anomaly Agent", "Flags duplicates and unusual amounts.",
            "You flag duplicate invoices and amounts far from the supplier's usual range.",
            [CALC]),
    },
    "orchestration": {
        "pattern": "pipeline",
        "entry_agent": "intake_agent",
        "order": ["intake_agent", "extraction_agent", "approval_agent", "anomaly_agent"],
        "max_turns": 8,
    },
    "gateway_config": {
        "provider": "local",
        "targets": [{"path": "/invoke", "agent": "intake_agent"}],
        "throttling": {"rate_limit": 10.0, "burst_limit": 20, "quota_limit": None,
                       "quota_period": "MONTH"},
    },
}  # fmt: skip
