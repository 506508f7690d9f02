"""Every Prometheus metric of the gateway, and the text ``/metrics`` answers with.

Counters and histograms count in the process that did the work. With ``PROMETHEUS_MULTIPROC_DIR``
set (``serve --workers N`` sets up a fresh one), each process writes them to files in that
directory and a scrape served by any process adds up all of them. Every metric has labels, so
no value exists before first use; ``use_multiprocess_dir`` relies on that.

Task, queue and channel gauges are not counted here but read from the shared database when
scraped (``TaskGauges``, ``ChannelGauges``): every instance then reports the same numbers, and
nothing drifts when a process dies.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
    values,
)
from prometheus_client.core import GaugeMetricFamily, Metric

from kling_gateway.domain.money import UNITS_PER_CNY

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
"""The Prometheus text format every Prometheus version reads."""

_FAST = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
_SLOW = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0)

HTTP_REQUESTS = Counter(
    "kling_gateway_http_requests", "Requests answered, by operationId and HTTP status",
    ["operation", "status"])
HTTP_DURATION = Histogram(
    "kling_gateway_http_request_duration_seconds",
    "Time from the request to the end of its answer, by operationId", ["operation"],
    buckets=_FAST)
UPSTREAM_CALLS = Counter(
    "kling_gateway_upstream_requests",
    "Calls to upstream Kling channels, by channel and outcome (ok, refused, unreachable, "
    "ambiguous)", ["channel", "outcome"])
UPSTREAM_DURATION = Histogram(
    "kling_gateway_upstream_request_duration_seconds",
    "Duration of calls to upstream Kling channels, by channel and outcome",
    ["channel", "outcome"], buckets=_SLOW)
CHANNELS_TAKEN_OUT = Counter(
    "kling_gateway_channels_taken_out",
    "Channels taken out of rotation because Kling refused their keys or account, by channel "
    "and Kling's code", ["channel", "code"])
TASK_TRANSITIONS = Counter(
    "kling_gateway_task_transitions", "Task state changes, by the state moved to", ["state"])
CALLBACK_DELIVERIES = Counter(
    "kling_gateway_callback_deliveries",
    "Callback POSTs to clients, by outcome (delivered, retrying, abandoned)", ["outcome"])
CHARGES = Counter(
    "kling_gateway_charges", "Debits of a balance, by what was bought (task, selection)",
    ["kind"])
CHARGED_CNY = Counter(
    "kling_gateway_charged_cny", "Money debited, in CNY, by what was bought", ["kind"])
REFUNDS = Counter(
    "kling_gateway_refunds", "Charges given back, by what was bought (task, selection)",
    ["kind"])
REFUNDED_CNY = Counter(
    "kling_gateway_refunded_cny", "Money given back, in CNY, by what was bought", ["kind"])


def request_served(operation: str, status: int, seconds: float) -> None:
    HTTP_REQUESTS.labels(operation, str(status)).inc()
    HTTP_DURATION.labels(operation).observe(seconds)


def upstream_called(channel: str, outcome: str, seconds: float) -> None:
    UPSTREAM_CALLS.labels(channel, outcome).inc()
    UPSTREAM_DURATION.labels(channel, outcome).observe(seconds)


def channel_taken_out(channel: str, code: int) -> None:
    CHANNELS_TAKEN_OUT.labels(channel, str(code)).inc()


def task_moved(state: str) -> None:
    TASK_TRANSITIONS.labels(state).inc()


def callback_attempted(outcome: str) -> None:
    CALLBACK_DELIVERIES.labels(outcome).inc()


def charged(amount: int, *, task_id: str | None) -> None:
    """A debit of ``amount`` (1/10000 CNY, either sign) for a task, or else a selection."""
    kind = _kind(task_id)
    CHARGES.labels(kind).inc()
    CHARGED_CNY.labels(kind).inc(abs(amount) / UNITS_PER_CNY)


def refunded(amount: int, *, task_id: str | None) -> None:
    kind = _kind(task_id)
    REFUNDS.labels(kind).inc()
    REFUNDED_CNY.labels(kind).inc(abs(amount) / UNITS_PER_CNY)


def _kind(task_id: str | None) -> str:
    return "task" if task_id else "selection"


class TaskGauges:
    """``kling_gateway_tasks{state}`` for the unfinished states and
    ``kling_gateway_queue_depth{queue}``, read through ``read`` at each scrape. Finished tasks
    are counted by ``kling_gateway_task_transitions_total``: counting millions of final rows on
    every scrape would cost more than it tells."""

    def __init__(self, read: Callable[[], tuple[Mapping[str, int], Mapping[str, int]]]) -> None:
        self._read = read

    def collect(self) -> Iterator[Metric]:
        tasks, queues = self._read()
        by_state = GaugeMetricFamily("kling_gateway_tasks", "Unfinished tasks, by state",
                                     labels=["state"])
        for state, count in tasks.items():
            by_state.add_metric([state], count)
        depth = GaugeMetricFamily(
            "kling_gateway_queue_depth",
            "Work waiting: tasks queued for a free upstream slot, client callbacks not yet "
            "delivered", labels=["queue"])
        for queue, count in queues.items():
            depth.add_metric([queue], count)
        yield by_state
        yield depth


class ChannelGauges:
    """``kling_gateway_channel_out_of_rotation{channel}``, 1 while the channel gets no new work
    because Kling refused its keys or account, else 0; read through ``read`` at each scrape,
    so every instance reports the state all of them share."""

    def __init__(self, read: Callable[[], Iterable[tuple[str, bool]]]) -> None:
        self._read = read

    def collect(self) -> Iterator[Metric]:
        out = GaugeMetricFamily(
            "kling_gateway_channel_out_of_rotation",
            "1 while the channel is out of rotation (Kling refused its keys or account)",
            labels=["channel"])
        for channel, broken in self._read():
            out.add_metric([channel], int(broken))
        yield out


class _ThisProcess:
    """The process's own metrics (single-process mode), forwarded into a scrape registry."""

    def collect(self) -> Iterable[Metric]:
        return REGISTRY.collect()


def multiprocess_dir() -> str | None:
    return os.environ.get(MULTIPROC_ENV) or None


def use_multiprocess_dir(path: str) -> None:
    """Count in files under ``path`` from now on, in this process and in the processes it
    starts. prometheus_client chooses where values live when it is imported, from the
    environment; ``serve --workers N`` decides later, so the choice is made again here. That
    is safe because every metric above has labels: none has created a value yet."""
    os.environ[MULTIPROC_ENV] = path
    values.ValueClass = values.get_value_class()


def render(extra: Iterable[Any] = ()) -> bytes:
    """The scrape: every process's metrics (or this one's) and the ``extra`` collectors."""
    registry = CollectorRegistry(auto_describe=False)
    if multiprocess_dir():
        multiprocess.MultiProcessCollector(registry)
    else:
        registry.register(_ThisProcess())
    for collector in extra:
        registry.register(collector)
    return generate_latest(registry)
