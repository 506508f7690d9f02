"""Gateway, worker and simulator as separate real processes, as they run in production."""

from __future__ import annotations

import random
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass

import pytest
import requests

from kling_gateway.services import accounts, channels
from kling_gateway.storage import ledger
from kling_gateway.storage.db import database, open_database
from kling_gateway.storage.migrations import migrate
from kling_gateway.storage.models import LedgerEntry, Task, User
from kling_gateway.worker import webhooks
from tests.support.callbacks import callback_receiver
from tests.support.kling_client import KlingApi
from tests.support.processes import free_port, kling_gateway

pytestmark = pytest.mark.slow
SIM_AK, SIM_SK = "proc-ak", "proc-sk-0123456789abcdef0123456789ab"
T2V = "/v1/videos/text2video"


@dataclass
class Deployment:
    env: dict[str, str]
    simulator_url: str
    gateway_port: int
    ada: accounts.IssuedToken
    stack: ExitStack

    @property
    def gateway_url(self) -> str:
        return f"http://127.0.0.1:{self.gateway_port}"

    def api(self) -> KlingApi:
        return KlingApi(f"{self.gateway_url}/kling", self.ada.access_key, self.ada.secret_key)

    def start_gateway(self, *args: str) -> subprocess.Popen:
        # One process, so that a kill -9 takes the whole gateway down, as a crashed host would
        # (a killed parent leaves its uvicorn worker processes running).
        return self.stack.enter_context(kling_gateway(
            "serve", "--port", str(self.gateway_port), "--workers", "1", *args, env=self.env,
            ready_url=f"{self.gateway_url}/v1/openapi.json"))

    def upstream_jobs(self) -> list[dict]:
        sim = KlingApi(self.simulator_url, SIM_AK, SIM_SK)
        return sim.get(T2V, pageSize=500).json()["data"]


@pytest.fixture
def sim_task_seconds() -> float:
    return 1.0


@pytest.fixture
def deployment(database_url, sim_task_seconds) -> Iterator[Deployment]:
    """A simulator process, a database with a channel to it and a user 'ada' with 1000 CNY."""
    sim_port = free_port()
    env = {"KLING_GATEWAY_DATABASE_URL": database_url,
           "KLING_GATEWAY_CALLBACK_ALLOW_NETWORKS": "127.0.0.0/8",
           "KLING_GATEWAY_LOST_AFTER_SECONDS": "1",
           "KLING_GATEWAY_UPSTREAM_READ_TIMEOUT_SECONDS": "0.5"}
    with ExitStack() as stack:
        stack.enter_context(kling_gateway(
            "simulator", "--port", str(sim_port), "--access-key", SIM_AK, "--secret-key", SIM_SK,
            "--task-seconds", str(sim_task_seconds), "--concurrency", "500",
            ready_url=f"http://127.0.0.1:{sim_port}/v1/openapi.json"))
        open_database(database_url)
        migrate()
        channels.add_channel("sim", access_key=SIM_AK, secret_key=SIM_SK,
                             base_url=f"http://127.0.0.1:{sim_port}")
        accounts.create_user("ada", balance=1000 * 10_000)
        issued = accounts.create_token("ada")
        database.close()
        yield Deployment(env, f"http://127.0.0.1:{sim_port}", free_port(), issued, stack)
        for user in User.select():
            assert ledger.balance_matches_ledger(user.id)
        database.close()


@pytest.mark.parametrize("sim_task_seconds", [6.0])  # long enough to be seen processing
def test_tasks_finish_and_callbacks_arrive_with_no_client_polling(deployment):
    deployment.start_gateway("--no-worker")
    deployment.stack.enter_context(kling_gateway("worker", env=deployment.env))
    with callback_receiver() as receiver:
        task = deployment.api().create(T2V, {"prompt": "x", "external_task_id": "proc-1",
                                             "callback_url": receiver.url})
        calls = receiver.wait_for(3, timeout=60)

    assert [c["task_status"] for c in calls] == ["submitted", "processing", "succeed"]
    assert {c["task_id"] for c in calls} == {task["task_id"]}
    assert calls[-1]["task_info"] == {"external_task_id": "proc-1"}
    for headers, body in zip(receiver.headers, receiver.raw_bodies, strict=True):
        assert webhooks.verify(deployment.ada.secret_key, headers, body, now=time.time())
    assert Task.get_by_id(task["task_id"]).status == "succeed"


