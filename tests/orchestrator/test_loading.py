"""Instances loaded through QuickLoad.from_db are the ones Model.__init__ would have built."""

from __future__ import annotations

import pytest
from django.db.models.signals import post_init

from orchestrator.lib.loading import QuickLoad
from runs.models import Flow, FlowRun, FlowRunState, Log

pytestmark = pytest.mark.django_db


@pytest.fixture
def run():
    flow = Flow.objects.create(name="loading-flow", labels={"team": "data"})
    run = FlowRun.objects.create(flow=flow, name="loading-run", tags=["a"], parameters={"x": [1, {"y": None}]})
    run.state = FlowRunState.objects.create(flow_run=run, type="RUNNING", name="Running", state_details={"k": 1})
    run.save()
    return run


def slow(model, values):
    """What Django's own Model.from_db builds."""
    return super(QuickLoad, model).from_db.__func__(model, "default", None, values)


def field_values(obj) -> dict:
    return {f.attname: getattr(obj, f.attname) for f in type(obj)._meta.concrete_fields}


def test_a_run_and_its_state_read_by_a_queryset_match_what_model_init_builds(run):
    loaded = FlowRun.objects.select_related("state").get(pk=run.pk)
    values = [getattr(loaded, f.attname) for f in FlowRun._meta.concrete_fields]
    expected = slow(FlowRun, values)

    assert field_values(loaded) == field_values(expected)
    assert loaded.parameters == {"x": [1, {"y": None}]}
    assert loaded._state.adding is False and loaded._state.db == "default"
    assert loaded.state.state_details == {"k": 1} and loaded.state._state.adding is False
    assert loaded.flow.name == "loading-flow"  # a foreign key not selected is still fetched


def test_a_loaded_instance_saves_as_an_update_of_its_row(run):
    loaded = FlowRun.objects.get(pk=run.pk)
    loaded.name = "renamed"
    loaded.save()
    assert FlowRun.objects.count() == 1
    assert FlowRun.objects.get(pk=run.pk).name == "renamed"


def test_rows_with_deferred_columns_are_built_the_usual_way(run):
    loaded = FlowRun.objects.only("id", "name").get(pk=run.pk)
    assert loaded.get_deferred_fields() >= {"parameters", "tags"}
    assert loaded.parameters == {"x": [1, {"y": None}]}  # read on first use


def test_models_someone_follows_through_post_init_are_built_by_model_init(run):
    seen = []

    def receiver(sender, instance, **kwargs):
        seen.append(instance)

    post_init.connect(receiver, sender=Log)
    try:
        if "_quick_load_attnames" in Log.__dict__:  # decided before the receiver was connected
            delattr(Log, "_quick_load_attnames")
        Log.objects.create(name="x", level=20, message="m", timestamp=run.created, flow_run_id=run.pk)
        seen.clear()
        assert len(list(Log.objects.all())) == 1
        assert len(seen) == 1
    finally:
        post_init.disconnect(receiver, sender=Log)
        if "_quick_load_attnames" in Log.__dict__:
            delattr(Log, "_quick_load_attnames")
