"""Benchmark: time and peak memory to render a ~30-page report to PDF.

Each measurement runs in a fresh subprocess so its peak RSS (getrusage ru_maxrss) belongs to
that render alone. Prints the figures; docs/storage.md records them.

    .venv/bin/python bench/bench_pdf.py [--pages 30] [--runs 3]
"""

from __future__ import annotations

import argparse
import io
import json
import resource
import statistics
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

PARAGRAPH = (
    "Regional freight volumes moved with demand, fuel prices and new customs rules. Forwarders "
    "that digitised booking and documentation kept margins while others lost share; the gap is "
    "widest among mid-sized firms with fragmented systems and manual quoting. "
)


def report_markdown(sections: int) -> str:
    """A realistic report: sections with prose, a table, a list, a quote and a code block."""
    parts = ["# Deep Research: Benchmark Logistics\n"]
    for i in range(1, sections + 1):
        rows = "\n".join(f"| Lane {i}.{r} | {r * 13.7:.1f} | {r % 7}.{r % 10}% |" for r in range(8))
        parts.append(
            f"## {i}. Market segment {i}\n\n"
            + "\n\n".join(PARAGRAPH * 3 for _ in range(3))
            + f"\n\n### Key figures\n\n| Lane | Volume | Growth |\n|---|--:|--:|\n{rows}\n\n"
            "- Demand forecasting per lane\n- Automated customs documents\n- Dynamic pricing\n\n"
            f"> Segment {i} is expected to consolidate within three years.\n\n"
            "```python\nforecast = model.predict(features)  # weekly, per lane\n```\n"
        )
    return "\n".join(parts)


def child(sections: int, *, trace: bool) -> None:
    """One render in this process. With `trace`, only tracemalloc's peak (it slows Python down
    several times, so timings come from untraced runs)."""
    import weasyprint  # noqa: F401  (import cost is not part of the render)
    from pypdf import PdfReader

    from agents.reports import render_pdf

    markdown = report_markdown(sections)
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    if trace:
        tracemalloc.start()
    wall, cpu = time.perf_counter(), time.process_time()
    pdf = render_pdf(markdown, title="Deep Research: Benchmark Logistics", subtitle="Benchmark")
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    if trace:
        print(json.dumps({"python_peak_mib": tracemalloc.get_traced_memory()[1] / 2**20}))
        return
    result = {
        "pages": len(PdfReader(io.BytesIO(pdf)).pages),
        "markdown_chars": len(markdown),
        "pdf_bytes": len(pdf),
        "wall_s": wall,
        "cpu_s": cpu,
        "max_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "rss_before_render_mib": rss_before / 1024,
    }
    print(json.dumps(result))


def sections_for(pages: int) -> int:
    """Sections needed for about `pages` pages (cover and contents included); measured once."""
    return max(1, round((pages - 2) * 0.84))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=30)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--trace", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        child(args.child, trace=args.trace)
        return

    def run(*extra: str) -> dict[str, float]:
        out = subprocess.run(
            [sys.executable, __file__, "--child", str(sections), *extra],
            check=True,
            capture_output=True,
            text=True,
            cwd=ROOT,
            timeout=600,
        )
        result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
        return result

    sections = sections_for(args.pages)
    results = [run() for _ in range(args.runs)]
    traced = run("--trace")

    first = results[0]
    print(
        f"report: {first['pages']} pages, {first['markdown_chars']} Markdown chars, "
        f"{first['pdf_bytes'] / 1024:.0f} KiB PDF, {args.runs} runs (fresh process each)"
    )
    for name, unit in (
        ("wall_s", "s"),
        ("cpu_s", "s"),
        ("max_rss_mib", "MiB"),
        ("rss_before_render_mib", "MiB"),
    ):
        values = [r[name] for r in results]
        print(
            f"  {name:22} median {statistics.median(values):8.2f} {unit}   "
            f"min {min(values):8.2f}   max {max(values):8.2f}"
        )

    print(
        f"  python_peak_mib        {traced['python_peak_mib']:8.2f} MiB (tracemalloc, separate run)"
    )


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    main()
