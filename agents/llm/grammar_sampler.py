"""Grammar-constrained sampling that checks the sampled token first (llama.cpp's own strategy).

llama-cpp-python puts the grammar sampler into the chain before the other samplers, so every
generated token runs the grammar over the whole vocabulary (151,936 candidates for Qwen2.5):
constrained generation ran at 7.3-8.8 tok/s against 12.2-13.5 unconstrained on the 2-core
development machine (docs/benchmarks.md). llama.cpp's `common_sampler_sample` does it the
other way round: sample from the unconstrained chain, ask the grammar about that one token, and
only when the grammar rejects it apply the grammar to every candidate and sample again. Greedy
decoding gives the same tokens either way (the grammar only masks tokens out, so an accepted
unconstrained argmax is also the constrained argmax); with temperature the accepted token is a
draw from the unconstrained distribution that happens to be allowed, as in llama.cpp.

Hand-written on llama-cpp-python's C bindings because the package offers no such option; used
by `agents/llm/local.py` for every request with a JSON schema.
"""

from __future__ import annotations

import contextlib
import ctypes
from typing import Any

import numpy as np

# llama_token_data {int32 id; float logit; float p;}: 12 bytes, no padding
_TOKEN_DATA = np.dtype([("id", np.int32), ("logit", np.float32), ("p", np.float32)])


class GrammarCheckedSampler:
    """Stands in for llama-cpp-python's `LlamaSampler` (it only calls `sample` and `close`).

    `free` is the chain llama-cpp-python built without the grammar (penalties, top-k/p,
    temperature, greedy or dist); `grammar` is llama-cpp-python's `LlamaGrammar`."""

    def __init__(self, llama: Any, free: Any, grammar: Any) -> None:
        import llama_cpp

        self._c = llama_cpp
        self._free = free
        vocab = llama._model.vocab
        self._n_vocab = int(llama_cpp.llama_vocab_n_tokens(vocab))
        self._grammar = llama_cpp.llama_sampler_init_grammar(
            vocab, grammar._grammar.encode("utf-8"), grammar._root.encode("utf-8")
        )
        if not self._grammar:
            raise ValueError("llama.cpp could not parse the grammar")
        self._one = (llama_cpp.llama_token_data * 1)()
        self._one_array = llama_cpp.llama_token_data_array(
            data=self._one, size=1, selected=-1, sorted=False
        )
        # The full candidate buffer (1.8 MB for Qwen2.5) is allocated at the first rejection:
        # most calls need none or a few (docs/benchmarks.md, "grammar resampled").
        self._all: Any = None
        self.checked = 0  # tokens sampled
        self.resampled = 0  # of which the grammar rejected the unconstrained choice

    def sample(self, ctx: Any, idx: int = -1) -> int:
        c = self._c
        token = int(c.llama_sampler_sample(self._free.sampler, ctx.ctx, idx))
        self.checked += 1
        if not self._allows(token):
            self.resampled += 1
            token = self._constrained(ctx, idx)
        c.llama_sampler_accept(self._grammar, token)
        return token

    def _allows(self, token: int) -> bool:
        self._one[0].id = token  # type: ignore[assignment]
        self._one[0].logit = 0.0
        self._one[0].p = 0.0
        self._one_array.size = 1
        self._one_array.selected = -1
        self._one_array.sorted = False
        self._c.llama_sampler_apply(self._grammar, ctypes.byref(self._one_array))
        return bool(np.isfinite(self._one[0].logit))

    def _constrained(self, ctx: Any, idx: int) -> int:
        """The grammar over every candidate, then the unconstrained chain on what is left."""
        c = self._c
        logits = np.ctypeslib.as_array(c.llama_get_logits_ith(ctx.ctx, idx), shape=(self._n_vocab,))
        if self._all is None:
            self._all = np.zeros(self._n_vocab, dtype=_TOKEN_DATA)
        data = self._all
        data["id"] = np.arange(self._n_vocab, dtype=np.int32)
        data["logit"] = logits
        data["p"] = 0.0
        array = c.llama_token_data_array(
            data=data.ctypes.data_as(ctypes.POINTER(c.llama_token_data)),
            size=self._n_vocab,
            selected=-1,
            sorted=False,
        )
        c.llama_sampler_apply(self._grammar, ctypes.byref(array))
        c.llama_sampler_apply(self._free.sampler, ctypes.byref(array))
        chosen = ctypes.cast(array.data, ctypes.POINTER(c.llama_token_data))[array.selected]
        token = int(chosen.id)
        c.llama_sampler_accept(self._free.sampler, token)
        return token

    def close(self) -> None:
        if self._grammar:
            self._c.llama_sampler_free(self._grammar)
            self._grammar = None
        self._free.close()

    def __del__(self) -> None:
        with contextlib.suppress(Exception):  # interpreter shutdown: the bindings may be gone
            self.close()
