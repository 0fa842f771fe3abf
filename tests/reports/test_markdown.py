"""Markdown → sanitised HTML, the document page, and the use-case report's Markdown."""

from __future__ import annotations

import re

import pytest

from agents.errors import QubitzError
from agents.protocol import UseCase
from agents.reports import (
    MAX_MARKDOWN_CHARS,
    ReportRenderError,
    markdown_to_html,
    render_document_html,
    use_cases_markdown,
)

PNG_DATA_URI = (
    "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk"
    "YPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
)


def test_tables_render_with_alignment() -> None:
    """GFM tables become <table> with header cells and the column alignment kept."""
    out = markdown_to_html("| Name | Score |\n|---|--:|\n| a | 1 |\n| b | 2 |\n")
    assert "<table>" in out
    assert "<th>Name</th>" in out
    assert re.search(r'<td style="text-align: ?right;?">2</td>', out)


def test_common_blocks_render() -> None:
    """Headings, lists, code blocks, blockquotes, links and strikethrough all come through."""
    md = (
        "## Heading\n\n- one\n- two\n\n1. first\n\n> quoted\n\n"
        "```python\nprint('x')\n```\n\n[site](https://example.com) ~~old~~\n"
    )
    out = markdown_to_html(md)
    assert '<h2 id="s-heading">Heading</h2>' in out
    assert "<ul>" in out
    assert "<ol>" in out
    assert "<blockquote>" in out
    assert '<code class="language-python">' in out
    assert 'href="https://example.com"' in out
    assert "<s>old</s>" in out


def test_scripts_iframes_and_handlers_are_stripped() -> None:
    """Raw HTML in the Markdown loses scripts, iframes, styles, forms and event handlers."""
    md = (
        "Hello <script>alert('x')</script> world\n\n"
        '<iframe src="https://evil.example/"></iframe>\n\n'
        "<style>body { background: url(https://evil.example/x) }</style>\n\n"
        '<form action="https://evil.example/"><input name="q"></form>\n\n'
        '<p onclick="steal()">para</p>\n\n<object data="x.swf"></object>\n'
    )
    out = markdown_to_html(md)
    for needle in (
        "script",
        "alert",
        "iframe",
        "evil.example",
        "<style",
        "<form",
        "<input",
        "onclick",
        "<object",
    ):
        assert needle not in out, needle
    assert "Hello" in out
    assert "world" in out
    assert "<p>para</p>" in out


def test_remote_and_file_images_lose_their_source() -> None:
    """Images keep a src only when it is an inline data: image; remote/file sources are dropped."""
    md = (
        "![remote](https://tracker.example/pixel.png)\n\n"
        '<img src="http://127.0.0.1:9/x.png" alt="raw">\n\n'
        "![file](file:///etc/passwd)\n\n"
        f"![inline]({PNG_DATA_URI})\n"
    )
    out = markdown_to_html(md)
    assert "tracker.example" not in out
    assert "127.0.0.1" not in out
    assert 'src="file:' not in out
    assert f'src="{PNG_DATA_URI}"' in out
    assert 'alt="remote"' in out


def test_dangerous_link_schemes_are_removed() -> None:
    """javascript: and data: links (Markdown or raw HTML) never become an href; https and
    mailto links keep theirs."""
    md = (
        "[a](javascript:alert(1)) [b](data:text/html,<b>x</b>) "
        '<a href="javascript:alert(2)">raw</a> <a href="data:text/html,x">raw2</a> '
        "[c](mailto:x@example.com) [d](https://ok.example/)\n"
    )
    out = markdown_to_html(md)
    assert 'href="javascript' not in out
    assert 'href="data:' not in out
    assert '<a rel="noopener noreferrer">raw</a>' in out
    assert 'href="mailto:x@example.com"' in out
    assert 'href="https://ok.example/"' in out


def test_heading_anchors_are_unique() -> None:
    """Repeated heading texts get distinct ids."""
    out = markdown_to_html("## Notes\n\n## Notes\n\n## Notes\n")
    assert out.count('id="s-notes"') == 1
    assert 'id="s-notes-2"' in out
    assert 'id="s-notes-3"' in out


