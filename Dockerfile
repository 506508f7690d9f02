# kling-gateway: one image for the gateway (serve) and the worker.
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY openapi ./openapi
COPY src ./src
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

FROM python:3.11-slim
RUN useradd --create-home --uid 10001 gateway
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/*.whl && rm -rf /wheels
USER gateway
WORKDIR /home/gateway
ENV KLING_GATEWAY_DATABASE_URL=sqlite:////home/gateway/kling-gateway.sqlite3
EXPOSE 8000
# The in-process worker is off: run `kling-gateway worker` as its own service (see compose.yaml).
CMD ["kling-gateway", "serve", "--host", "0.0.0.0", "--port", "8000", "--workers", "2", "--no-worker"]
