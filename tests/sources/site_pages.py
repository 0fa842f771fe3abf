"""A small company website for reader and site tests: pages with navigation, cookie banners
and footers around the main text, a robots.txt and a sitemap."""

from __future__ import annotations

from tests.sources.peers import Peer, Response

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