def test_document_escapes_title_and_meta() -> None:
    """The cover's title, subtitle and metadata are plain text, never markup."""
    page = render_document_html(
        "Body text.",
        title="<b>Risky</b> & Co",
        subtitle="<script>x()</script>",
        meta={"Prepared for": "<i>ACME</i>"},
    )
    assert "&lt;b&gt;Risky&lt;/b&gt; &amp; Co" in page
    assert "<script>x()" not in page
    assert "&lt;i&gt;ACME&lt;/i&gt;" in page
    assert page.startswith("<!DOCTYPE html>")
    assert "@page" in page


def test_document_drops_a_first_heading_equal_to_the_title() -> None:
    """A leading `# Title` repeating the cover title is not rendered twice."""
    page = render_document_html("# My  Report\n\nText.\n", title="My Report")
    body = page.split("<article>", 1)[1]
    assert "My Report" not in body
    kept = render_document_html("# Other\n\nText.\n", title="My Report")
    assert "Other</h1>" in kept.split("<article>", 1)[1]


def test_contents_lists_sections_but_not_repeated_subheadings() -> None:
    """With three or more sections a contents page links to each; templated sub-headings
    repeated under every section are left out."""
    md = "".join(f"## Part {i}\n\n### Details\n\ntext\n\n" for i in range(3)) + "### Unique\n"
    page = render_document_html(md, title="T")
    toc = page.split('<nav class="toc">', 1)[1].split("</nav>", 1)[0]
    assert [m for m in re.findall(r'href="#([^"]+)"', toc)] == [
        "s-part-0",
        "s-part-1",
        "s-part-2",
        "s-unique",
    ]
    short = render_document_html("## Only\n\ntext\n", title="T")
    assert '<nav class="toc">' not in short


def test_invalid_inputs_raise_render_error() -> None:
    """An empty title or an oversized document raises ReportRenderError (code render_failed)."""
    with pytest.raises(ReportRenderError) as info:
        render_document_html("x", title="  ")
    assert isinstance(info.value, QubitzError)
    assert info.value.code == "render_failed"
    with pytest.raises(ReportRenderError, match="too long"):
        markdown_to_html("a" * (MAX_MARKDOWN_CHARS + 1))


def _use_case(n: int, **overrides: str) -> UseCase:
    fields: dict[str, str] = {
        "id": f"uc-{n}",
        "title": f"Use case {n}",
        "description": f"Description {n}.",
        "business_value": f"Value {n}.",
        "impact_score": "High",
        "implementation": f"Build step {n}.",
        "estimated_roi": f"{n}0%",
        "alignment_score": "Medium",
    }
    fields.update(overrides)
    return UseCase.model_validate(fields)


def test_use_cases_markdown_has_summary_table_and_sections() -> None:
    """The use-case report has a title, a summary row per use case and a section for each."""
    md = use_cases_markdown([_use_case(1), _use_case(2)], company="Acme")
    assert md.startswith("# AI Use Cases for Acme\n")
    assert "| 1 | Use case 1 | High | Medium | 10% |" in md
    assert "| 2 | Use case 2 | High | Medium | 20% |" in md
    assert "## 1. Use case 1" in md
    assert "## 2. Use case 2" in md
    assert "Description 2." in md
    assert "Value 1." in md
    assert "Build step 2." in md
    html = markdown_to_html(md)
    assert html.count("<tr>") == 3  # header + two rows


def test_use_cases_markdown_keeps_table_intact_with_pipes_and_newlines() -> None:
    """Pipes and line breaks inside a use case's fields do not break the summary table."""
    uc = _use_case(1, title="Forecast | plan\nnext", estimated_roi="5|10%")
    html = markdown_to_html(use_cases_markdown([uc], company="Acme"))
    table = html.split("<table>", 1)[1].split("</table>", 1)[0]
    assert table.count("<td") == 5
    assert "Forecast | plan next" in table


def test_use_cases_markdown_without_use_cases() -> None:
    """An empty list still makes a readable document saying so."""
    md = use_cases_markdown([], company="Acme")
    assert "No use cases were identified." in md


def test_rule_before_a_new_chapter_is_dropped() -> None:
    """In a document, a horizontal rule right before an h1 (which starts a new page) is
    dropped; other rules stay."""
    page = render_document_html("# A\n\ntext\n\n---\n\n# B\n\nx\n\n---\n\nmore\n", title="T")
    body = page.split("<article>", 1)[1]
    assert body.count("<hr>") == 1
    assert body.index("<hr>") > body.index("B</h1>")
