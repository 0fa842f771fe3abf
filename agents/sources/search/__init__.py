"""Web search APIs behind the source-provider port: SearXNG, Tavily and Brave Search.

Each backend (`searxng.py`, `tavily.py`, `brave.py`) turns one query into `WebHit`s through the
provider's documented HTTP API; `SearchApiProvider` (provider.py) wraps a backend as a
`SourceProvider` and reads the pages the hits point at. Errors: see `errors.py`.
"""
