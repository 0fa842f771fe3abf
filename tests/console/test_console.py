"""The web console in a real headless Chromium against a running server (every flow)."""

from __future__ import annotations

import re

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.console.conftest import Console
from tests.support.server import RunningServer

pytestmark = pytest.mark.slow


def research_form(page: Page, prompt: str = "AI in logistics") -> None:
    page.fill("#research-form [name=prompt]", prompt)
    page.fill("#research-form [name=company_name]", "Acme Freight")
    page.fill("#research-form [name=company_url]", "https://acme.example/")


def test_assets_are_served_with_content_types_and_csp(console_server: RunningServer) -> None:
    """`/`, the console's files and `/js/*` have explicit content types, nosniff and a CSP;
    conditional GETs give 304; dot folders and unknown files are not served; core routes still
    answer. (The research test reads its report from /artifacts through the same router.)"""
    expected = {
        "/": "text/html; charset=utf-8",
        "/index.html": "text/html; charset=utf-8",
        "/app.js": "text/javascript; charset=utf-8",
        "/markdown.js": "text/javascript; charset=utf-8",
        "/style.css": "text/css; charset=utf-8",
        "/js/qubitz.js": "text/javascript; charset=utf-8",
        "/js/qubitz.d.ts": "application/typescript; charset=utf-8",
    }
    with httpx.Client(base_url=console_server.http) as http:
        for path, content_type in expected.items():
            response = http.get(path)
            assert response.status_code == 200, path
            assert response.headers["content-type"] == content_type, path
            assert response.headers["x-content-type-options"] == "nosniff"
            assert "script-src 'self'" in response.headers["content-security-policy"]
        etag = http.get("/js/qubitz.js").headers["etag"]
        assert http.get("/js/qubitz.js", headers={"if-none-match": etag}).status_code == 304
        assert "export class QubitzClient" in http.get("/js/qubitz.js").text
        assert http.get("/js/.test/package.json").status_code == 404
        assert http.get("/nope.js").status_code == 404
        assert http.get("/health").json() == {"status": "ok"}


def test_sign_in_enables_tabs_by_key_scope(console: Console, keys: dict[str, str]) -> None:
    """A research key opens Research and Chat only; the keys live in sessionStorage (kept across
    a reload, gone after sign-out); a key without a known prefix is refused."""
    page = console.open()
    page.fill("#key-uct", "not-a-key")
    page.click("#signin-form button[type=submit]")
    assert "qk_uct_" in page.text_content("#signin-error")
    assert page.is_hidden("#workspace")

    page = console.sign_in(uct=keys["uct"])
    enabled = {
        tab: page.is_enabled(f'.tabs [data-tab="{tab}"]')
        for tab in ["research", "chat", "spec", "deploy", "keys"]
    }
    assert enabled == {
        "research": True,
        "chat": True,
        "spec": False,
        "deploy": False,
        "keys": False,
    }
    assert page.get_attribute("#badge-uct", "data-active") == "true"
    assert page.get_attribute("#badge-ch", "data-active") == "false"
    assert page.is_visible("#tab-research")
    stored = page.evaluate("sessionStorage.getItem('qubitz.keys')")
    assert keys["uct"] in stored
    assert page.evaluate("localStorage.length") == 0
    console.shot("signed-in-uct")

    page.reload()
    page.wait_for_selector("#workspace:not([hidden])")
    page.click("#sign-out")
    page.wait_for_selector("#signin:not([hidden])")
    assert page.evaluate("sessionStorage.getItem('qubitz.keys')") is None


