"""The metrics module: names, labels and the scrape-time gauges, without a database."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from kling_gateway import metrics


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def scrape(**counts: int) -> dict:
    def read() -> tuple[dict[str, int], dict[str, int]]:
        return ({"submitting": 1, "queued": counts.get("queued", 0), "submitted": 4,
                 "processing": 2}, {"tasks": counts.get("queued", 0), "callbacks": 7})

    return samples(metrics.render([metrics.TaskGauges(read)]).decode())


def test_the_task_gauges_come_from_the_reader_at_each_scrape():
    first, second = scrape(queued=3), scrape(queued=5)
    assert first[("kling_gateway_tasks", (("state", "queued"),))] == 3
    assert second[("kling_gateway_tasks", (("state", "queued"),))] == 5
    assert second[("kling_gateway_tasks", (("state", "processing"),))] == 2
    assert second[("kling_gateway_queue_depth", (("queue", "tasks"),))] == 5
    assert second[("kling_gateway_queue_depth", (("queue", "callbacks"),))] == 7


def test_money_is_counted_in_cny_by_what_was_bought():
    before = scrape()
    metrics.charged(12_500, task_id="t-1")
    metrics.charged(-10_000, task_id=None)
    metrics.refunded(12_500, task_id="t-1")
    after = scrape()

    def grew(name: str, kind: str) -> float:
        key = (name, (("kind", kind),))
        return after[key] - before.get(key, 0.0)

    assert grew("kling_gateway_charges_total", "task") == 1
    assert grew("kling_gateway_charged_cny_total", "task") == 1.25
    assert grew("kling_gateway_charged_cny_total", "selection") == 1.0
    assert grew("kling_gateway_refunds_total", "task") == 1
    assert grew("kling_gateway_refunded_cny_total", "task") == 1.25


def test_requests_and_upstream_calls_have_bounded_labels():
    metrics.request_served("videos.create_text2video", 200, 0.012)
    metrics.upstream_called("sim", "refused", 0.3)
    metrics.task_moved("succeed")
    metrics.callback_attempted("retrying")
    found = scrape()
    assert found[("kling_gateway_http_request_duration_seconds_bucket",
                  (("le", "0.025"), ("operation", "videos.create_text2video")))] >= 1
    assert found[("kling_gateway_upstream_requests_total",
                  (("channel", "sim"), ("outcome", "refused")))] >= 1
    assert found[("kling_gateway_task_transitions_total", (("state", "succeed"),))] >= 1
    assert found[("kling_gateway_callback_deliveries_total", (("outcome", "retrying"),))] >= 1