def test_a_killed_gateway_loses_nothing(deployment):
    """kill -9 during a burst of submits; after a restart every charged task ran upstream
    exactly once or was refunded, and the books balance."""
    gateway = deployment.start_gateway()
    api = deployment.api()
    outcomes: list[int] = []

    def submit(index: int) -> None:
        try:
            outcomes.append(api.post(T2V, {"prompt": f"burst {index}"}).status_code)
        except requests.RequestException:
            outcomes.append(-1)  # the connection died with the gateway

    threads = [threading.Thread(target=submit, args=(i,)) for i in range(30)]
    for thread in threads:
        thread.start()
    time.sleep(random.Random(7).uniform(0.05, 0.3))
    gateway.send_signal(signal.SIGKILL)
    gateway.wait()
    for thread in threads:
        thread.join()

    deployment.start_gateway()  # restart with its worker: it reconciles what the kill left
    open_database(deployment.env["KLING_GATEWAY_DATABASE_URL"])
    deadline = time.monotonic() + 90
    while Task.select().where(Task.status.not_in(["succeed", "failed"])).exists():
        assert time.monotonic() < deadline, [t.status for t in Task.select()]
        time.sleep(0.2)

    jobs_per_task: dict[str, int] = {}
    for job in deployment.upstream_jobs():
        gateway_id = job["task_info"]["external_task_id"]
        jobs_per_task[gateway_id] = jobs_per_task.get(gateway_id, 0) + 1
    for task in Task.select():
        refunds = (LedgerEntry.select()
                   .where((LedgerEntry.task == task.id) & (LedgerEntry.kind == "refund")).count())
        if task.status == "failed":
            assert refunds == 1 and jobs_per_task.get(task.id, 0) <= 1, task.id
        else:
            assert refunds == 0 and jobs_per_task.get(task.id) == 1, task.id
    assert set(jobs_per_task) <= {task.id for task in Task.select()}
    assert sum(code == 200 for code in outcomes) <= Task.select().count()


def test_two_gateways_and_two_workers_share_postgresql(deployment):
    if deployment.env["KLING_GATEWAY_DATABASE_URL"].startswith("sqlite"):
        pytest.skip("several gateway instances share PostgreSQL, not a SQLite file")
    deployment.start_gateway("--no-worker")
    second_port = free_port()
    deployment.stack.enter_context(kling_gateway(
        "serve", "--port", str(second_port), "--workers", "1", "--no-worker", env=deployment.env,
        ready_url=f"http://127.0.0.1:{second_port}/v1/openapi.json"))
    for _ in range(2):
        deployment.stack.enter_context(kling_gateway("worker", env=deployment.env))
    first = deployment.api()
    second = KlingApi(f"http://127.0.0.1:{second_port}", deployment.ada.access_key,
                      deployment.ada.secret_key)

    answers = []
    doomed = 0
    for index in range(40):
        api = first if index % 2 else second
        prompt = ("#sim-fail " if index % 7 == 0 else "#sim-unsafe " if index % 11 == 0
                  else "") + f"mixed {index}"
        doomed += prompt.startswith("#sim-fail")
        family = ("/v1/images/generations" if index % 3 == 0 else T2V)
        answers.append(api.post(family, {"prompt": prompt, "external_task_id": f"m{index}"}))
        if index % 5 == 0:  # reads through the other instance meanwhile
            (second if api is first else first).get(f"{T2V}/m{index}")

    open_database(deployment.env["KLING_GATEWAY_DATABASE_URL"])
    deadline = time.monotonic() + 90
    while Task.select().where(Task.status.not_in(["succeed", "failed"])).exists():
        assert time.monotonic() < deadline, [t.status for t in Task.select()]
        time.sleep(0.2)

    refused = [a for a in answers if a.status_code != 200]
    assert {a.json()["code"] for a in refused} == {1301}
    assert Task.select().count() == 40
    for task in Task.select():
        refunds = (LedgerEntry.select()
                   .where((LedgerEntry.task == task.id) & (LedgerEntry.kind == "refund")).count())
        assert refunds == (1 if task.status == "failed" else 0), task.id
    failed = Task.select().where(Task.status == "failed").count()
    assert failed == len(refused) + doomed
