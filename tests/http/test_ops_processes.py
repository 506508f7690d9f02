"""Metrics and logs with several processes: counts add up over every process, and
``serve --workers N`` logs one JSON line per request from each worker."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import requests
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.parser import text_string_to_metric_families

from kling_gateway import metrics
from tests.support.processes import free_port, kling_gateway

COUNT_ONCE = """
import sys
from kling_gateway import metrics
if len(sys.argv) > 1:
    metrics.use_multiprocess_dir(sys.argv[1])  # what serve --workers N does after import
metrics.charged(25_000, task_id="t1")
metrics.upstream_called("sim", "ok", 0.2)
"""


def value(text: str, name: str, **labels: str) -> float:
    return sum(sample.value for family in text_string_to_metric_families(text)
               for sample in family.samples if sample.name == name and sample.labels == labels)


def run_counting_process(*args: str, env: dict[str, str]) -> None:
    subprocess.run([sys.executable, "-c", COUNT_ONCE, *args], env=env, check=True, timeout=60)


def test_processes_sharing_a_directory_add_up(tmp_path, monkeypatch):
    clean = {k: v for k, v in os.environ.items() if k != metrics.MULTIPROC_ENV}
    run_counting_process(env={**clean, metrics.MULTIPROC_ENV: str(tmp_path)})
    run_counting_process(str(tmp_path), env=clean)  # told after prometheus_client was imported

    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=str(tmp_path))
    text = generate_latest(registry).decode()
    assert value(text, "kling_gateway_charges_total", kind="task") == 2
    assert value(text, "kling_gateway_charged_cny_total", kind="task") == 5.0
    assert value(text, "kling_gateway_upstream_requests_total", channel="sim", outcome="ok") == 2

    monkeypatch.setenv(metrics.MULTIPROC_ENV, str(tmp_path))
    assert value(metrics.render().decode(), "kling_gateway_charges_total", kind="task") == 2


@pytest.mark.slow
def test_serve_with_two_workers_counts_and_logs_every_request(tmp_path):
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log_path = tmp_path / "serve.log"
    env = {"KLING_GATEWAY_DATABASE_URL": f"sqlite:///{tmp_path / 'gateway.sqlite3'}"}
    with kling_gateway("serve", "--port", str(port), "--workers", "2", "--no-worker",
                       env=env, ready_url=f"{base}/healthz", log_path=log_path):
        for _ in range(8):  # a new connection each: the workers share them out
            assert requests.get(f"{base}/readyz", timeout=10).status_code == 200
        scrapes = [requests.get(f"{base}/metrics", timeout=10).text for _ in range(4)]

    for text in scrapes:  # whichever worker answered, it reports both workers' requests
        assert value(text, "kling_gateway_http_requests_total",
                     operation="ops.readyz", status="200") == 8
    lines = [json.loads(line) for line in log_path.read_text().splitlines()
             if line.startswith("{")]
    ready = [line for line in lines if line["logger"] == "kling_gateway.access"
             and line["path"] == "/readyz"]
    assert len(ready) == 8
    assert all(line["status"] == 200 and line["request_id"] for line in ready)
