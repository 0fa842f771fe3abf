"""Source providers for research: model web search, the document corpus, and URL fetch.

Every provider implements `agents.sources.base.SourceProvider`; the research pipeline numbers
the sources they return and hands them to the researcher and writer models.
"""
