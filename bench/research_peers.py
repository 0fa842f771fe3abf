"""Loopback peers for research: the single source for the research benchmarks
(bench_research_embedded, bench_research) and the research and sources tests, which import
from here (bench/ imports nothing of tests/).

- `Peer`: a plain HTTP/1.1 server on an ephemeral 127.0.0.1 port that answers from a script
  (`answer(path, *responses)`, the last one repeats; optional delay) and records every request
  (method, path, query, headers, JSON body, arrival time) and the most requests in flight. A
  `Response` with `chunks` is streamed (chunked transfer encoding, one flush per chunk): it can
  `hold` before chunk `hold_at` until the test sets that event (`Peer.held` records whether it
  was set in time), and `cut` the connection instead of ending the body.
- The documented JSON answers of the search APIs: SearXNG (`/search?format=json`), Tavily
  (`POST /search`) and Brave (`/res/v1/web/search`), from a list of (url, title, snippet).
- `ARTICLES`: article pages about AI route planning; `page()`: a page with navigation, a
  cookie banner and a footer around its main text; `serve_company_site()`: the website of
  Northwind Freight (robots.txt, sitemap, business pages, a privacy page, a disallowed page).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class Response:
    status: int = 200
    body: bytes | str | dict[str, Any] | list[Any] = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    content_type: str = "application/json"
    # Streamed answers: the body is `chunks`, each written and flushed as one HTTP chunk.
    chunks: Sequence[bytes | str] = ()
    hold: threading.Event | None = None  # waited for before chunk `hold_at` is written
    hold_at: int = 0
    hold_timeout: float = 10.0
    cut: bool = False  # drop the connection after the chunks, without the final empty chunk


@dataclass
class Seen:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: Any
    at: float = 0.0  # time.monotonic() when the request arrived


class Peer:
    def __init__(self) -> None:
        self.routes: dict[str, list[Response]] = {}
        self.requests: list[Seen] = []
        self._lock = threading.Lock()
        self.active = 0
        self.peak = 0  # most requests in flight at once
        self.held: list[bool] = []  # per hold: whether the test released it before the timeout
        peer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _serve(self) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("content-length") or 0)
                raw = self.rfile.read(length) if length else b""
                try:
                    body = json.loads(raw) if raw else None
                except ValueError:
                    body = raw
                with peer._lock:
                    peer.active += 1
                    peer.peak = max(peer.peak, peer.active)
                    peer.requests.append(
                        Seen(self.command, parts.path, parse_qs(parts.query),
                             {k.lower(): v for k, v in self.headers.items()}, body,
                             time.monotonic())
                    )  # fmt: skip
                    queue = peer.routes.get(parts.path)
                    response = (queue.pop(0) if len(queue) > 1 else queue[0]) if queue else None
                if response is None:
                    response = Response(404, {"detail": "no such route"})
                if response.delay:
                    time.sleep(response.delay)
                with peer._lock:
                    peer.active -= 1
                if response.chunks:
                    self._stream(response)
                    return
                payload = response.body
                if isinstance(payload, dict | list):
                    data = json.dumps(payload).encode()
                elif isinstance(payload, str):
                    data = payload.encode()
                else:
                    data = payload
                try:
                    self.send_response(response.status)
                    self.send_header("Content-Type", response.content_type)
                    self.send_header("Content-Length", str(len(data)))
                    for k, v in response.headers.items():
                        self.send_header(k, v)
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def _stream(self, response: Response) -> None:
                try:
                    self.send_response(response.status)
                    self.send_header("Content-Type", response.content_type)
                    self.send_header("Transfer-Encoding", "chunked")
                    for k, v in response.headers.items():
                        self.send_header(k, v)
                    self.end_headers()
                    for i, chunk in enumerate(response.chunks):
                        if response.hold is not None and i == response.hold_at:
                            peer.held.append(response.hold.wait(response.hold_timeout))
                        data = chunk.encode() if isinstance(chunk, str) else chunk
                        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
                        self.wfile.flush()
                    if response.cut:
                        self.close_connection = True
                        return
                    self.wfile.write(b"0\r\n\r\n")
                except (BrokenPipeError, ConnectionResetError):
                    self.close_connection = True

            do_GET = _serve
            do_POST = _serve

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def answer(self, path: str, *responses: Response) -> Peer:
        with self._lock:
            self.routes[path] = list(responses)
        return self

    def hits(self, path: str) -> list[Seen]:
        return [r for r in self.requests if r.path == path]

    def start(self) -> Peer:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


def running_peer() -> Iterator[Peer]:
    peer = Peer().start()
    try:
        yield peer
    finally:
        peer.stop()


ARTICLES: dict[str, tuple[str, list[str]]] = {
    "/articles/route-optimisation": (
        "How AI route optimisation cuts fuel costs",
        [
            "Route optimisation software that uses machine learning reduced total driven "
            "kilometres by 12 percent for regional carriers in a 2025 industry survey.",
            "Fuel is the largest variable cost of a trucking fleet, so fewer kilometres "
            "translate directly into lower fuel spend and lower emissions.",
            "Carriers with fleets of 200 to 500 trucks reported payback periods of 9 to 14 "
            "months for AI route planning tools.",
        ],
    ),
    "/articles/dynamic-dispatch": (
        "Dynamic dispatch with live traffic data",
        [
            "Dynamic dispatch systems replan delivery routes every 15 minutes using live "
            "traffic and order data, which raised on-time delivery rates to 96 percent.",
            "Planners keep the final decision: the AI suggests route changes and a human "
            "dispatcher approves them.",
        ],
    ),
    "/articles/planning-costs": (
        "What AI route planning software costs",
        [
            "Licences for AI route planning software cost between 30 and 80 dollars per "
            "vehicle per month for mid-size logistics firms.",
            "Integration with an existing transport management system usually takes three "
            "to six months and is the largest one-off cost.",
        ],
    ),
    "/articles/planning-risks": (
        "Risks of AI route planning in logistics",
        [
            "Poor address data is the most common reason AI route planning projects fail to "
            "deliver the promised savings.",
            "Drivers distrust routes that ignore local knowledge such as loading-dock hours, "
            "so firms that involve drivers early see faster adoption.",
        ],
    ),
    "/articles/market-vendors": (
        "The market for route planning software",
        [
            "The market for route optimisation software was worth about 6 billion dollars in "
            "2025 and is growing by roughly 12 percent a year.",
            "Vendors range from large transport management suites to specialised start-ups "
            "that sell route planning as a cloud service.",
        ],
    ),
}


Hit = tuple[str, str, str]  # url, title, snippet


def searxng_page(hits: list[Hit], *, more: bool = True) -> dict[str, Any]:
    return {
        "query": "q",
        "number_of_results": len(hits),
        "results": [
            {"url": u, "title": t, "content": c, "engine": "duckduckgo", "score": 1.0,
             "parsed_url": ["https", "x", "/", "", "", ""], "engines": ["duckduckgo"]}
            for u, t, c in hits
        ],
        "answers": [], "corrections": [], "infoboxes": [], "suggestions": [],
        "unresponsive_engines": [],
    }  # fmt: skip


def tavily_page(hits: list[Hit], *, more: bool = True) -> dict[str, Any]:
    return {
        "query": "q",
        "answer": None,
        "images": [],
        "results": [
            {"title": t, "url": u, "content": c, "score": 0.8, "raw_content": None}
            for u, t, c in hits
        ],
        "response_time": 0.4,
    }


def brave_page(hits: list[Hit], *, more: bool = True) -> dict[str, Any]:
    return {
        "type": "search",
        "query": {"original": "q", "more_results_available": more},
        "web": {
            "type": "search",
            "results": [
                {"title": t, "url": u, "description": f"<strong>{c}</strong>", "age": "2 days",
                 "type": "search_result", "language": "en", "family_friendly": True}
                for u, t, c in hits
            ],
        },
    }  # fmt: skip


NAV = (
    '<header><nav><a href="/">Home</a> <a href="/about-us">About</a> '
    '<a href="/services/route-planning">Services</a> <a href="/careers">Careers</a> '
    '<a href="/privacy">Privacy</a> <a href="/login">Log in</a></nav></header>'
)
COOKIES = (
    '<div id="cookie-banner" class="cookie-consent">We use cookies to improve your '
    "experience. Accept all cookies or manage your cookie preferences.</div>"
)
FOOTER = (
    "<footer><p>Copyright 2026 Northwind Freight. All rights reserved.</p>"
    '<p><a href="/privacy">Privacy policy</a> | <a href="/terms">Terms</a></p></footer>'
)


def page(title: str, paragraphs: list[str], *, author: str = "", date: str = "") -> str:
    meta = ""
    if author:
        meta += f'<meta name="author" content="{author}">'
    if date:
        meta += f'<meta property="article:published_time" content="{date}">'
    body = "".join(f"<p>{p}</p>" for p in paragraphs)
    return (
        f"<!doctype html><html><head><title>{title}</title>{meta}</head><body>{NAV}{COOKIES}"
        f"<main><article><h1>{title}</h1>{body}</article></main>{FOOTER}</body></html>"
    )


HOME = [
    "Northwind Freight is a mid-size logistics company running 420 trucks across the "
    "Midwest from four regional depots in Ohio, Indiana and Illinois.",
    "The company moves palletised freight for grocery and retail customers and offers "
    "next-day delivery to more than 1,200 stores on fixed weekly routes.",
]
ABOUT = [
    "Northwind Freight was founded in 1987 in Columbus, Ohio, as a family business with "
    "three trucks and a single warehouse next to the rail yard.",
    "Today the company employs 1,350 people, of whom 610 are drivers, and it is still "
    "owned by the founding family and run from its headquarters in Columbus.",
]
SERVICES = [
    "Our route planning team plans about 900 delivery routes every night with a "
    "spreadsheet-based process that takes four planners six hours per shift.",
    "Customers can book time windows for deliveries, and late deliveries are reported to "
    "them in a weekly service report with on-time rates per store.",
]
CAREERS = [
    "We are hiring a data analyst to build dashboards for fuel use, route lengths and "
    "on-time delivery rates across our depots.",
]
PRIVACY = ["This privacy policy explains how personal data is processed by Northwind Freight."]

ROBOTS = "User-agent: *\nDisallow: /private\nSitemap: {base}/sitemap.xml\n"
SITEMAP = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
    "<url><loc>{base}/</loc></url><url><loc>{base}/about-us</loc></url>"
    "<url><loc>{base}/services/route-planning</loc></url><url><loc>{base}/careers</loc></url>"
    "<url><loc>{base}/privacy</loc></url><url><loc>{base}/private/plans</loc></url>"
    "<url><loc>{base}/logo.png</loc></url></urlset>"
)


def html(text: str) -> Response:
    return Response(body=text, content_type="text/html; charset=utf-8")


def serve_company_site(peer: Peer) -> Peer:
    base = peer.url
    peer.answer("/robots.txt", Response(body=ROBOTS.format(base=base), content_type="text/plain"))
    peer.answer(
        "/sitemap.xml", Response(body=SITEMAP.format(base=base), content_type="application/xml")
    )
    peer.answer("/", html(page("Northwind Freight", HOME)))
    peer.answer("/about-us", html(page("About Northwind Freight", ABOUT, author="Jane Doe")))
    peer.answer(
        "/services/route-planning",
        html(page("Route planning services", SERVICES, date="2026-03-04")),
    )
    peer.answer("/careers", html(page("Careers", CAREERS)))
    peer.answer("/privacy", html(page("Privacy", PRIVACY)))
    peer.answer("/private/plans", html(page("Secret plans", ["Nobody may read this."])))
    return peer


@contextmanager
def serving(peer: Peer) -> Iterator[Peer]:
    """`peer` running for the block."""
    peer.start()
    try:
        yield peer
    finally:
        peer.stop()


def page_text(paragraphs: list[str]) -> str:
    return " ".join(paragraphs)


def article_site() -> Peer:
    peer = Peer()
    peer.answer("/robots.txt", Response(404, "", content_type="text/plain"))
    for path, (title, paras) in ARTICLES.items():
        peer.answer(path, html(page(title, paras)))
    return peer


def searxng(articles_url: str) -> Peer:
    """Every query gets the same results, all pointing at the article pages."""
    hits = [(articles_url + p, title, paras[0][:120]) for p, (title, paras) in ARTICLES.items()]
    return Peer().answer("/search", Response(body=searxng_page(hits)))


def company_site(*, up: bool) -> Peer:
    """Northwind Freight's website, or, when not `up`, a server whose every page fails."""
    peer = Peer()
    if up:
        return serve_company_site(peer)
    peer.answer("/robots.txt", Response(404, "", content_type="text/plain"))
    peer.answer("/", Response(503, "down", content_type="text/plain"))
    return peer


COMPANY_PAGES: dict[str, tuple[str, list[str]]] = {
    "/": ("Northwind Freight", HOME),
    "/about-us": ("About Northwind Freight", ABOUT),
    "/services/route-planning": ("Route planning services", SERVICES),
    "/careers": ("Careers", CAREERS),
}
