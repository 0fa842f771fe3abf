"""The console's Jobs tab and jobs that survive a reload (job ids in localStorage, resume)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from agents.research.store import NewProject, ReportRef
from server.db.base import make_engine, make_sessionmaker
from server.db.research import ResearchRepository
from tests.console.conftest import Console
from tests.console.test_console import research_form
from tests.support.server import RunningServer

pytestmark = pytest.mark.slow
STEPS = ["planning", "research", "writing", "analysis", "use_cases", "render"]


def sockets(page: Page) -> list[str]:
    urls: list[str] = []
    page.on("websocket", lambda ws: urls.append(ws.url))
    return urls


def followed(page: Page, view: str) -> Any:
    return page.evaluate(f"JSON.parse(localStorage.getItem('qubitz.job.{view}'))")


def test_a_reload_mid_job_resumes_after_the_last_seq_shown(
    console: Console, keys: dict[str, str]
) -> None:
    """Reloading while research runs redraws the steps from localStorage and resumes the job's
    stream after the last seq the page had shown (since=N on the new socket): every step, file
    and use case appears once, the report is shown, and the stored job is forgotten at the end."""
    page = console.sign_in(uct=keys["uct"])
    urls = sockets(page)
    research_form(page, "a paced topic")
    page.click("#research-run")
    page.wait_for_selector("#research-steps li:nth-child(2)")
    before = followed(page, "research")
    assert before["jobId"].startswith("job_") and before["lastSeq"] >= 3
    assert before["events"] and all(e["seq"] <= before["lastSeq"] for e in before["events"])
    console.shot("research-before-reload")

    page.reload()
    page.wait_for_selector("body[data-ready=true]")
    page.wait_for_selector("#research-state[data-state=complete]", timeout=15_000)
    resumed = [u for u in urls if f"job_id={before['jobId']}" in u]
    assert len(resumed) == 1, urls
    since = int(re.search(r"since=(\d+)", resumed[0]).group(1))  # type: ignore[union-attr]
    assert since >= before["lastSeq"]
    steps = page.eval_on_selector_all(
        "#research-steps li", "els => els.map(e => [e.dataset.step, e.dataset.status])"
    )
    assert steps == [[s, "done"] for s in STEPS]
    assert page.locator("#research-files li").count() == 6
    assert page.locator("#usecase-list .usecase").count() == 2
    page.wait_for_selector("#report-body[data-loaded=true]")
    assert followed(page, "research") is None
    console.shot("research-after-reload")


def test_jobs_tab_lists_opens_and_cancels_jobs(console: Console, keys: dict[str, str]) -> None:
    """The Jobs tab lists the key's jobs with route, state and progress; another browser opens
    the running job in its tab and follows it live, and sees it end when it is cancelled from
    the list; a finished research job opened there shows its steps, files and report."""
    page = console.sign_in(uct=keys["uct"], ch=keys["ch"])
    research_form(page, "a slow topic")
    page.click("#research-run")
    page.wait_for_selector('#research-steps li[data-step="planning"]')
    running_id = followed(page, "research")["jobId"]
    page.click('.tabs [data-tab="jobs"]')
    row = page.locator(f'#jobs-table tr[data-job-id="{running_id}"]')
    expect(row).to_have_attribute("data-state", "running")
    assert row.locator("td").nth(1).inner_text() == "research"
    console.shot("jobs-running")

    fresh = Console(page.context.browser, console.server, console.screens)
    try:
        other = fresh.sign_in(uct=keys["uct"])
        other.click('.tabs [data-tab="jobs"]')
        other.locator(f'#jobs-table tr[data-job-id="{running_id}"] button.job-open').click()
        other.wait_for_selector('#research-steps li[data-step="planning"]')
        assert other.get_attribute("#research-state", "data-state") == "running"
        assert followed(other, "research")["jobId"] == running_id

        row.locator("button.job-cancel").click()
        expect(row).to_have_attribute("data-state", "cancelled", timeout=10_000)
        other.wait_for_selector("#research-state[data-state=cancelled]")
        page.click('.tabs [data-tab="research"]')
        page.wait_for_selector("#research-state[data-state=cancelled]")

        research_form(page, "a finished topic")
        page.click("#research-run")
        page.wait_for_selector("#research-state[data-state=complete]")
        page.click('.tabs [data-tab="jobs"]')
        page.select_option("#jobs-route", "research")
        page.select_option("#jobs-state", "succeeded")
        first = page.locator("#jobs-table tbody tr").first
        expect(first).to_have_attribute("data-state", "succeeded")
        finished_id = first.get_attribute("data-job-id")
        assert first.locator(".job-progress").inner_text().strip() == "100%"
        first.locator("button.job-events").click()
        expect(page.locator("#jobs-events li").last).to_contain_text("complete")

        other.click('.tabs [data-tab="jobs"]')
        other.locator(f'#jobs-table tr[data-job-id="{finished_id}"] button.job-open').click()
        other.wait_for_selector("#research-state[data-state=complete]")
        assert other.locator("#research-files li").count() == 6
        other.wait_for_selector("#report-body[data-loaded=true]")
        assert other.locator("#report-body h1").inner_text() == "Deep research: a finished topic"
        fresh.shot("jobs-reopened-finished")
        assert fresh.errors == []
    finally:
        fresh.context.close()


def test_a_reload_mid_deploy_keeps_the_progress_and_shows_the_endpoint(
    console: Console, keys: dict[str, str]
) -> None:
    """Reloading during a deploy redraws its log and progress and resumes after the last seq
    shown: each stage is logged once, the bar reaches 100% and the endpoint is shown."""
    page = console.sign_in(ch=keys["ch"])
    urls = sockets(page)
    page.fill("#ctx-project", "paced-deploy")
    page.click('.tabs [data-tab="spec"]')
    page.fill("#spec-form [name=use_case_name]", "Support")
    page.fill("#spec-form [name=use_case_description]", "Triage support tickets")
    page.click("#spec-generate")
    page.wait_for_selector("#spec-state[data-state=complete]")
    page.click('.tabs [data-tab="deploy"]')
    page.click("#deploy-run")
    expect(page.locator("#deploy-percent")).to_have_text("10%", timeout=10_000)
    before = followed(page, "deploy")
    assert before["route"] == "deploy" and before["lastSeq"] >= 3

    page.reload()
    page.wait_for_selector("body[data-ready=true]")
    page.wait_for_selector("#deploy-state[data-state=deployed]", timeout=15_000)
    resumed = [u for u in urls if f"job_id={before['jobId']}" in u]
    assert len(resumed) == 1, urls
    assert int(re.search(r"since=(\d+)", resumed[0]).group(1)) >= before["lastSeq"]  # type: ignore[union-attr]
    assert page.text_content("#deploy-percent") == "100%"
    assert page.text_content('[data-fact="endpoint"]') == (
        "http://127.0.0.1/apps/paced-deploy/invoke"
    )
    log = page.locator("#deploy-log li").all_inner_texts()
    for stage in ("Install", "Synth", "Deploy CDK", "Smoke test"):
        assert sum(line.endswith(f" {stage}") for line in log) == 1, log
    assert followed(page, "deploy") is None
    console.shot("deploy-after-reload")


def _seed_research_project(server: RunningServer) -> str:
    """A finished research project in the console server's database, with two stored files."""

    async def go() -> str:
        engine = make_engine(server.settings.resolved_database_url)
        try:
            repo = ResearchRepository(make_sessionmaker(engine))
            new = NewProject("u", "s", "Globex", "https://globex.example/", "AI in shipping")
            project = await repo.create_project("ws1", new)
            folder = server.settings.data_dir / "artifacts" / "ws1" / project
            folder.mkdir(parents=True)
            (folder / "deep_research.md").write_text("# Stored report: shipping\n\nText.\n")
            (folder / "deep_research.pdf").write_bytes(b"%PDF-1.4 test\n")
            for file_type, name, kind in (
                ("deep_research_markdown", "deep_research.md", "text/markdown"),
                ("deep_research_pdf", "deep_research.pdf", "application/pdf"),
            ):
                key = f"ws1/{project}/{name}"
                ref = ReportRef(file_type, key, "http://stale.example/" + name, kind, 10)
                await repo.add_report("ws1", project, ref)
            use_cases = [
                {
                    "id": "uc_1",
                    "title": "Route planning",
                    "description": "Plan routes.",
                    "business_value": "Saves fuel",
                    "impact_score": "High",
                    "implementation": "Agents",
                    "estimated_roi": "2x",
                    "alignment_score": "High",
                }
            ]
            await repo.complete_project("ws1", project, use_cases=use_cases, usage={})
            return project
        finally:
            await engine.dispose()

    return str(server.call(go()))  # on the server's loop: Playwright holds this thread's


