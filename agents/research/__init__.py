"""The /research pipeline: plan → parallel research → write → AI discovery → use cases → store.

Entry point: `agents.research.pipeline.research_pipeline(ResearchDeps(...))`.
"""
