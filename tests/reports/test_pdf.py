"""PDF rendering: the document parses, has its structure and page furniture, fetches nothing."""

from __future__ import annotations

import asyncio
import base64
import io
import struct
import threading
import zlib
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from pypdf import PdfReader

from agents.protocol import UseCase
from agents.reports import (
    ReportRenderError,
    html_to_pdf,
    render_pdf,
    render_pdf_async,
    use_cases_markdown,
)


def _png(width: int = 4, height: int = 4) -> bytes:
    """A small valid RGB PNG, built by hand."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = b"".join(b"\x00" + b"\xcc\x22\x22" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


class _Recorder(BaseHTTPRequestHandler):
    requests: list[str]

    def do_GET(self) -> None:
        type(self).requests.append(self.path)
        body = _png() if self.path.endswith(".png") else b"body { color: red }"
        self.send_response(200)
        self.send_header("Content-Type", "image/png" if self.path.endswith(".png") else "text/css")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def http_peer() -> Iterator[tuple[str, list[str]]]:
    """A loopback HTTP server recording every request path it receives."""
    requests: list[str] = []
    handler = type("Handler", (_Recorder,), {"requests": requests})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", requests
    finally:
        server.shutdown()
        server.server_close()


def _reader(pdf: bytes) -> PdfReader:
    assert pdf.startswith(b"%PDF-")
    return PdfReader(io.BytesIO(pdf))


def _text(reader: PdfReader) -> list[str]:
    return [" ".join(page.extract_text().split()) for page in reader.pages]


LONG_SECTION = "Freight markets shift with demand, fuel prices and regulation. " * 40


def _long_report(sections: int) -> str:
    parts = ["# Market Study\n"]
    for i in range(1, sections + 1):
        parts.append(
            f"## Chapter {i}\n\n{LONG_SECTION}\n\n| Metric | Value |\n|---|--:|\n"
            f"| volume | {i * 10} |\n\n> Note {i}.\n\n```\ncode {i}\n```\n"
        )
    return "\n".join(parts)


def test_pdf_has_cover_contents_headings_and_page_numbers() -> None:
    """A multi-section report parses, shows the title and each heading, and numbers its
    pages "Page N of M" in the footer with the title in the running header."""
    pdf = render_pdf(
        _long_report(6),
        title="Market Study",
        subtitle="Acme Logistics - 25 November 2025",
        meta={"Prepared for": "Acme Logistics"},
    )
    reader = _reader(pdf)
    pages = _text(reader)
    total = len(pages)
    assert 5 <= total <= 12
    assert "Market Study" in pages[0]
    assert "Acme Logistics - 25 November 2025" in pages[0]
    assert "Prepared for" in pages[0]
    assert "Page 1 of" not in pages[0]  # the cover has no page furniture
    assert "Contents" in pages[1]
    for n in range(2, total + 1):
        assert f"Page {n} of {total}" in pages[n - 1]
        assert "Market Study" in pages[n - 1]  # running header
    full = " ".join(pages)
    for i in range(1, 7):
        assert f"Chapter {i}" in full
    # Contents entries point at the pages where the chapters start.
    first_chapter_page = next(n for n, text in enumerate(pages, 1) if "Chapter 1 Freight" in text)
    assert f"Chapter 1 {first_chapter_page}" in pages[1]


def test_page_count_grows_with_content() -> None:
    """A short report is a cover plus one page; a long one runs to many pages."""
    short = _reader(render_pdf("Just one paragraph.", title="Short"))
    assert len(short.pages) == 2
    long = _reader(render_pdf(_long_report(20), title="Long"))
    assert 14 <= len(long.pages) <= 40


def test_remote_image_in_markdown_is_not_fetched(http_peer: tuple[str, list[str]]) -> None:
    """Images, stylesheets and imports pointing at a server are never requested while the
    report renders."""
    base, requests = http_peer
    md = (
        f"![remote]({base}/md.png)\n\n"
        f'<img src="{base}/raw.png">\n\n'
        f'<link rel="stylesheet" href="{base}/style.css">\n\n'
        f"<style>@import url({base}/import.css);</style>\n\n"
        f'<p style="background: url({base}/bg.png)">text</p>\n'
    )
    pdf = render_pdf(md, title="No fetch")
    assert len(_reader(pdf).pages) >= 1
    assert requests == []


def test_renderer_refuses_urls_even_in_unsanitised_html(
    http_peer: tuple[str, list[str]], tmp_path: Path
) -> None:
    """The PDF renderer itself refuses http and file URLs (defence in depth), while inline
    data: images still render."""
    base, requests = http_peer
    image_file = tmp_path / "local.png"
    image_file.write_bytes(_png())
    page = (
        f'<html><head><link rel="stylesheet" href="{base}/style.css">'
        f"<style>@import url({base}/import.css); body {{ background: url({base}/bg.png) }}"
        f"</style></head><body><p>Hello</p>"
        f'<img src="{base}/direct.png"><img src="{image_file.as_uri()}"></body></html>'
    )
    reader = _reader(html_to_pdf(page))
    assert requests == []
    assert all(len(p.images) == 0 for p in reader.pages)

    inline = base64.b64encode(_png()).decode()
    with_data = _reader(html_to_pdf(f'<p>x</p><img src="data:image/png;base64,{inline}">'))
    assert len(with_data.pages[0].images) == 1


def test_inline_data_image_survives_the_pipeline() -> None:
    """A Markdown image with a data: URI is embedded in the PDF."""
    inline = base64.b64encode(_png()).decode()
    reader = _reader(render_pdf(f"![chart](data:image/png;base64,{inline})", title="Img"))
    # WeasyPrint shares one resource dictionary between pages, so look for the image anywhere.
    assert any(len(p.images) == 1 for p in reader.pages)


def test_use_case_report_renders() -> None:
    """The use-case Markdown renders to a PDF showing each use case title."""
    use_cases = [
        UseCase(
            id=f"uc-{i}",
            title=f"Lane forecasting {i}",
            description="Forecast volume per lane.",
            business_value="Better capacity planning.",
            impact_score="High",
            implementation="Gradient boosted trees.",
            estimated_roi="15%",
            alignment_score="Low",
        )
        for i in range(1, 4)
    ]
    md = use_cases_markdown(use_cases, company="Acme")
    text = " ".join(_text(_reader(render_pdf(md, title="AI Use Cases for Acme"))))
    for i in range(1, 4):
        assert f"Lane forecasting {i}" in text
    assert "Summary" in text


def test_async_render_does_not_block_the_event_loop() -> None:
    """render_pdf_async renders the document while the event loop keeps running other tasks."""

    async def main() -> tuple[bytes, int]:
        ticks = 0
        done = asyncio.Event()

        async def ticker() -> None:
            nonlocal ticks
            while not done.is_set():
                ticks += 1
                await asyncio.sleep(0)

        task = asyncio.create_task(ticker())
        await asyncio.sleep(0)
        before = ticks
        pdf = await render_pdf_async("## Async\n\nBody.", title="Async report")
        during = ticks - before
        done.set()
        await task
        return pdf, during

    pdf, ticks_during_render = asyncio.run(main())
    assert ticks_during_render > 1
    text = " ".join(_text(_reader(pdf)))
    assert "Async report" in text
    assert "Body." in text


def test_renderer_failure_raises_render_error() -> None:
    """A document the renderer cannot lay out (HTML nested 500 deep) raises ReportRenderError
    with code render_failed instead of returning empty or partial bytes."""
    nested = "<div>" * 500 + "deep" + "</div>" * 500
    with pytest.raises(ReportRenderError) as info:
        render_pdf(nested, title="Too deep")
    assert info.value.code == "render_failed"
    assert "PDF rendering failed" in info.value.message


def test_long_unbroken_strings_wrap() -> None:
    """A 420-character URL in a table cell and in a paragraph is broken over several lines
    (no text run longer than a line) instead of running off the page."""
    url = "https://example.com/" + "a" * 400
    reader = _reader(render_pdf(f"| Source |\n|---|\n| {url} |\n\n{url}\n", title="Wrap"))
    runs: list[str] = []

    def visit(text: str, *_: object) -> None:
        if text.strip():
            runs.append(text.strip())

    for page in reader.pages[1:]:
        page.extract_text(visitor_text=visit)
    assert sum(run.count("a") for run in runs) >= 800
    assert max(len(run) for run in runs) < 150