def test_a_stored_research_project_shows_its_reports_and_artifacts(
    console: Console, keys: dict[str, str]
) -> None:
    """The Jobs tab lists the workspace's research projects; *Show* opens one in the Research
    tab with its files (fresh URLs from the server), use cases and the rendered report."""
    project = _seed_research_project(console.server)
    page = console.sign_in(uct=keys["uct"])
    page.click('.tabs [data-tab="jobs"]')
    row = page.locator(f'#projects-table tr[data-project-id="{project}"]')
    expect(row).to_have_attribute("data-status", "complete")
    assert row.locator("td").nth(1).inner_text() == "Globex"
    row.locator("button.project-show").click()
    page.wait_for_selector("#report-body[data-loaded=true]")
    assert page.locator("#report-body h1").inner_text() == "Stored report: shipping"
    hrefs = page.locator("#research-files a").evaluate_all("els => els.map(e => e.href)")
    names = [h.split("?", 1)[0].rsplit("/", 1)[-1] for h in hrefs]  # signed URLs
    assert names == ["deep_research.md", "deep_research.pdf"]
    assert all(h.startswith(console.server.http + "/artifacts/ws1/") for h in hrefs)
    assert page.locator("#usecase-list .usecase h3").all_inner_texts() == ["Route planning"]
    assert page.get_attribute("#research-state", "data-state") == "complete"
    assert page.input_value("#ctx-project") == project
    assert page.get_attribute("#report-pdf", "href").split("?")[0].endswith("deep_research.pdf")
    console.shot("stored-project")
