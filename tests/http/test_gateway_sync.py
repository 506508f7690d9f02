"""Tasks finish on their own: the worker's sync passes, queueing, timeouts, crash recovery."""

from __future__ import annotations

import threading
from dataclasses import replace

from kling_gateway.domain.clock import now_ms
from kling_gateway.storage import tasks as task_store
from kling_gateway.storage.models import CallbackDelivery, Channel, Task
from kling_gateway.worker.loop import Worker
from kling_gateway.worker.policy import SyncPolicy
from kling_gateway.worker.queue import Drain
from kling_gateway.worker.syncer import Syncer
from tests.support.gateway import CNY

T2V = "/v1/videos/text2video"
LATER = 10**15  # a "now" by which every task is due


def statuses() -> dict[str, str]:
    return {task.id: task.status for task in Task.select()}


def test_tasks_finish_without_any_client_polling(gateway):
    gateway.add_upstream("sim")
    ada = gateway.tenant("ada")
    ids = [ada.jwt.create(T2V, {"prompt": f"p{i}"})["task_id"] for i in range(5)]
    syncer = gateway.syncer()

    gateway.clock.advance(5)  # the upstream is processing them
    assert syncer.run_once(now=LATER) == 5
    assert set(statuses().values()) == {"processing"}
    gateway.finish_upstream_tasks()
    syncer.run_once(now=LATER)

    assert set(statuses().values()) == {"succeed"}
    assert all(Task.get_by_id(i).result["videos"] for i in ids)


def test_polls_back_off_and_are_not_due_before_their_time(gateway):
    gateway.add_upstream("sim")
    ada = gateway.tenant("ada")
    task_id = ada.jwt.create(T2V, {"prompt": "x"})["task_id"]
    syncer = gateway.syncer(first_poll_ms=1000, backoff=2.0, poll_ceiling_ms=3000)

    assert syncer.run_once(now=now_ms()) == 0  # the first poll is 2 s away
    waits = []
    for _ in range(4):
        before = now_ms()
        assert syncer.run_once(now=LATER) == 1
        waits.append(Task.get_by_id(task_id).next_poll_at - before)
    assert [round(w, -3) for w in waits] == [1000, 2000, 3000, 3000]


def test_a_burst_over_the_channel_limit_is_queued_not_refused(gateway):
    upstream = gateway.add_upstream("sim")
    Channel.update(max_concurrency=2).execute()
    ada = gateway.tenant("ada")

    answers = [ada.key.post(T2V, {"prompt": f"p{i}"}) for i in range(6)]
    assert [a.status_code for a in answers] == [200] * 6
    assert {a.json()["data"]["task_status"] for a in answers} == {"submitted"}
    ids = [a.json()["data"]["task_id"] for a in answers]
    assert [statuses()[i] for i in ids] == ["submitted"] * 2 + ["queued"] * 4
    assert len(upstream.jobs()) == 2

    syncer = gateway.syncer()
    for _ in range(3):  # each round: finish the running pair, then the next two go up
        gateway.finish_upstream_tasks()
        syncer.run_once(now=LATER)
        syncer.run_once(now=LATER)
    assert set(statuses().values()) == {"succeed"}
    jobs = sorted(upstream.jobs(), key=lambda job: job.created_ms)
    assert [job.body["external_task_id"] for job in jobs] == ids  # oldest first
    assert [job.body["prompt"] for job in jobs] == [f"p{i}" for i in range(6)]  # as sent
    assert ada.balance == (1000 - 6 * 5) * CNY


def test_an_upstream_1303_queues_the_task(gateway):
    upstream = gateway.add_upstream("sim", concurrency=1)
    ada = gateway.tenant("ada")
    first = ada.jwt.create(T2V, {"prompt": "a"})["task_id"]
    second = ada.jwt.create(T2V, {"prompt": "b"})["task_id"]
    assert (statuses()[first], statuses()[second]) == ("submitted", "queued")

    gateway.finish_upstream_tasks()
    gateway.syncer().run_once(now=LATER)  # the first ends: its slot is used at once

    assert statuses()[second] == "submitted" and len(upstream.jobs()) == 2


