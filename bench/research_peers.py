"""Loopback peers for bench_research_embedded: article pages, a SearXNG-format search server
(JSON as documented for `/search?format=json`) whose results point at those pages, and a
company website (robots.txt, sitemap, pages). Plain `http.server` threads on 127.0.0.1."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

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

COMPANY: dict[str, tuple[str, list[str]]] = {
    "/": (
        "Northwind Freight",
        [
            "Northwind Freight is a mid-size logistics company running 420 trucks across the "
            "Midwest from four regional depots in Ohio, Indiana and Illinois.",
            "The company moves palletised freight for grocery and retail customers and offers "
            "next-day delivery to more than 1,200 stores on fixed weekly routes.",
        ],
    ),
    "/about-us": (
        "About Northwind Freight",
        [
            "Northwind Freight was founded in 1987 in Columbus, Ohio, as a family business "
            "with three trucks and a single warehouse next to the rail yard.",
            "Today the company employs 1,350 people, of whom 610 are drivers.",
        ],
    ),
    "/services/route-planning": (
        "Route planning services",
        [
            "Our planners build delivery routes each evening in a spreadsheet, using order "
            "data from the customer portal.",
            "Customers can book two-hour delivery windows for store deliveries.",
        ],
    ),
}


def page(title: str, paragraphs: list[str]) -> str:
    body = "".join(f"<p>{p}</p>" for p in paragraphs)
    return (
        f"<!doctype html><html><head><title>{title}</title></head><body>"
        f"<nav><a href='/'>Home</a></nav><main><article><h1>{title}</h1>{body}</article>"
        "</main><footer>Contact us</footer></body></html>"
    )


def page_text(paragraphs: list[str]) -> str:
    return " ".join(paragraphs)


@dataclass
class Peer:
    """Serves fixed answers per path; records the paths asked."""

    routes: dict[str, tuple[int, str, bytes]] = field(default_factory=dict)
    hits: list[str] = field(default_factory=list)
    url: str = ""

    def answer(self, path: str, body: str, *, status: int = 200, kind: str = "text/html") -> None:
        self.routes[path] = (status, kind, body.encode())


@contextmanager
def serving(peer: Peer) -> Iterator[Peer]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            path = urlsplit(self.path).path
            peer.hits.append(self.path)
            status, kind, body = peer.routes.get(path, (404, "text/plain", b"not found"))
            self.send_response(status)
            self.send_header("Content-Type", f"{kind}; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    peer.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield peer
    finally:
        server.shutdown()
        server.server_close()


def article_site() -> Peer:
    peer = Peer()
    peer.answer("/robots.txt", "", status=404, kind="text/plain")
    for path, (title, paras) in ARTICLES.items():
        peer.answer(path, page(title, paras))
    return peer


def searxng(articles_url: str) -> Peer:
    """Every query gets the same results, all pointing at the article pages."""
    results = [
        {"url": articles_url + path, "title": title, "content": paras[0][:120],
         "engine": "duckduckgo", "engines": ["duckduckgo"], "score": 1.0}
        for path, (title, paras) in ARTICLES.items()
    ]  # fmt: skip
    answer = {"query": "q", "number_of_results": len(results), "results": results,
              "answers": [], "corrections": [], "infoboxes": [], "suggestions": [],
              "unresponsive_engines": []}  # fmt: skip
    peer = Peer()
    peer.answer("/search", json.dumps(answer), kind="application/json")
    return peer


def company_site(*, up: bool) -> Peer:
    peer = Peer()
    if not up:  # the server answers, but every page fails
        peer.answer("/robots.txt", "", status=404, kind="text/plain")
        peer.answer("/", "down", status=503, kind="text/plain")
        return peer
    peer.answer("/robots.txt", "User-agent: *\nAllow: /\n", kind="text/plain")
    for path, (title, paras) in COMPANY.items():
        peer.answer(path, page(title, paras))
    return peer


def sitemap(peer: Peer) -> None:
    locs = "".join(f"<url><loc>{peer.url}{p}</loc></url>" for p in COMPANY)
    peer.answer(
        "/sitemap.xml",
        f'<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        f"{locs}</urlset>",
        kind="application/xml",
    )
