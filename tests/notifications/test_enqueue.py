"""Deliveries are written with the states that trigger them: matching, the message, transactions."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from django.db import transaction

from notifications.enqueue import enqueue_deliveries, wake_sender
from notifications.models import Delivery
from runs.models import FlowRun, FlowRunState
from runs.orchestration import engine
from runs.orchestration.states import State
from tests.runs.helpers import flow_run_in, propose, state

from .conftest import make_policy, notification_options

pytestmark = pytest.mark.django_db


def fail(run, message="boom") -> None:
    propose(run, State(type="FAILED", name="Failed", message=message), force=True)


@pytest.fixture
def etl(flow):
    flow.name = "daily-etl"
    flow.save()
    return flow


# Matching (Prefect's rule: state name listed or none listed; a shared tag or none listed)


def test_a_failed_run_with_the_policy_tag_gets_one_delivery(etl, webhook):
    policy = make_policy(webhook, state_names=["Failed"], tags=["daily-etl"])
    run = flow_run_in(etl, "RUNNING", tags=["daily-etl", "prod"], run_name="fuzzy-leopard")

    fail(run)

    delivery = Delivery.objects.get()
    assert delivery.policy_id == policy.pk
    assert (delivery.flow_run_id, delivery.flow_run_name, delivery.flow_name) == (run.pk, "fuzzy-leopard", "daily-etl")
    assert (delivery.state_type, delivery.state_name, delivery.state_id) == ("FAILED", "Failed", run.state_id)
    assert delivery.status == "pending" and delivery.next_attempt_at is not None
    assert delivery.subject == "Prefect flow run notification"


def test_a_run_without_the_tag_gets_nothing(etl, webhook):
    make_policy(webhook, state_names=["Failed"], tags=["daily-etl"])
    run = flow_run_in(etl, "RUNNING", tags=["other"])

    fail(run)

    assert not Delivery.objects.exists()


def test_any_shared_tag_is_enough(etl, webhook):
    make_policy(webhook, state_names=[], tags=["a", "b"])
    run = flow_run_in(etl, None, tags=["b", "c"])

    propose(run, state("PENDING"))

    assert Delivery.objects.get().state_name == "Pending"


def test_states_not_listed_do_not_notify(etl, webhook):
    make_policy(webhook, state_names=["Failed", "Crashed"], tags=[])
    run = flow_run_in(etl, None)

    propose(run, state("PENDING"))
    propose(run, state("RUNNING"))
    propose(run, state("COMPLETED"))

    assert not Delivery.objects.exists()


def test_state_names_match_the_name_not_the_type(etl, webhook):
    make_policy(webhook, state_names=["Late"], tags=[])
    run = flow_run_in(etl, "SCHEDULED")

    propose(run, state("SCHEDULED", "Late"), force=True)

    assert list(Delivery.objects.values_list("state_type", "state_name")) == [("SCHEDULED", "Late")]


def test_empty_state_names_and_tags_cover_every_state_of_every_run(etl, webhook):
    make_policy(webhook, state_names=[], tags=[])
    run = flow_run_in(etl, None)

    for proposed in ("PENDING", "RUNNING", "COMPLETED"):
        propose(run, state(proposed))

    assert list(Delivery.objects.order_by("created").values_list("state_name", flat=True)) == [
        "Pending",
        "Running",
        "Completed",
    ]


def test_a_paused_policy_enqueues_nothing(etl, webhook):
    make_policy(webhook, is_active=False, tags=[])
    run = flow_run_in(etl, "RUNNING")

    fail(run)

    assert not Delivery.objects.exists()


def test_every_matching_policy_gets_its_own_delivery(etl, webhook):
    first = make_policy(webhook, tags=["x"])
    second = make_policy(webhook, tags=[])
    make_policy(webhook, tags=["y"])
    run = flow_run_in(etl, "RUNNING", tags=["x"])

    fail(run)

    assert set(Delivery.objects.values_list("policy_id", flat=True)) == {first.pk, second.pk}


def test_rejected_and_waiting_proposals_enqueue_nothing(etl, webhook):
    make_policy(webhook, state_names=[], tags=[])
    run = flow_run_in(etl, "RUNNING")
    Delivery.objects.all().delete()

    ctx = engine.set_flow_run_state(run.pk, State(type="PENDING"))  # a running run may not go back

    assert ctx.status in ("REJECT", "ABORT", "WAIT")
    assert not ctx.wrote_state
    assert not Delivery.objects.exists()


# Transactions


def test_a_rolled_back_state_leaves_no_delivery(etl, webhook):
    make_policy(webhook, tags=[])
    run = flow_run_in(etl, "RUNNING")

    with pytest.raises(RuntimeError), transaction.atomic():
        fail(run)
        assert Delivery.objects.count() == 1  # written in the state's transaction...
        raise RuntimeError("the request failed after the state was written")

    assert not Delivery.objects.exists()  # ...and gone with it
    assert FlowRun.objects.get(pk=run.pk).state_type == "RUNNING"


def test_the_sender_is_woken_when_the_transaction_commits(etl, webhook, django_capture_on_commit_callbacks):
    make_policy(webhook, tags=[])
    run = flow_run_in(etl, "RUNNING")
    wake_sender.clear()

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        fail(run)

    assert callbacks and wake_sender.is_set()


def test_without_policies_a_batch_costs_one_query(etl, django_assert_num_queries):
    runs = [FlowRun.objects.create(flow=etl, name=f"r{i}") for i in range(20)]
    states = [(run, FlowRunState(flow_run=run, type="SCHEDULED", name="Scheduled")) for run in runs]

    with django_assert_num_queries(1):
        assert enqueue_deliveries(states) == []


def test_a_batch_of_states_is_matched_with_one_policy_query_and_one_insert(etl, webhook, django_assert_num_queries):
    make_policy(webhook, state_names=["Scheduled"], tags=["nightly"])
    make_policy(webhook, state_names=["Failed"], tags=[])
    runs = [FlowRun.objects.create(flow=etl, name=f"r{i}", tags=["nightly"] if i % 2 else []) for i in range(10)]
    states = [(run, FlowRunState.objects.create(flow_run=run, type="SCHEDULED", name="Scheduled")) for run in runs]

    # policies, flow names, the insert
    with django_assert_num_queries(3):
        written = enqueue_deliveries(states)

    assert len(written) == 5
    assert {d.flow_run_id for d in Delivery.objects.all()} == {run.pk for run in runs[1::2]}


def test_the_message_survives_the_run_being_deleted(etl, webhook):
    make_policy(webhook, tags=[])
    run = flow_run_in(etl, "RUNNING", run_name="short-lived")
    fail(run, "out of memory")

    FlowRun.objects.filter(pk=run.pk).delete()

    delivery = Delivery.objects.get()
    assert "short-lived" in delivery.body and "out of memory" in delivery.body


# The message


def test_the_default_message_opens_with_the_sentence_users_know(etl, webhook, settings):
    notification_options(settings, TIME_ZONE="America/New_York")
    settings.ORCHESTRATOR["UI_URL"] = "https://orchestrator.example.com/"
    policy = make_policy(webhook, tags=[])
    run = flow_run_in(etl, "RUNNING", run_name="fuzzy-leopard")
    when = dt.datetime(2022, 1, 27, 21, 21, 37, tzinfo=dt.UTC)

    propose(run, State(type="FAILED", name="Failed", message="Flow run encountered an exception.", timestamp=when))

    body = Delivery.objects.get().body
    assert body == (
        "The fuzzy-leopard run of the daily-etl flow entered a failed state at 22-01-27 16:21:37 EST.\n"
        "\n"
        f"Flow ID: {etl.pk}\n"
        f"Flow run ID: {run.pk}\n"
        f"Flow run URL: https://orchestrator.example.com/runs/flow-run/{run.pk}\n"
        "State message: Flow run encountered an exception."
    )
    assert policy.message_template is None


def test_summer_times_carry_the_summer_zone_name(etl, webhook, settings):
    notification_options(settings, TIME_ZONE="America/New_York")
    make_policy(webhook, tags=[])
    run = flow_run_in(etl, "RUNNING", run_name="fuzzy-leopard")

    propose(run, State(type="FAILED", timestamp=dt.datetime(2022, 6, 27, 20, 21, 37, tzinfo=dt.UTC)))

    assert "entered a failed state at 22-06-27 16:21:37 EDT." in Delivery.objects.get().body


def test_times_are_utc_unless_configured(etl, webhook, settings, monkeypatch):
    monkeypatch.delenv("TZ", raising=False)
    notification_options(settings, TIME_ZONE=None)
    make_policy(webhook, tags=[])
    run = flow_run_in(etl, "RUNNING", run_name="r")

    propose(run, State(type="FAILED", timestamp=dt.datetime(2022, 6, 27, 20, 21, 37, tzinfo=dt.UTC)))

    assert "at 22-06-27 20:21:37 UTC." in Delivery.objects.get().body


def test_tz_names_the_zone_when_the_setting_does_not(etl, webhook, settings, monkeypatch):
    monkeypatch.setenv("TZ", "Europe/Paris")
    notification_options(settings, TIME_ZONE=None)
    make_policy(webhook, tags=[])
    run = flow_run_in(etl, "RUNNING", run_name="r")

    propose(run, State(type="FAILED", timestamp=dt.datetime(2022, 6, 27, 20, 21, 37, tzinfo=dt.UTC)))

    assert "at 22-06-27 22:21:37 CEST." in Delivery.objects.get().body


@pytest.mark.parametrize(
    ("name", "phrase"),
    [("Crashed", "a crashed state"), ("AwaitingRetry", "an awaiting retry state"), ("TimedOut", "a timed out state")],
)
def test_state_names_read_as_words(etl, webhook, name, phrase):
    make_policy(webhook, state_names=[name], tags=[])
    run = flow_run_in(etl, "RUNNING")

    propose(run, State(type="CRASHED" if name == "Crashed" else "FAILED", name=name), force=True)

    assert f"entered {phrase} at" in Delivery.objects.get().body


def test_without_a_ui_url_the_link_points_at_the_server(etl, webhook, settings):
    settings.ORCHESTRATOR["UI_URL"] = None
    make_policy(webhook, tags=[])
    run = flow_run_in(etl, "RUNNING")

    fail(run)

    host, port = settings.ORCHESTRATOR["API_HOST"], settings.ORCHESTRATOR["API_PORT"]
    assert f"Flow run URL: http://{host}:{port}/runs/flow-run/{run.pk}\n" in Delivery.objects.get().body


def test_a_custom_template_gets_all_eleven_values(etl, webhook, settings):
    notification_options(settings, TIME_ZONE="UTC")
    settings.ORCHESTRATOR["UI_URL"] = "http://ui"
    template = (
        "{flow_run_notification_policy_id}|{flow_id}|{flow_name}|{flow_run_url}|{flow_run_id}|{flow_run_name}|"
        "{flow_run_parameters}|{flow_run_state_type}|{flow_run_state_name}|{flow_run_state_timestamp}|"
        "{flow_run_state_message}"
    )
    policy = make_policy(webhook, tags=[], message_template=template)
    run = flow_run_in(etl, "RUNNING", run_name="r1", parameters={"day": "2022-06-27", "n": 3})

    propose(
        run,
        State(type="FAILED", name="Failed", message="bad", timestamp=dt.datetime(2022, 6, 27, 20, 21, 37, 5, dt.UTC)),
    )

    assert Delivery.objects.get().body == (
        f"{policy.pk}|{etl.pk}|daily-etl|http://ui/runs/flow-run/{run.pk}|{run.pk}|r1|"
        '{"day": "2022-06-27", "n": 3}|FAILED|Failed|2022-06-27T20:21:37+00:00|bad'
    )


def test_a_missing_state_message_renders_empty(etl, webhook):
    make_policy(webhook, tags=[], message_template="[{flow_run_state_message}]")
    run = flow_run_in(etl, "RUNNING")

    propose(run, State(type="FAILED", message=None))

    assert Delivery.objects.get().body == "[]"


def test_deliveries_are_not_tied_to_the_run_or_state_rows(etl, webhook):
    make_policy(webhook, tags=[])
    run = flow_run_in(etl, "RUNNING")
    fail(run)

    FlowRunState.objects.filter(flow_run=run).delete()

    assert Delivery.objects.get().state_id is not None
    assert isinstance(Delivery.objects.get().flow_run_id, uuid.UUID)