def test_a_full_upstream_is_not_asked_again_until_one_of_its_tasks_ends(gateway):
    upstream = gateway.add_upstream("sim", concurrency=1)
    ada = gateway.tenant("ada")
    ada.jwt.create(T2V, {"prompt": "a"})
    ada.jwt.create(T2V, {"prompt": "b"})  # 1303: the channel is full at one task
    creates = _count_reads(upstream)
    third = ada.jwt.create(T2V, {"prompt": "c"})["task_id"]
    gateway.syncer().drain_queue(now=now_ms())

    assert statuses()[third] == "queued" and creates == []


def _full_channel_with_a_queue(gateway, *, running: int, queued: int):
    """A channel capped at ``running`` tasks, all running, and ``queued`` tasks waiting."""
    upstream = gateway.add_upstream("sim")
    Channel.update(max_concurrency=running).execute()
    ada = gateway.tenant("ada")
    ids = [ada.key.create(T2V, {"prompt": f"p{i}"})["task_id"] for i in range(running + queued)]
    assert [statuses()[i] for i in ids] == ["submitted"] * running + ["queued"] * queued
    return upstream, ids


def test_one_pass_sends_a_queued_task_for_every_slot_that_freed(gateway):
    upstream, ids = _full_channel_with_a_queue(gateway, running=3, queued=5)
    gateway.finish_upstream_tasks()

    gateway.syncer().run_once(now=LATER)

    jobs = sorted(upstream.jobs(), key=lambda job: job.created_ms)
    assert [job.body["external_task_id"] for job in jobs] == ids[:6]  # oldest first
    assert [statuses()[i] for i in ids[6:]] == ["queued"] * 2


def test_the_tasks_a_queue_waits_for_are_read_before_their_polls_are_due(gateway):
    upstream, ids = _full_channel_with_a_queue(gateway, running=2, queued=2)
    gateway.finish_upstream_tasks()
    reads = _count_reads(upstream)
    syncer = gateway.syncer(queue_watch_ms=60_000)

    assert syncer.drain_queue(now=now_ms()) == Drain(moved=0, waiting=True)  # just read
    assert reads == []
    assert syncer.drain_queue(now=LATER) == Drain(moved=2, waiting=False)  # a minute later
    assert [statuses()[i] for i in ids] == ["succeed"] * 2 + ["submitted"] * 2
    assert len(reads) == 1 + 2  # one page of the list, then the two creates


def test_a_look_at_a_task_the_queue_waits_for_puts_its_poll_off_without_backing_off(gateway):
    gateway.add_upstream("sim")
    Channel.update(max_concurrency=2).execute()
    ada = gateway.tenant("ada")
    first = ada.key.create(T2V, {"prompt": "first"})["task_id"]
    gateway.clock.advance(5)
    second = ada.key.create(T2V, {"prompt": "second"})["task_id"]
    third = ada.key.create(T2V, {"prompt": "third"})["task_id"]
    gateway.clock.advance(2)  # both processing upstream
    syncer = gateway.syncer(first_poll_ms=1_000, backoff=2.0)
    syncer.poll_due(now=LATER)
    polled = Task.get_by_id(second)
    assert polled.poll_count == 1
    gateway.clock.advance(4)  # the first ends, the second runs on

    before = now_ms()
    assert syncer.drain_queue(now=LATER).moved == 1

    assert [statuses()[i] for i in (first, second, third)] == [
        "succeed", "processing", "submitted"]
    looked = Task.get_by_id(second)
    assert looked.poll_count == 1 and looked.lease_owner is None
    assert before <= looked.synced_at <= now_ms()
    assert looked.next_poll_at == looked.synced_at + 2_000  # its interval, from the look


def test_a_task_sent_from_the_queue_starts_its_polls_afresh(gateway):
    _, (_, waiting) = _full_channel_with_a_queue(gateway, running=1, queued=1)
    syncer = gateway.syncer()
    for _ in range(3):  # it waits at the head of the line: no poll
        syncer.run_once(now=LATER)
    gateway.finish_upstream_tasks()

    before = now_ms()
    syncer.run_once(now=LATER)

    sent = Task.get_by_id(waiting)
    assert sent.status == "submitted" and sent.poll_count == 0
    assert before + 2_000 <= sent.next_poll_at <= now_ms() + 2_000


