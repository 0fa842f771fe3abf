"""The loopback HTTP peer of the sources, research and LLM tests: it lives in
bench/research_peers.py, the one source the research benchmarks use too."""

from bench.research_peers import Peer, Response, Seen, running_peer

__all__ = ["Peer", "Response", "Seen", "running_peer"]
