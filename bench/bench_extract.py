"""Benchmark: page reading for research — extraction quality and pages per second.

Quality: on the saved pages in bench/pages/ (each `NAME.html` with its hand-marked main text
in `NAME.txt`), the word-level precision and recall of trafilatura's main text (what the
research reader keeps) against the marked text, beside the plain HTML-to-text converter used
before (the reference). Precision falls when boilerplate (navigation, cookie banners, footers,
comments, sidebars) is kept; recall falls when main text is lost.

Speed: pages extracted per second (in process), and pages fetched and extracted per second
through `PageReader` (netsafe fetch, robots.txt, politeness gate with no delay) from a
loopback HTTP server serving the same pages.

    .venv/bin/python bench/bench_extract.py [--rounds 20] [--fetches 120]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import threading
import time
from collections import Counter
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from agents.netsafe import FetchPolicy  # noqa: E402
from agents.sources.budget import ReadBudget  # noqa: E402
from agents.sources.extract import extract_html  # noqa: E402
from agents.sources.reader import PageReader, ReadPolicy  # noqa: E402
from agents.sources.text import html_to_text  # noqa: E402

PAGES = ROOT / "bench" / "pages"


def words(text: str) -> Counter[str]:
    return Counter(w.strip(".,:;!?\"'()").lower() for w in text.split() if w.strip(".,:;!?\"'()"))


def precision_recall(got: str, want: str) -> tuple[float, float]:
    g, w = words(got), words(want)
    common = sum((g & w).values())
    return (common / max(1, sum(g.values())), common / max(1, sum(w.values())))


def quality() -> list[tuple[str, float, float, float, float]]:
    rows = []
    for html_path in sorted(PAGES.glob("*.html")):
        html = html_path.read_text(encoding="utf-8")
        want = html_path.with_suffix(".txt").read_text(encoding="utf-8")
        extracted = extract_html(html, url=f"https://bench.example/{html_path.stem}")
        got = "\n".join(p for p in (extracted.title, extracted.text) if p)
        plain_title, plain = html_to_text(html)
        p, r = precision_recall(got, want)
        pp, pr = precision_recall(f"{plain_title}\n{plain}", want)
        rows.append((html_path.stem, p, r, pp, pr))
    return rows


def extraction_speed(rounds: int) -> tuple[float, float]:
    pages = [p.read_text(encoding="utf-8") for p in sorted(PAGES.glob("*.html"))]
    t0 = time.perf_counter()
    for _ in range(rounds):
        for html in pages:
            extract_html(html)
    traf = rounds * len(pages) / (time.perf_counter() - t0)
    t0 = time.perf_counter()
    for _ in range(rounds):
        for html in pages:
            html_to_text(html)
    plain = rounds * len(pages) / (time.perf_counter() - t0)
    return traf, plain


class _Quiet(SimpleHTTPRequestHandler):
    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, directory=str(PAGES), **kwargs)  # type: ignore[arg-type]

    def log_message(self, format: str, *args: object) -> None:
        pass


async def fetch_speed(base: str, fetches: int) -> float:
    import httpx

    names = [p.name for p in sorted(PAGES.glob("*.html"))]
    async with httpx.AsyncClient(trust_env=False) as client:
        reader = PageReader(
            client,
            fetch_policy=FetchPolicy(allow_private=True),
            policy=ReadPolicy(delay=0.0, per_host=4),
        )
        budget = ReadBudget(max_pages=fetches + 1, max_bytes=1 << 30)
        urls = [f"{base}/{names[i % len(names)]}?n={i}" for i in range(fetches)]
        t0 = time.perf_counter()
        reads = await asyncio.gather(*(reader.read(u, budget, provider="bench") for u in urls))
        elapsed = time.perf_counter() - t0
    assert all(r.source is not None for r in reads), [r.notice for r in reads if r.source is None]
    return fetches / elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--fetches", type=int, default=120)
    args = parser.parse_args()

    print("page                  trafilatura P / R      plain text P / R")
    rows = quality()
    for name, p, r, pp, pr in rows:
        print(f"{name:<20}  {p:6.3f} / {r:5.3f}        {pp:6.3f} / {pr:5.3f}")
    n = len(rows)
    mp, mr = sum(r[1] for r in rows) / n, sum(r[2] for r in rows) / n
    pp, pr = sum(r[3] for r in rows) / n, sum(r[4] for r in rows) / n
    print(f"{'mean':<20}  {mp:6.3f} / {mr:5.3f}        {pp:6.3f} / {pr:5.3f}")

    traf, plain = extraction_speed(args.rounds)
    print(f"extraction: trafilatura {traf:.0f} pages/s, plain text {plain:.0f} pages/s "
          f"(ratio {plain / traf:.1f}x)")  # fmt: skip

    server = ThreadingHTTPServer(("127.0.0.1", 0), _Quiet)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        rate = asyncio.run(
            fetch_speed(f"http://127.0.0.1:{server.server_address[1]}", args.fetches)
        )
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
    print(f"fetch + robots + extract through PageReader (loopback, no delay): {rate:.0f} pages/s")


if __name__ == "__main__":
    main()
