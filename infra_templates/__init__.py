"""The generated repository: Jinja2 templates (repo/) and the agent runtime (runtime/).

Files under runtime/ and repo_tests/ are copied verbatim into the generated repository; files
under repo/ ending in .j2 are rendered by agents.deploy.render.
"""