def test_a_pass_that_only_finds_the_queue_still_waiting_reports_no_work(gateway):
    _full_channel_with_a_queue(gateway, running=1, queued=2)
    syncer = gateway.syncer(queue_watch_ms=500)
    worker = Worker(gateway.context.settings, gateway.context.upstreams, policy=syncer.policy)

    assert syncer.run_once(now=now_ms()) == 0  # polls not due yet, no free slot
    assert worker._drain() == 0.5  # the worker looks again after the watch interval
    worker.syncer.close()


def test_submits_at_once_never_take_more_slots_than_the_channel_has(gateway):
    upstream = gateway.add_upstream("sim")
    Channel.update(max_concurrency=3).execute()
    ada = gateway.tenant("ada")
    start = threading.Barrier(10)

    def submit(index: int) -> None:
        start.wait()
        ada.key.create(T2V, {"prompt": f"p{index}"})

    threads = [threading.Thread(target=submit, args=(i,)) for i in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(upstream.jobs()) == 3
    assert sorted(statuses().values()) == ["queued"] * 7 + ["submitted"] * 3


def test_a_new_task_does_not_take_the_slot_a_queued_task_waits_for(gateway):
    upstream, (_, waiting) = _full_channel_with_a_queue(gateway, running=1, queued=1)
    gateway.finish_upstream_tasks()
    syncer = gateway.syncer()
    syncer.poll_due(now=LATER)  # the gateway sees the slot free

    late = gateway.tenant("bob").key.create(T2V, {"prompt": "late"})["task_id"]

    assert statuses()[late] == "queued" and len(upstream.jobs()) == 1
    syncer.drain_queue()
    assert (statuses()[waiting], statuses()[late]) == ("submitted", "queued")


def test_a_new_task_passes_tasks_queued_for_a_channel_it_does_not_use(gateway):
    _, (_, waiting) = _full_channel_with_a_queue(gateway, running=1, queued=1)
    other = gateway.add_upstream("v16")
    (Channel.update(allowed_models=["kling-v1-6"], max_concurrency=1)
     .where(Channel.name == "v16").execute())

    task = gateway.tenant("bob").key.create(T2V, {"prompt": "x", "model_name": "kling-v1-6"})

    assert statuses()[task["task_id"]] == "submitted" and len(other.jobs()) == 1
    assert statuses()[waiting] == "queued"


def test_only_the_worker_holding_the_head_of_the_line_sends_from_it(gateway):
    upstream, ids = _full_channel_with_a_queue(gateway, running=1, queued=3)
    gateway.finish_upstream_tasks()
    gateway.syncer("first").poll_due(now=LATER)  # a slot is free
    held = task_store.claim_queue_head("first", now_ms(), 1, 60_000)
    second = gateway.syncer("second")

    assert [task.id for task in held] == [ids[1]]
    assert second.drain_queue() == Drain(moved=0, waiting=True)
    assert len(upstream.jobs()) == 1  # nobody overtook the head
    task_store.release(ids[1], "first", 0, count_poll=False)
    assert second.drain_queue().moved == 1 and statuses()[ids[1]] == "submitted"


def test_queued_too_long_fails_and_is_refunded(gateway):
    gateway.add_upstream("sim")
    Channel.update(max_concurrency=1).execute()
    ada = gateway.tenant("ada")
    ada.jwt.create(T2V, {"prompt": "running"})
    waiting = ada.jwt.create(T2V, {"prompt": "waiting"})["task_id"]
    impatient = replace(gateway.context.settings, queue_timeout_seconds=0)
    Syncer(impatient, gateway.context.upstreams, "w").run_once(now=LATER)

    task = Task.get_by_id(waiting)
    assert task.status == "failed" and "no upstream slot" in task.status_msg
    assert ada.balance == 995 * CNY


def test_a_task_that_never_finishes_times_out_and_is_refunded(gateway):
    gateway.add_upstream("sim")
    ada = gateway.tenant("ada")
    task_id = ada.jwt.create(T2V, {"prompt": "forever"})["task_id"]
    short = replace(gateway.context.settings, task_timeout_seconds=0)
    Syncer(short, gateway.context.upstreams, "w").run_once(now=LATER)

    assert Task.get_by_id(task_id).status == "failed" and ada.balance == 1000 * CNY


def _lost_task(gateway, ada, *, on_channel: bool, upstream_has_it: bool) -> str:
    """A task as a crash leaves it: charged and 'submitting', the answer never recorded."""
    upstream = gateway.upstreams[0]
    task_id = ada.jwt.create(T2V, {"prompt": "x"})["task_id"]
    job = upstream.jobs()[-1]
    if not upstream_has_it:
        upstream.simulator.tasks._tasks.pop(job.task_id)
    channel = Channel.get().id if on_channel else None
    (Task.update(status="submitting", upstream_task_id=None, channel=channel)
     .where(Task.id == task_id).execute())
    return task_id


def test_crash_recovery_attaches_a_task_the_upstream_has(gateway):
    gateway.add_upstream("sim")
    ada = gateway.tenant("ada")
    task_id = _lost_task(gateway, ada, on_channel=True, upstream_has_it=True)
    gateway.syncer(lost_after_ms=0).run_once(now=LATER)

    task = Task.get_by_id(task_id)
    assert task.status == "submitted"
    assert task.upstream_task_id == gateway.upstreams[0].jobs()[0].task_id


def test_crash_recovery_fails_and_refunds_a_task_the_upstream_never_got(gateway):
    gateway.add_upstream("sim")
    ada = gateway.tenant("ada")
    task_id = _lost_task(gateway, ada, on_channel=True, upstream_has_it=False)
    gateway.syncer(lost_after_ms=0).run_once(now=LATER)

    assert Task.get_by_id(task_id).status == "failed" and ada.balance == 1000 * CNY


def test_crash_recovery_sends_a_task_that_never_left(gateway):
    upstream = gateway.add_upstream("sim")
    ada = gateway.tenant("ada")
    task_id = _lost_task(gateway, ada, on_channel=False, upstream_has_it=False)
    syncer = gateway.syncer(lost_after_ms=0)
    syncer.run_once(now=LATER)  # back into the queue ...
    syncer.run_once(now=LATER)  # ... and sent

    assert Task.get_by_id(task_id).status == "submitted"
    assert len(upstream.jobs()) == 1


def test_two_workers_never_claim_the_same_task(gateway):
    gateway.add_upstream("sim", concurrency=400)
    ada = gateway.tenant("ada", balance_cny=10_000)
    for i in range(300):
        ada.key.create(T2V, {"prompt": f"p{i}"})
    start = threading.Barrier(2)
    claims: dict[str, list[str]] = {}

    def claim(owner: str) -> None:
        start.wait()
        claims[owner] = [t.id for t in task_store.claim_due(owner, LATER, 200, 60_000)]

    threads = [threading.Thread(target=claim, args=(name,)) for name in ("w1", "w2")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert not set(claims["w1"]) & set(claims["w2"])
    assert len(claims["w1"]) + len(claims["w2"]) == 300


def test_two_workers_finish_300_tasks_and_refund_failures_once(gateway):
    gateway.add_upstream("sim", concurrency=400)
    ada = gateway.tenant("ada", balance_cny=10_000)
    for i in range(300):
        prompt = f"p{i} #sim-fail" if i % 10 == 0 else f"p{i}"
        ada.key.create(T2V, {"prompt": prompt})
    gateway.finish_upstream_tasks()
    workers = [gateway.syncer(owner, threads=8) for owner in ("w1", "w2")]

    threads = [threading.Thread(target=lambda w=w: [w.run_once(now=LATER) for _ in range(3)])
               for w in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    done = statuses()
    assert sum(s == "succeed" for s in done.values()) == 270
    assert sum(s == "failed" for s in done.values()) == 30
    assert len(gateway.charges("refund")) == 30
    assert ada.balance == (10_000 - 270 * 5) * CNY


def test_polling_policy_has_a_ceiling():
    policy = SyncPolicy(first_poll_ms=2000, backoff=1.5, poll_ceiling_ms=30_000)
    assert [policy.next_poll_in(n) for n in (0, 1, 2, 10)] == [2000, 3000, 4500, 30_000]



def test_many_running_tasks_are_read_from_the_upstream_list(gateway):
    upstream = gateway.add_upstream("sim", concurrency=100)
    ada = gateway.tenant("ada")
    for i in range(30):
        ada.key.create(T2V, {"prompt": f"p{i}"})
    gateway.finish_upstream_tasks()
    queries: list[str] = []
    upstream.simulator.before_call = (  # count the upstream reads the worker makes
        lambda create_body=None, _real=upstream.simulator.before_call:
        queries.append("read") or _real(create_body))

    gateway.syncer(list_from=20, list_page_size=500).run_once(now=LATER)

    assert set(statuses().values()) == {"succeed"}
    assert len(queries) == 1  # one list page instead of 30 queries


def test_the_list_is_not_used_for_a_few_tasks(gateway):
    upstream = gateway.add_upstream("sim")
    ada = gateway.tenant("ada")
    for i in range(3):
        ada.key.create(T2V, {"prompt": f"p{i}"})
    gateway.finish_upstream_tasks()
    queries: list[str] = []
    upstream.simulator.before_call = (
        lambda create_body=None, _real=upstream.simulator.before_call:
        queries.append("read") or _real(create_body))

    gateway.syncer(list_from=20).run_once(now=LATER)
    assert set(statuses().values()) == {"succeed"} and len(queries) == 3


def _count_reads(upstream) -> list[str]:
    queries: list[str] = []
    upstream.simulator.before_call = (  # count the upstream reads the worker makes
        lambda create_body=None, _real=upstream.simulator.before_call:
        queries.append("read") or _real(create_body))
    return queries


def test_the_oldest_tasks_are_found_deep_in_the_list(gateway):
    upstream = gateway.add_upstream("sim", concurrency=100)
    ada = gateway.tenant("ada")
    ids = [ada.key.create(T2V, {"prompt": f"p{i}"})["task_id"] for i in range(20)]
    gateway.clock.advance(5)  # all processing upstream
    Task.update(next_poll_at=2 * LATER).where(Task.id.in_(ids[5:])).execute()  # not yet due
    queries = _count_reads(upstream)

    # the 5 due are the oldest: the last of 4 pages of 5, newest first
    gateway.syncer(batch=5, list_from=3, list_page_size=5).run_once(now=LATER)

    assert {i for i, s in statuses().items() if s == "processing"} == set(ids[:5])
    assert len(queries) == 4  # four list pages, no single queries


def test_tasks_finished_since_do_not_hide_the_oldest_running_ones(gateway):
    upstream = gateway.add_upstream("sim", concurrency=100)
    ada = gateway.tenant("ada")
    ids = [ada.key.create(T2V, {"prompt": f"p{i}"})["task_id"] for i in range(20)]
    gateway.clock.advance(5)
    Task.update(status="succeed").where(Task.id.in_(ids[5:])).execute()  # newer ones are done
    queries = _count_reads(upstream)

    gateway.syncer(list_from=3, list_page_size=5).run_once(now=LATER)

    assert {i for i, s in statuses().items() if s == "processing"} == set(ids[:5])
    assert len(queries) == 4  # down to the fourth page, where the running ones are


def test_the_walk_stops_where_the_list_is_older_than_every_wanted_task(gateway):
    upstream = gateway.add_upstream("sim", concurrency=100)
    ada = gateway.tenant("ada")
    old = [ada.key.create(T2V, {"prompt": f"old{i}"})["task_id"] for i in range(10)]
    gateway.clock.advance(60)
    new = [ada.key.create(T2V, {"prompt": f"new{i}"})["task_id"] for i in range(10)]
    gateway.clock.advance(5)
    Task.update(status="succeed").where(Task.id.in_(old)).execute()
    for task in Task.select().where(Task.id.in_(new)):  # our clock and Kling's agree
        created = upstream.simulator.tasks._tasks[task.upstream_task_id].created_ms
        Task.update(created_at=created).where(Task.id == task.id).execute()
    lost = Task.get_by_id(new[0]).upstream_task_id
    upstream.simulator.tasks._tasks.pop(lost)  # Kling no longer lists it
    queries = _count_reads(upstream)

    gateway.syncer(list_from=3, list_page_size=5, list_slack_ms=0).run_once(now=LATER)

    assert {i for i, s in statuses().items() if s == "processing"} == set(new[1:])
    assert len(queries) == 2 + 1  # two pages (the second ends in older tasks), then the lost
    # one on its own


def test_one_walk_of_the_list_reads_every_due_task_of_the_channel(gateway):
    upstream = gateway.add_upstream("sim", concurrency=100)
    ada = gateway.tenant("ada")
    for i in range(20):
        ada.key.create(T2V, {"prompt": f"p{i}"})
    gateway.clock.advance(5)
    queries = _count_reads(upstream)

    # a batch of 5 starts the walk; the other 15 due tasks of the channel come along
    assert gateway.syncer(batch=5, list_from=3, list_page_size=5).run_once(now=LATER) == 20

    assert set(statuses().values()) == {"processing"} and len(queries) == 4


def test_a_walk_of_the_list_also_reads_the_tasks_due_soon(gateway):
    gateway.add_upstream("sim", concurrency=100)
    ada = gateway.tenant("ada")
    ids = [ada.key.create(T2V, {"prompt": f"p{i}"})["task_id"] for i in range(30)]
    gateway.clock.advance(5)
    Task.update(next_poll_at=LATER + 4_000).where(Task.id.in_(ids[10:20])).execute()
    Task.update(next_poll_at=LATER + 6_000).where(Task.id.in_(ids[20:])).execute()

    gateway.syncer(list_from=3, list_ahead_ms=5_000).run_once(now=LATER)

    assert {i for i, s in statuses().items() if s == "processing"} == set(ids[:20])


def test_a_listed_task_whose_state_stays_only_records_the_poll(gateway):
    upstream = gateway.add_upstream("sim", concurrency=100)
    ada = gateway.tenant("ada")
    for i in range(20):
        ada.key.create(T2V, {"prompt": f"p{i}"})
    gateway.clock.advance(5)
    syncer = gateway.syncer("w", list_from=3, first_poll_ms=1000, backoff=2.0)
    syncer.run_once(now=LATER)  # processing now
    before = {task.id: task for task in Task.select()}
    queries = _count_reads(upstream)

    started = now_ms()
    syncer.run_once(now=LATER)

    assert len(queries) == 1
    for task in Task.select():
        old = before[task.id]
        assert (task.status, task.updated_at) == ("processing", old.updated_at)
        assert task.poll_count == old.poll_count + 1 and task.synced_at >= started
        assert task.next_poll_at == task.synced_at + 1000 * 2 ** old.poll_count
        assert task.lease_owner is None and task.lease_until is None


def test_a_listed_task_past_its_time_limit_fails_and_is_refunded(gateway):
    gateway.add_upstream("sim", concurrency=100)
    ada = gateway.tenant("ada")
    for i in range(20):
        ada.key.create(T2V, {"prompt": f"p{i}"})
    short = replace(gateway.context.settings, task_timeout_seconds=0)
    syncer = Syncer(short, gateway.context.upstreams, "w", SyncPolicy(list_from=3))
    syncer.run_once(now=LATER)

    assert set(statuses().values()) == {"failed"} and ada.balance == 1000 * CNY
    assert all(t.lease_owner is None for t in Task.select())


def test_finished_listed_tasks_succeed_on_the_state_machine(gateway):
    gateway.add_upstream("sim", concurrency=100)
    ada = gateway.tenant("ada")
    for i in range(25):
        prompt = f"p{i} #sim-fail" if i % 5 == 0 else f"p{i}"
        ada.key.create(T2V, {"prompt": prompt, "callback_url": "http://127.0.0.1:9/cb"})
    gateway.finish_upstream_tasks()
    gateway.syncer(list_from=3).run_once(now=LATER)

    done = statuses()
    assert sum(s == "succeed" for s in done.values()) == 20
    assert sum(s == "failed" for s in done.values()) == 5
    assert len(gateway.charges("refund")) == 5
    # each task's client heard submitted, then its final state (processing was skipped)
    assert CallbackDelivery.select().count() == 25 * 2


def test_a_stopping_worker_hands_back_its_leases(gateway):
    gateway.add_upstream("sim")
    ada = gateway.tenant("ada")
    for i in range(3):
        ada.key.create(T2V, {"prompt": f"p{i}"})
    syncer = gateway.syncer("stopping")
    held = task_store.claim_due("stopping", LATER, 10, 60_000)  # as if a pass were cut short
    assert len(held) == 3 and all(Task.get_by_id(t.id).lease_owner for t in held)

    syncer.close()

    assert all(t.lease_owner is None and t.lease_until is None for t in Task.select())
    assert len(task_store.claim_due("another", LATER, 10, 60_000)) == 3
