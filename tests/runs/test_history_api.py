"""POST /flow_runs/history: runs counted by interval of their expected start and by state, with
the time they ran and how late they started."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from runs.models import Flow, FlowRun

pytestmark = pytest.mark.django_db

T0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
HOUR = 3600


def minutes(n: float) -> dt.datetime:
    return T0 + dt.timedelta(minutes=n)


def stamp(n: float) -> str:
    """minutes(n) as the API writes it."""
    return minutes(n).isoformat().replace("+00:00", "Z")


def run(flow, state_type, state_name, expected, started=None, run_time=0.0, **fields) -> FlowRun:
    return FlowRun.objects.create(
        flow=flow,
        name=f"{state_name}-{expected:%H%M}",
        state_type=state_type,
        state_name=state_name,
        state_timestamp=fields.pop("state_timestamp", started or expected),
        expected_start_time=expected,
        start_time=started,
        total_run_time=run_time,
        **fields,
    )


def history(api, **filters) -> list[dict]:
    body = {"history_start": T0.isoformat(), "history_end": minutes(180).isoformat(), "history_interval_seconds": HOUR}
    response = api.post("flow_runs/history", {**body, **filters})
    assert response.status_code == 200, response.content
    return response.json_body


def by_state(bucket: dict) -> dict[tuple[str, str], dict]:
    return {(row["state_type"], row["state_name"]): row for row in bucket["states"]}


def test_runs_are_counted_by_interval_and_state_with_run_time_and_lateness(api, flow):
    run(flow, "COMPLETED", "Completed", minutes(10), started=minutes(15), run_time=60.0)
    run(flow, "COMPLETED", "Completed", minutes(20), started=minutes(20), run_time=30.0)
    run(flow, "FAILED", "Failed", minutes(70), started=minutes(80), run_time=5.0)
    run(flow, "SCHEDULED", "Late", minutes(130))
    run(flow, "RUNNING", "Running", minutes(140), started=minutes(141), state_timestamp=minutes(141), run_time=12.0)
    run(flow, "COMPLETED", "Completed", minutes(-0.01))  # before the window
    run(flow, "COMPLETED", "Completed", minutes(180))  # the window's end is not in it

    before = timezone.now()
    buckets = history(api)
    after = timezone.now()

    assert [(b["interval_start"], b["interval_end"]) for b in buckets] == [
        (stamp(0), stamp(60)),
        (stamp(60), stamp(120)),
        (stamp(120), stamp(180)),
    ]
    first, second, third = (by_state(b) for b in buckets)
    # SQLite computes seconds from Julian days: equal to the millisecond, not to the bit.
    assert first == {
        ("COMPLETED", "Completed"): {
            "state_type": "COMPLETED",
            "state_name": "Completed",
            "count_runs": 2,
            "sum_estimated_run_time": 90.0,
            "sum_estimated_lateness": pytest.approx(300.0, abs=1e-3),
        }
    }
    assert second[("FAILED", "Failed")]["count_runs"] == 1
    assert second[("FAILED", "Failed")]["sum_estimated_lateness"] == pytest.approx(600.0, abs=1e-3)
    assert set(third) == {("SCHEDULED", "Late"), ("RUNNING", "Running")}

    late = third[("SCHEDULED", "Late")]
    assert late["count_runs"] == 1 and late["sum_estimated_run_time"] == 0.0
    # Not started: late by as long as it has been waiting.
    assert (before - minutes(130)).total_seconds() - 1 <= late["sum_estimated_lateness"]
    assert late["sum_estimated_lateness"] <= (after - minutes(130)).total_seconds() + 1

    running = third[("RUNNING", "Running")]
    assert running["sum_estimated_lateness"] == pytest.approx(60.0, abs=1e-3)
    # Running: its earlier run time plus the stretch since it entered RUNNING.
    assert 12.0 + (before - minutes(141)).total_seconds() - 1 <= running["sum_estimated_run_time"]
    assert running["sum_estimated_run_time"] <= 12.0 + (after - minutes(141)).total_seconds() + 1


def test_the_history_counts_only_the_runs_the_filter_selects(api, flow):
    other = Flow.objects.create(name="other")
    run(flow, "COMPLETED", "Completed", minutes(10))
    run(other, "COMPLETED", "Completed", minutes(11))
    run(other, "FAILED", "Failed", minutes(12))

    buckets = history(api, flows={"id": {"any_": [str(other.id)]}})

    first = by_state(buckets[0])
    assert {key: row["count_runs"] for key, row in first.items()} == {
        ("COMPLETED", "Completed"): 1,
        ("FAILED", "Failed"): 1,
    }
    assert buckets[1]["states"] == [] and buckets[2]["states"] == []


@pytest.mark.skipif(connection.vendor != "sqlite", reason="PostgreSQL picks its plan from table statistics")
def test_the_history_is_answered_from_an_index_without_reading_the_runs(api, flow):
    run(flow, "COMPLETED", "Completed", minutes(10), started=minutes(11), run_time=1.0)
    with CaptureQueriesContext(connection) as queries:
        history(api)
    # On SQLite, one statement per interval (runs.api.flow_runs._history_interval_by_interval).
    query, *others = [q["sql"] for q in queries.captured_queries if "GROUP BY" in q["sql"]]
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN QUERY PLAN {query}")
        plan = " ".join(str(row[-1]) for row in cursor.fetchall())
    assert "COVERING INDEX flow_run_expected_history" in plan, plan


def test_grouping_interval_by_interval_gives_what_grouping_all_at_once_gives(api, flow, monkeypatch):
    from runs.api import flow_runs

    run(flow, "COMPLETED", "Completed", minutes(0), started=minutes(3), run_time=60.0)
    run(flow, "COMPLETED", "Completed", minutes(59.99), started=minutes(61), run_time=30.0)
    run(flow, "COMPLETED", "Done early", minutes(60.01), started=minutes(60.01), run_time=1.0)
    run(flow, "FAILED", "Failed", minutes(179.5), started=minutes(200), run_time=5.0)
    run(flow, "RUNNING", "Running", minutes(100), started=minutes(101), run_time=2.0)
    run(flow, "PENDING", "Pending", minutes(180))  # past the window's end
    frozen = timezone.now()
    monkeypatch.setattr(flow_runs.timezone, "now", lambda: frozen)

    one_by_one = history(api)
    monkeypatch.setattr(flow_runs, "_group_interval_by_interval", lambda buckets: False)
    all_at_once = history(api)

    def rows(buckets):
        return [sorted(bucket["states"], key=lambda row: (row["state_type"], row["state_name"])) for bucket in buckets]

    assert rows(one_by_one) == rows(all_at_once)
    assert [sum(row["count_runs"] for row in bucket) for bucket in rows(one_by_one)] == [2, 2, 1]


def test_a_task_runs_history_filtered_by_their_flow_runs_counts_only_those_task_runs(api, flow):
    from runs.models import TaskRun

    chosen, other = run(flow, "COMPLETED", "Completed", minutes(5)), run(flow, "FAILED", "Failed", minutes(5))
    for parent, key in ((chosen, "a"), (chosen, "b"), (other, "c")):
        TaskRun.objects.create(
            flow_run=parent,
            name=key,
            task_key=key,
            dynamic_key="0",
            state_type="COMPLETED",
            state_name="Completed",
            expected_start_time=minutes(10),
        )
    body = {"history_start": T0.isoformat(), "history_end": minutes(180).isoformat(), "history_interval_seconds": HOUR}
    filters = {"flow_runs": {"id": {"any_": [str(chosen.id)]}}}

    response = api.post("task_runs/history", {**body, **filters})

    assert response.status_code == 200, response.content
    first = by_state(response.json_body[0])
    assert first[("COMPLETED", "Completed")]["count_runs"] == 2


def test_a_run_expected_exactly_at_an_intervals_start_is_counted_in_that_interval(api, flow):
    run(flow, "COMPLETED", "Completed", minutes(60), started=minutes(60), run_time=1.0)

    buckets = history(api)

    assert [len(bucket["states"]) for bucket in buckets] == [0, 1, 0]