def test_research_shows_live_steps_progress_use_cases_and_the_report(
    console: Console, keys: dict[str, str]
) -> None:
    """A research run lists its steps as they arrive, fills the progress bar, lists the stored
    files and use cases, sets the project, then fetches and renders the Markdown report safely
    (raw HTML shown as text, javascript: links dropped) with a PDF link."""
    page = console.sign_in(uct=keys["uct"])
    research_form(page)
    page.click("#research-run")
    page.wait_for_selector("#research-state[data-state=complete]")
    steps = page.eval_on_selector_all(
        "#research-steps li", "els => els.map(e => [e.dataset.step, e.dataset.status])"
    )
    assert steps == [
        [s, "done"] for s in ["planning", "research", "writing", "analysis", "use_cases", "render"]
    ]
    assert page.eval_on_selector("#research-bar", "e => e.style.width") == "100%"
    assert page.locator("#research-files li").count() == 6
    assert page.locator("#usecase-list .usecase").count() == 2
    assert page.input_value("#ctx-project").startswith("project-")

    page.wait_for_selector("#report-body[data-loaded=true]")
    body = page.locator("#report-body")
    assert body.locator("h1").inner_text() == "Deep research: AI in logistics"
    assert body.locator("table tbody tr").count() == 2
    assert body.locator("ul li").first.inner_text().startswith("Faster answers")
    assert '<img src=x onerror="window.__xss = 1">' in body.inner_text()
    assert body.locator("img").count() == 0
    hrefs = body.locator("a").evaluate_all("els => els.map(e => e.getAttribute('href'))")
    assert hrefs == ["https://example.com/source"]
    page.wait_for_timeout(100)
    assert page.evaluate("window.__xss") is None
    assert page.get_attribute("#report-pdf", "href").split("?")[0].endswith("deep_research.pdf")
    console.shot("research-report")

    page.select_option("#report-doc", label="Use cases")
    expect(page.locator("#report-source")).to_contain_text("use_cases.md")


def test_research_failure_and_cancel_are_reported(console: Console, keys: dict[str, str]) -> None:
    """A failing run marks its step failed and shows the server's message; Cancel stops a run."""
    page = console.sign_in(uct=keys["uct"])
    research_form(page, "please fail")
    page.click("#research-run")
    page.wait_for_selector("#research-state[data-state=failed]")
    assert "no sources found" in page.text_content("#research-error")
    assert page.get_attribute('#research-steps li[data-step="research"]', "data-status") == (
        "failed"
    )

    research_form(page, "a slow topic")
    page.click("#research-run")
    page.wait_for_selector('#research-steps li[data-step="planning"]')
    page.click("#research-cancel")
    page.wait_for_selector("#research-state[data-state=cancelled]")
    assert page.is_enabled("#research-run")


def test_chat_streams_answers_about_the_report(console: Console, keys: dict[str, str]) -> None:
    """Chat sends the report URL from the research run, streams the answer into a rendered
    bubble, keeps the conversation (token usage grows), and shows a token-limit error."""
    page = console.sign_in(uct=keys["uct"])
    research_form(page)
    page.click("#research-run")
    page.wait_for_selector("#research-state[data-state=complete]")
    page.click('.tabs [data-tab="chat"]')
    report_url = page.input_value("#chat-report")
    assert re.search(r"/artifacts/.+/deep_research\.md\?expires=\d+&sig=[0-9a-f]{64}$", report_url)

    page.fill("#chat-message", "What are the key findings?")
    page.click("#chat-send")
    answer = page.locator(".bubble.assistant").last
    page.wait_for_selector(".bubble.assistant:not(.streaming)")
    assert answer.inner_text() == f"The report highlights three areas (from {report_url})."
    assert answer.locator("strong").inner_text() == "report"
    assert "120 of 250,000 tokens" in page.text_content("#chat-usage")

    page.fill("#chat-message", "And the risks?")
    page.click("#chat-send")
    expect(page.locator(".bubble.assistant:not(.streaming)")).to_have_count(2)
    assert "360 of 250,000 tokens" in page.text_content("#chat-usage")
    console.shot("chat")

    page.fill("#chat-message", "push it over the limit")
    page.click("#chat-send")
    page.wait_for_selector("#chat-error:not([hidden])")
    assert "Token limit reached" in page.text_content("#chat-error")
    assert page.locator(".bubble.assistant").count() == 2


