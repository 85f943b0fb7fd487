"""Fill our PostgreSQL schema with a long history of runs, fast: COPY, not the ORM per row.

The shape of the history (see `History`): runs arrive at a steady rate (5,000 a day by default),
so 10,000 runs are two days of history and 1,000,000 are 200 days, and the recent windows the
dashboard reads (24 hours, 7 days) hold about as many runs at either size; only the depth of
history grows. Most runs are terminal (Completed, some Failed, Crashed, Cancelled), a few are
Pending or Running now, a few Scheduled in the coming week. 70 % come from deployments on a
process work pool. Each run that ran has 0-20 task runs (10 on average), each a child of the run.

Every row is what the server itself would have written (runs.orchestration.bookkeeping): a
flow run's state history Scheduled -> Pending -> Running -> final, its denormalised columns
(state_type/name/timestamp and the `state` pointer, start and end time, total run time, run
count, expected and next scheduled start) taken from its last state, state_details in the
server's compact form. Columns this module does not set get the model field's default, read from
the models themselves (`Columns`), so a field added later still gets a valid value.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

ADJECTIVES = ["amber", "brave", "calm", "daring", "eager", "fuzzy", "gentle", "happy", "icy", "jolly", "keen", "lucky"]
ANIMALS = ["otter", "falcon", "lynx", "heron", "badger", "marmot", "orca", "panda", "quail", "raven", "stoat", "tapir"]
TAGS = [[], ["prod"], ["prod", "nightly"], ["dev"], ["etl", "prod"], ["team-a"], ["team-b", "prod"]]
# Final states of runs in history, with their weights.
FINAL_MIX = [("COMPLETED", "Completed", 88), ("FAILED", "Failed", 6), ("CRASHED", "Crashed", 2), ("CANCELLED", "Cancelled", 4)]  # fmt: skip
TASK_NAMES = ["extract", "transform", "load", "validate", "notify"]
SCHEDULED_PER_DEPLOYMENT = 100  # the scheduler's default max_runs


@dataclass(frozen=True)
class History:
    runs: int
    runs_per_day: int = 5_000
    tasks_per_run: int = 10  # on average, uniform 0..2x
    task_states: str = "full"  # "full": Pending, Running, final; "final": the final state only
    # Scheduled in the coming week: this share of a short history, at most what the scheduler
    # keeps ahead (100 runs per deployment) in a long one.
    scheduled_share: float = 0.02
    # Pending or Running now: this share of a short history, at most an hour of arrivals in a
    # long one (how many runs are in flight depends on the rate, not on the history's length).
    active_share: float = 0.01
    deployment_share: float = 0.7
    seed: int = 1

    @property
    def days(self) -> float:
        return self.runs / self.runs_per_day


def uuid7_at(moment: dt.datetime, rng: random.Random) -> uuid.UUID:
    """A version-7 UUID for a row created at `moment` (ours are time-ordered, orchestrator.lib.ids)."""
    millis = int(moment.timestamp() * 1000)
    bits = rng.getrandbits(74)
    value = (millis << 80) | (0x7 << 76) | ((bits >> 62) << 64) | (0x2 << 62) | (bits & ((1 << 62) - 1))
    return uuid.UUID(int=value)


def zulu(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


class Columns:
    """One table's COPY column list: the columns we generate, then every other concrete field of
    the model with its default (the same for every row, appended as one tuple)."""

    def __init__(self, model, generated: list[str]):
        fields = model._meta.concrete_fields
        by_column = {f.column: f for f in fields}
        missing = [c for c in generated if c not in by_column]
        if missing:
            raise RuntimeError(f"{model._meta.db_table} has no column {missing}: the loader is out of date")
        self.table = model._meta.db_table
        rest = [f for f in fields if f.column not in generated]
        self.names = [*generated, *(f.column for f in rest)]
        self.constants = tuple(self._default(f) for f in rest)

    @staticmethod
    def _default(field) -> Any:
        value = field.get_default() if field.has_default() else None
        if value is None and not field.null and field.get_internal_type() == "JSONField":
            value = {}
        if field.get_internal_type() == "JSONField" and value is not None:
            return json.dumps(value)
        return value

    def copy_sql(self) -> str:
        return f'COPY "{self.table}" ({", ".join(f"{chr(34)}{c}{chr(34)}" for c in self.names)}) FROM STDIN'


FLOW_RUN_COLUMNS = [
    "id", "created", "updated", "name", "flow_id", "state_id", "state_type", "state_name", "state_timestamp",
    "run_count", "expected_start_time", "next_scheduled_start_time", "start_time", "end_time", "total_run_time",
    "tags", "parameters", "deployment_id", "deployment_version", "work_queue_id", "work_queue_name", "work_pool_id",
    "work_pool_name", "auto_scheduled", "flow_version",
]  # fmt: skip
STATE_COLUMNS = ["id", "created", "type", "name", "timestamp", "message", "state_details"]
TASK_RUN_COLUMNS = [
    "id", "created", "updated", "name", "flow_run_id", "state_id", "state_type", "state_name", "state_timestamp",
    "run_count", "expected_start_time", "start_time", "end_time", "total_run_time", "task_key", "dynamic_key",
    "task_inputs", "flow_run_run_count", "tags",
]  # fmt: skip


@dataclass
class Target:
    """The objects the runs belong to, made with the ORM before the load."""

    flows: list[tuple[uuid.UUID, str]]
    # (deployment id, its flow id, work queue id, work queue name, work pool id, work pool name)
    deployments: list[tuple[uuid.UUID, uuid.UUID, uuid.UUID, str, uuid.UUID, str]]


class Generator:
    """Yields rows for the four tables, run by run, in creation order."""

    def __init__(self, history: History, target: Target, now: dt.datetime):
        self.h = history
        self.target = target
        self.now = now
        self.rng = random.Random(history.seed)
        self.final_types = [(t, n) for t, n, w in FINAL_MIX for _ in range(w)]
        self.tag_json = [json.dumps(tags) for tags in TAGS]
        self.counts = {"flow_runs": 0, "flow_run_states": 0, "task_runs": 0, "task_run_states": 0}

    def plan(self) -> Iterator[tuple[dt.datetime, str]]:
        """(expected start, kind) of every run, oldest first: history, then active, then scheduled."""
        h, rng = self.h, self.rng
        scheduled = min(round(h.runs * h.scheduled_share), SCHEDULED_PER_DEPLOYMENT * len(self.target.deployments))
        active = min(round(h.runs * h.active_share), round(h.runs_per_day / 24))
        past = h.runs - scheduled - active
        first = self.now - dt.timedelta(days=h.days)
        step = (self.now - dt.timedelta(hours=1) - first) / max(1, past)
        for i in range(past):
            yield first + step * i + dt.timedelta(seconds=rng.random() * 30), "final"
        for i in range(active):  # started in the last hour, the newest a few seconds ago
            yield self.now - dt.timedelta(hours=1) + dt.timedelta(minutes=59) * (i / max(1, active)), "active"
        for i in range(scheduled):
            yield self.now + dt.timedelta(hours=1) + dt.timedelta(days=7) * (i / max(1, scheduled)), "scheduled"

    def rows(self, flow_runs, flow_states, task_runs, task_states, progress=None, every: int = 100_000) -> None:
        """Generate every run, calling each sink's write_row(tuple) (a COPY stream, or anything
        with that method), and progress(n) every `every` flow runs."""
        rng, h = self.rng, self.h
        for i, (expected, kind) in enumerate(self.plan()):
            if progress and i and i % every == 0:
                progress(i)
            if rng.random() < h.deployment_share:
                deployment_id, flow_id, queue_id, queue_name, pool_id, pool_name = rng.choice(self.target.deployments)
                created = expected - dt.timedelta(minutes=10)
                dep = (deployment_id, "1", queue_id, queue_name, pool_id, pool_name, True)
            else:
                flow_id = rng.choice(self.target.flows)[0]
                created = expected - dt.timedelta(seconds=1)
                dep = (None, None, None, None, None, None, False)
            if kind == "scheduled":  # made by the scheduler some time in the last hour
                created = self.now - dt.timedelta(seconds=3600 * rng.random())
            run_id = uuid7_at(created, rng)
            details = f'{{"flow_run_id": "{run_id}"}}'
            # The state history, oldest first: (type, name, timestamp, message, details).
            states = [("SCHEDULED", "Scheduled", created, None, f'{{"flow_run_id": "{run_id}", "scheduled_time": "{zulu(expected)}"}}')]  # fmt: skip
            start = end = None
            run_time = 0.0
            if kind == "final" or kind == "active":
                pending = expected + dt.timedelta(seconds=0.5 + rng.random() * 4)
                states.append(("PENDING", "Pending", pending, None, details))
                if kind == "active" and rng.random() < 0.3:
                    pass  # waiting for infrastructure
                else:
                    start = pending + dt.timedelta(seconds=1 + rng.random())
                    states.append(("RUNNING", "Running", start, None, details))
            if kind == "final":
                final_type, final_name = rng.choice(self.final_types)
                end = start + dt.timedelta(seconds=1 + rng.expovariate(1 / 120))
                if final_type == "CANCELLED":
                    cancelling = end - dt.timedelta(seconds=0.5)
                    states.append(("CANCELLING", "Cancelling", cancelling, "cancelled by a user", details))
                    run_time = (cancelling - start).total_seconds()
                else:
                    run_time = (end - start).total_seconds()
                message = {"FAILED": "Flow run encountered an exception: ValueError", "CRASHED": "Process exited"}
                states.append((final_type, final_name, end, message.get(final_type), details))
            state_ids = []
            for state_type, name, at, message, state_details in states:
                state_id = uuid7_at(at, rng)
                state_ids.append(state_id)
                flow_states.write_row((state_id, at, state_type, name, at, message, state_details, run_id))
            last = states[-1]
            flow_runs.write_row(
                (
                    run_id, created, last[2], f"{ADJECTIVES[i % 12]}-{ANIMALS[(i // 12) % 12]}", flow_id,
                    state_ids[-1], last[0], last[1], last[2], 1 if start else 0, expected,
                    expected if last[0] == "SCHEDULED" else None, start, end, round(run_time, 6),
                    self.tag_json[i % len(self.tag_json)], f'{{"batch": {i % 100}}}', *dep[:6], dep[6], "1.0",
                )
            )  # fmt: skip
            self.counts["flow_runs"] += 1
            self.counts["flow_run_states"] += len(states)
            if start:
                self._task_runs(run_id, start, end or self.now, last[0], task_runs, task_states)

    def _task_runs(self, flow_run_id, start, end, flow_state, task_runs, task_states) -> None:
        rng = self.rng
        count = rng.randint(0, 2 * self.h.tasks_per_run)
        span = max(0.001, (end - start).total_seconds())
        for j in range(count):
            task = TASK_NAMES[j % len(TASK_NAMES)]
            pending = start + dt.timedelta(seconds=span * j / max(1, count))
            running = pending + dt.timedelta(milliseconds=5)
            finished = running + dt.timedelta(seconds=span / max(1, count) * 0.8)
            final = ("COMPLETED", "Completed")
            if j == count - 1 and flow_state in ("FAILED", "CRASHED", "CANCELLED", "RUNNING"):
                final = (flow_state, flow_state.title())
            ended = None if final[0] == "RUNNING" else finished
            task_id = uuid7_at(pending, rng)
            details = f'{{"flow_run_id": "{flow_run_id}", "task_run_id": "{task_id}"}}'
            states = [(final[0], final[1], ended or running)]
            if self.h.task_states == "full":
                states = [("PENDING", "Pending", pending), ("RUNNING", "Running", running)]
                if final[0] != "RUNNING":
                    states.append((final[0], final[1], finished))
            state_id = None
            for state_type, name, at in states:
                state_id = uuid7_at(at, rng)
                task_states.write_row((state_id, at, state_type, name, at, None, details, task_id))
            task_runs.write_row(
                (
                    task_id, pending, states[-1][2], f"{task}-{j}", flow_run_id, state_id, final[0], final[1],
                    states[-1][2], 1, pending, running, ended, round((finished - running).total_seconds(), 6) if ended else 0.0,
                    f"{task}-{j % len(TASK_NAMES)}", str(j), "{}", 1, "[]",
                )
            )  # fmt: skip
            self.counts["task_runs"] += 1
            self.counts["task_run_states"] += len(states)
