"""orchestrator.lib.rows reads and writes exactly what the ORM would, on either database."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.models import Max
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from events.models import Event, EventResource
from orchestrator.lib import rows
from runs.models import Flow, FlowRun, FlowRunState

pytestmark = pytest.mark.django_db


@pytest.fixture
def run():
    flow = Flow.objects.create(name="rows-flow", labels={"team": "data"})
    run = FlowRun.objects.create(flow=flow, name="rows-run", tags=["a", "b"], parameters={"x": [1, 2]})
    state = FlowRunState.objects.create(
        flow_run=run, type="RUNNING", name="Running", state_details={"flow_run_id": str(run.pk)}
    )
    run.state = state
    run.total_run_time = 1.5
    run.save()
    return run


def test_a_fetched_run_equals_the_orm_instance_with_its_state_attached(run):
    fetched = rows.fetch(FlowRun, run.pk, related="state", for_update=True)
    expected = FlowRun.objects.select_related("state").get(pk=run.pk)
    for field in FlowRun._meta.concrete_fields:
        assert getattr(fetched, field.attname) == getattr(expected, field.attname), field.name
    assert isinstance(fetched.flow_id, uuid.UUID)
    assert fetched.state == expected.state
    assert fetched.state.state_details == {"flow_run_id": str(run.pk)}
    assert fetched._state.adding is False


def test_fetching_a_missing_run_raises_does_not_exist():
    with pytest.raises(FlowRun.DoesNotExist):
        rows.fetch(FlowRun, uuid.uuid4(), related="state")


def test_a_run_without_a_state_is_fetched_with_none_cached(run):
    bare = FlowRun.objects.create(flow_id=run.flow_id, name="no-state")
    fetched = rows.fetch(FlowRun, bare.pk, related="state")
    assert fetched.state is None


def test_max_of_a_reverse_relation_is_read_with_the_row_as_annotate_would_name_it(run):
    later = FlowRunState.objects.create(
        flow_run=run, type="COMPLETED", name="Completed", timestamp=run.state.timestamp + dt.timedelta(seconds=3)
    )
    fetched = rows.fetch(FlowRun, run.pk, related="state", for_update=True, max_of="states__timestamp")
    expected = FlowRun.objects.annotate(Max("states__timestamp")).get(pk=run.pk)
    assert fetched.states__timestamp__max == expected.states__timestamp__max == later.timestamp
    assert fetched.state == run.state  # the related row still reads from its own columns
    assert fetched.state.state_details == {"flow_run_id": str(run.pk)}


def test_max_of_a_run_without_states_is_none(run):
    bare = FlowRun.objects.create(flow_id=run.flow_id, name="no-state")
    assert rows.fetch(FlowRun, bare.pk, related="state", max_of="states__timestamp").states__timestamp__max is None


def test_an_inserted_row_reads_back_through_the_orm(run):
    stamp = timezone.now() + dt.timedelta(seconds=1)
    state = FlowRunState(flow_run=run, type="COMPLETED", name="Completed", timestamp=stamp, data={"k": "v"})
    rows.insert(state)
    stored = FlowRunState.objects.get(pk=state.pk)
    assert (stored.type, stored.timestamp, stored.data, stored.flow_run_id) == ("COMPLETED", stamp, {"k": "v"}, run.pk)
    assert state._state.adding is False


def test_insert_with_ignore_conflicts_skips_a_row_already_stored():
    now = timezone.now()
    event = Event(id=uuid.uuid4(), occurred=now, event="x.y", resource_id="r", resource={"prefect.resource.id": "r"})
    rows.insert(event, ignore_conflicts=True)
    rows.insert(event, ignore_conflicts=True)
    assert Event.objects.filter(pk=event.pk).count() == 1
    with pytest.raises(IntegrityError), transaction.atomic():
        rows.insert(event)


def test_insert_leaves_auto_incremented_keys_to_the_database():
    now = timezone.now()
    event = Event.objects.create(id=uuid.uuid4(), occurred=now, event="x.y", resource_id="r", resource={})
    rows.insert(
        *[
            EventResource(event_id=event.pk, occurred=now, resource_id=f"r{i}", resource_role="", resource={})
            for i in range(3)
        ]
    )
    assert sorted(EventResource.objects.filter(event_id=event.pk).values_list("resource_id", flat=True)) == [
        "r0",
        "r1",
        "r2",
    ]


def test_update_writes_every_column_as_save_would(run):
    fetched = rows.fetch(FlowRun, run.pk, related="state")
    fetched.state_type = "COMPLETED"
    fetched.end_time = timezone.now()
    fetched.empirical_policy = {**fetched.empirical_policy, "resuming": True}
    assert rows.update(fetched) == 1
    stored = FlowRun.objects.get(pk=run.pk)
    assert stored.state_type == "COMPLETED"
    assert stored.end_time == fetched.end_time
    assert stored.empirical_policy["resuming"] is True
    assert stored.parameters == {"x": [1, 2]}


def test_a_row_read_for_update_is_written_only_in_the_columns_that_changed(run):
    with transaction.atomic():
        fetched = rows.fetch(FlowRun, run.pk, related="state", for_update=True)
        # A change the instance never saw: writing only what changed leaves it alone.
        FlowRun.objects.filter(pk=run.pk).update(name="renamed elsewhere", tags=["elsewhere"])
        fetched.state_type = "COMPLETED"
        fetched.end_time = timezone.now()
        with CaptureQueriesContext(connection) as queries:
            assert rows.update(fetched) == 1
    (statement,) = [q["sql"] for q in queries.captured_queries]
    assert "state_type" in statement and "end_time" in statement and '"name" =' not in statement
    stored = FlowRun.objects.get(pk=run.pk)
    assert (stored.state_type, stored.end_time) == ("COMPLETED", fetched.end_time)
    assert (stored.name, stored.tags) == ("renamed elsewhere", ["elsewhere"])


def test_a_json_document_changed_in_place_is_written(run):
    with transaction.atomic():
        fetched = rows.fetch(FlowRun, run.pk, for_update=True)
        fetched.parameters["x"].append(3)
        fetched.empirical_policy["resuming"] = True
        rows.update(fetched)
    stored = FlowRun.objects.get(pk=run.pk)
    assert stored.parameters == {"x": [1, 2, 3]}
    assert stored.empirical_policy["resuming"] is True


def test_a_second_update_writes_what_changed_since_the_first(run):
    with transaction.atomic():
        fetched = rows.fetch(FlowRun, run.pk, for_update=True)
        fetched.state_type = "PENDING"
        rows.update(fetched)
        FlowRun.objects.filter(pk=run.pk).update(state_type="CANCELLED")
        fetched.run_count = 7
        with CaptureQueriesContext(connection) as queries:
            rows.update(fetched)
    assert "state_type" not in queries.captured_queries[0]["sql"]
    stored = FlowRun.objects.get(pk=run.pk)
    assert (stored.state_type, stored.run_count) == ("CANCELLED", 7)


def test_a_remembered_instance_with_nothing_changed_is_still_written_whole(run):
    fetched = rows.fetch(FlowRun, run.pk)
    rows.remember(fetched)
    FlowRun.objects.filter(pk=run.pk).update(name="renamed elsewhere")
    assert rows.update(fetched) == 1
    assert FlowRun.objects.get(pk=run.pk).name == "rows-run"


def test_values_filters_by_equality_ranges_and_lists(run):
    stamp = run.state.timestamp
    assert rows.values(FlowRunState, "timestamp", flow_run=run.pk, timestamp__gte=stamp) == [stamp]
    assert rows.values(FlowRunState, "timestamp", flow_run=run.pk, timestamp__gt=stamp) == []
    assert rows.values(FlowRunState, "id", "type", id__in=[run.state.pk, uuid.uuid4()]) == [(run.state.pk, "RUNNING")]
    assert rows.values(FlowRunState, "id", id__in=[]) == []


def test_select_returns_every_matching_instance(run):
    other = FlowRun.objects.create(flow_id=run.flow_id, name="other")
    found = rows.select(FlowRun, flow=run.flow_id)
    assert {r.pk for r in found} == {run.pk, other.pk}


def test_a_state_row_and_its_runs_changed_columns_are_written_together(run):
    with transaction.atomic():
        fetched = rows.fetch(FlowRun, run.pk, related="state", for_update=True)
        state = FlowRunState(flow_run=fetched, type="COMPLETED", name="Completed", state_details={})
        fetched.state = state
        fetched.state_type, fetched.state_name = "COMPLETED", "Completed"
        with CaptureQueriesContext(connection) as queries:
            rows.insert_with(state, fetched)
        fetched.run_count = 3
        with CaptureQueriesContext(connection) as again:
            rows.update(fetched)
    statements = [q["sql"] for q in queries.captured_queries]
    # One round trip where the database takes an INSERT in a WITH clause (PostgreSQL).
    assert len(statements) == (1 if connection.vendor == "postgresql" else 2)
    assert 'INSERT INTO "runs_flowrunstate"' in statements[0] and 'UPDATE "runs_flowrun"' in statements[-1]
    assert '"name" =' not in statements[-1]  # only what changed, as `update` writes it
    assert '"state_type"' not in again.captured_queries[0]["sql"]  # remembered as written
    stored = FlowRun.objects.select_related("state").get(pk=run.pk)
    assert (stored.state_id, stored.state.type, stored.state_type, stored.run_count) == (
        state.pk,
        "COMPLETED",
        "COMPLETED",
        3,
    )


def test_a_new_run_and_its_first_state_are_inserted_together():
    flow = Flow.objects.create(name="rows-new-flow")
    new_run = FlowRun(flow=flow, name="new-run", state_type="PENDING", state_name="Pending")
    state = FlowRunState(flow_run=new_run, type="PENDING", name="Pending", state_details={})
    new_run.state = state
    with transaction.atomic():
        rows.insert_with(state, new_run, new=True)
    stored = FlowRun.objects.select_related("state").get(pk=new_run.pk)
    assert (stored.name, stored.state.pk, stored.state.flow_run_id) == ("new-run", state.pk, new_run.pk)