def test_spec_generate_then_update_shows_table_graph_and_diff(
    console: Console, keys: dict[str, str]
) -> None:
    """With both keys every tab opens; a use case prefills the spec form; the generated spec is
    shown as an agents table and an orchestration graph; an update shows its diff."""
    page = console.sign_in(uct=keys["uct"], ch=keys["ch"])
    assert all(
        page.is_enabled(f'.tabs [data-tab="{t}"]')
        for t in ["research", "chat", "spec", "deploy", "keys"]
    )
    research_form(page)
    page.click("#research-run")
    page.wait_for_selector("#research-state[data-state=complete]")
    page.locator(".use-case-spec").first.click()
    assert page.is_visible("#tab-spec")
    assert page.input_value("#spec-form [name=use_case_name]") == "Support triage assistant"
    assert page.input_value("#spec-form [name=s3_uri]").split("?")[0].endswith("deep_research.md")

    page.click("#spec-generate")
    page.wait_for_selector("#spec-state[data-state=complete]")
    rows = page.locator("#spec-agents tbody tr")
    assert rows.evaluate_all("els => els.map(e => e.dataset.agent)") == [
        "research_agent",
        "analysis_agent",
        "writer_agent",
    ]
    assert page.text_content("#spec-version") == "v1"
    assert page.locator("#spec-graph svg g.node").count() == 4
    assert page.locator("#spec-graph svg line.edge").count() == 3
    assert '{"agents_config": {...}}' in page.text_content("#spec-stream")

    page.fill("#update-form [name=user_input]", "Add a security agent")
    page.click("#spec-update")
    expect(page.locator("#spec-version")).to_have_text("v2")
    assert "/agents_config/security_agent" in page.text_content("#spec-diff .diff-group.added")
    assert "/agents_config/analysis_agent/tools" in page.text_content(
        "#spec-diff .diff-group.changed"
    )
    changes = rows.evaluate_all("els => els.map(e => [e.dataset.agent, e.dataset.change])")
    assert ["security_agent", "added"] in changes
    assert ["analysis_agent", "changed"] in changes
    assert page.locator("#spec-graph svg g.node").count() == 5
    console.shot("spec-updated")


def test_deploy_shows_progress_and_the_live_endpoint(
    console: Console, keys: dict[str, str]
) -> None:
    """Deploying without a spec shows the server's error; after a spec, the progress bar follows
    the status events to 100% and the repository and endpoint are shown."""
    page = console.sign_in(ch=keys["ch"])
    page.fill("#ctx-project", "deploy-project")
    page.click('.tabs [data-tab="deploy"]')
    page.click("#deploy-run")
    page.wait_for_selector("#deploy-state[data-state=failed]")
    assert "No architecture spec found" in page.text_content("#deploy-error")

    page.click('.tabs [data-tab="spec"]')
    page.fill("#spec-form [name=use_case_name]", "Support")
    page.fill("#spec-form [name=use_case_description]", "Triage support tickets")
    page.click("#spec-generate")
    page.wait_for_selector("#spec-state[data-state=complete]")

    page.click('.tabs [data-tab="deploy"]')
    page.click("#deploy-run")
    page.wait_for_selector("#deploy-state[data-state=deployed]")
    assert page.text_content("#deploy-percent") == "100%"
    assert page.eval_on_selector("#deploy-bar", "e => e.style.width") == "100%"
    assert page.text_content('[data-fact="endpoint"]') == (
        "http://127.0.0.1/apps/deploy-project/invoke"
    )
    assert "deploy-project" in page.text_content('[data-fact="repository"]')
    log = page.locator("#deploy-log li").all_inner_texts()
    assert any("Deploy CDK" in line for line in log)
    console.shot("deploy")


def test_app_keys_are_shown_once_and_can_be_deleted(console: Console, keys: dict[str, str]) -> None:
    """Creating a key shows its value once (not stored, gone after Done/reload); the key is
    listed and deleting it removes it; a rejected console key is reported as such."""
    page = console.sign_in(ch=keys["ch"])
    page.fill("#ctx-project", "keys-project")
    page.click('.tabs [data-tab="keys"]')
    page.fill("#keys-form [name=key_name]", "production-key")
    page.click("#keys-create")
    page.wait_for_selector("#key-once:not([hidden])")
    value = page.text_content("#key-value")
    assert value and len(value) > 20
    assert page.locator("#keys-table tbody tr").count() == 1
    assert value not in page.evaluate("JSON.stringify(sessionStorage)")
    console.shot("app-key-created")
    page.click("#key-dismiss")
    assert page.is_hidden("#key-once")
    page.reload()
    page.wait_for_selector("body[data-ready=true]")
    assert value not in page.content()
    assert page.locator("#keys-table tbody tr").count() == 1

    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#keys-table tbody tr button.danger")
    page.wait_for_selector("#keys-empty:not([hidden])")
    assert page.locator("#keys-table tbody tr").count() == 0

    page.click("#sign-out")
    page.wait_for_selector("#signin:not([hidden])")
    console.sign_in(ch="qk_ch_revoked-or-unknown")
    page.fill("#ctx-project", "keys-project")
    page.click('.tabs [data-tab="keys"]')
    page.click("#keys-create")
    page.wait_for_selector("#keys-error:not([hidden])")
    assert "Key rejected (1008)" in page.text_content("#keys-error")
