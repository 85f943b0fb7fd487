"""Turning a deployment's schedules into scheduled flow runs, and replacing them when the
schedules change."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from deployments import domain, pools
from deployments.models import Deployment, DeploymentSchedule
from deployments.schedules import normalize
from deployments.scheduling import delete_scheduled_runs, schedule_deployment
from runs.models import FlowRun
from runs.orchestration.states import iso
from tests.runs.helpers import propose, state

pytestmark = pytest.mark.django_db

START = dt.datetime(2030, 1, 7, 12, 0, tzinfo=dt.UTC)  # a Monday, on every slot below
ANCHOR = "2030-01-01T00:00:00Z"


def every(seconds: float, anchor: str = ANCHOR) -> dict:
    return normalize({"interval": seconds, "anchor_date": anchor})


@pytest.fixture
def deployment(flow) -> Deployment:
    pool = pools.create_pool(name="pool", type="process")
    return Deployment.objects.create(
        flow=flow,
        name="nightly",
        tags=["demo"],
        parameters={"n": 1, "mode": "full"},
        enforce_parameter_schema=False,
        work_queue=pool.default_queue,
        work_queue_name="default",
    )


def add_schedule(deployment: Deployment, schedule: dict, **fields) -> DeploymentSchedule:
    return DeploymentSchedule.objects.create(deployment=deployment, schedule=schedule, **fields)


def runs_of(deployment: Deployment):
    return FlowRun.objects.filter(deployment_id=deployment.pk).order_by("expected_start_time")


def times(deployment: Deployment) -> list[dt.datetime]:
    return list(runs_of(deployment).values_list("expected_start_time", flat=True))


class TestHowManyRuns:
    def test_it_makes_at_least_min_runs_and_reaches_at_least_min_time_ahead(self, deployment):
        add_schedule(deployment, every(600))
        made = schedule_deployment(deployment, start=START, min_runs=3, min_time=dt.timedelta(hours=1))
        assert len(made) == 7  # every 10 minutes, from now up to an hour ahead
        assert times(deployment)[0] == START
        assert times(deployment)[-1] == START + dt.timedelta(hours=1)

    def test_min_runs_wins_when_slots_are_far_apart(self, deployment):
        add_schedule(deployment, every(86400, anchor="2030-01-01T12:00:00Z"))
        schedule_deployment(deployment, start=START, min_runs=3, min_time=dt.timedelta(hours=1))
        assert times(deployment) == [START + dt.timedelta(days=d) for d in (0, 1, 2)]

    def test_a_schedules_max_scheduled_runs_caps_its_runs(self, deployment):
        add_schedule(deployment, every(600), max_scheduled_runs=2)
        schedule_deployment(deployment, start=START, min_runs=5, min_time=dt.timedelta(hours=1))
        assert runs_of(deployment).count() == 2

    def test_max_runs_caps_a_schedule_without_its_own_cap(self, deployment):
        add_schedule(deployment, every(60))
        schedule_deployment(deployment, start=START, min_runs=3, max_runs=5, min_time=dt.timedelta(hours=1))
        assert runs_of(deployment).count() == 5

    def test_nothing_is_made_beyond_the_end(self, deployment):
        add_schedule(deployment, every(600))
        schedule_deployment(deployment, start=START, end=START + dt.timedelta(minutes=30), min_runs=10)
        assert times(deployment)[-1] == START + dt.timedelta(minutes=30)
        assert runs_of(deployment).count() == 4

    def test_the_defaults_come_from_the_scheduler_settings(self, deployment, settings):
        settings.ORCHESTRATOR = {
            **settings.ORCHESTRATOR,
            "SERVICES": {
                **settings.ORCHESTRATOR["SERVICES"],
                "scheduler": {
                    **settings.ORCHESTRATOR["SERVICES"]["scheduler"],
                    "min_runs": 4,
                    "min_scheduled_time": 0,
                },
            },
        }
        add_schedule(deployment, every(3600))
        schedule_deployment(deployment, start=START)
        assert runs_of(deployment).count() == 4

    def test_every_active_schedule_gets_its_runs(self, deployment):
        add_schedule(deployment, every(3600))
        add_schedule(deployment, normalize({"cron": "30 * * * *"}))
        schedule_deployment(deployment, start=START, min_runs=2, min_time=dt.timedelta(0))
        assert times(deployment) == [
            START,
            START + dt.timedelta(minutes=30),
            START + dt.timedelta(minutes=60),
            START + dt.timedelta(minutes=90),
        ]


class TestIdempotence:
    def test_a_second_pass_makes_nothing_new(self, deployment):
        add_schedule(deployment, every(600))
        first = schedule_deployment(deployment, start=START, min_runs=3, min_time=dt.timedelta(hours=1))
        again = schedule_deployment(deployment, start=START, min_runs=3, min_time=dt.timedelta(hours=1))
        assert first and again == []
        assert runs_of(deployment).count() == len(first)

    def test_a_later_pass_only_adds_the_slots_that_are_new(self, deployment):
        add_schedule(deployment, every(600))
        schedule_deployment(deployment, start=START, min_runs=3, min_time=dt.timedelta(0))
        later = schedule_deployment(
            deployment, start=START + dt.timedelta(minutes=10), min_runs=3, min_time=dt.timedelta(0)
        )
        assert len(later) == 1
        assert times(deployment) == [START + dt.timedelta(minutes=m) for m in (0, 10, 20, 30)]

    def test_a_slot_has_one_run_even_if_someone_inserts_it_again(self, deployment, flow):
        add_schedule(deployment, every(600))
        schedule_deployment(deployment, start=START, min_runs=1, min_time=dt.timedelta(0))
        run = runs_of(deployment).get()
        with pytest.raises(IntegrityError), transaction.atomic():
            FlowRun.objects.create(flow=flow, name="copy", idempotency_key=run.idempotency_key)


class TestWhatIsScheduled:
    def test_a_paused_deployment_gets_no_runs(self, deployment):
        add_schedule(deployment, every(600))
        deployment.paused = True
        deployment.save()
        assert schedule_deployment(deployment, start=START) == []
        assert not runs_of(deployment).exists()

    def test_an_explicit_backfill_schedules_a_paused_deployment_too(self, deployment):
        add_schedule(deployment, every(600))
        Deployment.objects.filter(pk=deployment.pk).update(paused=True)

        made = schedule_deployment(deployment, start=START, min_runs=2, min_time=dt.timedelta(0), even_if_paused=True)

        assert len(made) == 2

    def test_the_deployment_is_read_afresh_so_a_stale_copy_cannot_schedule_a_paused_one(self, deployment):
        add_schedule(deployment, every(600))
        Deployment.objects.filter(pk=deployment.pk).update(paused=True)  # `deployment` still says unpaused

        assert schedule_deployment(deployment, start=START) == []

    def test_a_deleted_deployment_gets_no_runs(self, deployment):
        add_schedule(deployment, every(600))
        Deployment.objects.filter(pk=deployment.pk).delete()

        assert schedule_deployment(deployment, start=START) == []

    def test_an_inactive_schedule_gets_no_runs(self, deployment):
        add_schedule(deployment, every(600), active=False)
        live = add_schedule(deployment, normalize({"cron": "0 * * * *"}))
        schedule_deployment(deployment, start=START, min_runs=2, min_time=dt.timedelta(0))
        assert {run.created_by["id"] for run in runs_of(deployment)} == {str(live.pk)}

    def test_a_run_looks_like_one_prefects_scheduler_made(self, deployment):
        schedule = add_schedule(deployment, every(3600), parameters={"mode": "incremental"}, slug="hourly")
        schedule_deployment(deployment, start=START, min_runs=1, min_time=dt.timedelta(0))
        run = runs_of(deployment).select_related("state").get()
        assert run.auto_scheduled is True
        assert run.tags == ["auto-scheduled", "demo"]
        assert run.created_by == {"id": str(schedule.pk), "type": "SCHEDULE", "display_value": "hourly"}
        assert run.idempotency_key == f"scheduled {deployment.pk} {schedule.pk} {START}"
        assert run.parameters == {"n": 1, "mode": "incremental"}
        assert (run.state_type, run.state_name, run.state.message) == ("SCHEDULED", "Scheduled", "Flow run scheduled")
        assert run.state.state_details["scheduled_time"] == iso(START)
        assert run.expected_start_time == run.next_scheduled_start_time == START
        assert (run.work_queue_name, run.work_pool_name) == ("default", "pool")
        assert run.labels["prefect.deployment.id"] == str(deployment.pk)

    def test_a_schedule_without_a_slug_is_named_by_its_kind(self, deployment):
        add_schedule(deployment, normalize({"rrule": "FREQ=HOURLY"}))
        schedule_deployment(deployment, start=START, min_runs=1, min_time=dt.timedelta(0))
        assert runs_of(deployment).get().created_by["display_value"] == "RRuleSchedule"

    def test_pausing_takes_back_the_runs_not_yet_started(self, deployment):
        add_schedule(deployment, every(600))
        schedule_deployment(deployment, start=START, min_runs=3, min_time=dt.timedelta(0))
        started = runs_of(deployment).first()
        propose(started, state("PENDING"), force=True)
        assert delete_scheduled_runs(deployment) == 2
        assert list(runs_of(deployment)) == [started]


PAST = "2020-01-01T00:00:00Z"  # pausing and resuming schedule from now


class TestPausing:
    def test_pausing_removes_the_scheduled_runs_and_says_how_many(self, deployment):
        add_schedule(deployment, every(600, anchor=PAST))
        made = schedule_deployment(deployment, min_runs=3)
        assert made

        assert domain.pause(deployment) == len(made)
        assert Deployment.objects.get(pk=deployment.pk).paused
        assert not runs_of(deployment).exists()

    def test_pausing_a_paused_deployment_changes_nothing(self, deployment):
        Deployment.objects.filter(pk=deployment.pk).update(paused=True)

        assert domain.pause(deployment) is None

    def test_resuming_schedules_the_next_runs_at_once(self, deployment):
        add_schedule(deployment, every(600, anchor=PAST))
        Deployment.objects.filter(pk=deployment.pk).update(paused=True)

        created = domain.resume(deployment)

        assert created and created == runs_of(deployment).count()
        assert not Deployment.objects.get(pk=deployment.pk).paused

    def test_resuming_a_running_deployment_changes_nothing(self, deployment):
        assert domain.resume(deployment) is None


class TestChangingSchedules:
    def save(self, deployment: Deployment, schedules: list[dict]) -> None:
        data = {"schedules": [{"schedule": s, "active": True} for s in schedules]}
        domain.save_deployment(data, {"schedules"}, deployment)

    def test_new_schedules_replace_the_future_runs_of_the_old(self, deployment):
        self.save(deployment, [normalize({"cron": "0 9 * * *"})])
        old = set(runs_of(deployment).values_list("pk", flat=True))
        assert old
        self.save(deployment, [normalize({"cron": "0 18 * * *"})])
        new = runs_of(deployment)
        assert not old & set(new.values_list("pk", flat=True))
        assert {run.expected_start_time.hour for run in new} == {18}
        assert new.count() == 3

    def test_runs_already_started_are_kept(self, deployment):
        self.save(deployment, [normalize({"cron": "0 9 * * *"})])
        first, second, _ = runs_of(deployment)
        propose(first, state("PENDING"), force=True)
        propose(second, state("RUNNING"), force=True)
        self.save(deployment, [normalize({"cron": "0 18 * * *"})])
        kept = runs_of(deployment).filter(pk__in=[first.pk, second.pk])
        assert sorted(kept.values_list("state_type", flat=True)) == ["PENDING", "RUNNING"]
        assert runs_of(deployment).filter(state_type="SCHEDULED").count() == 3

    def test_runs_someone_asked_for_are_kept(self, deployment):
        self.save(deployment, [normalize({"cron": "0 9 * * *"})])
        later = timezone.now() + dt.timedelta(days=1)
        body = {"state": {"type": "SCHEDULED", "name": "Scheduled", "state_details": {"scheduled_time": later}}}
        manual, _ = domain.create_run(deployment, body)
        self.save(deployment, [])
        assert list(runs_of(deployment)) == [manual]

    def test_an_update_that_does_not_send_schedules_keeps_them(self, deployment):
        self.save(deployment, [normalize({"cron": "0 9 * * *"})])
        domain.save_deployment({"tags": ["demo", "eu"]}, {"tags"}, deployment)
        assert deployment.schedules.count() == 1
        assert {tuple(run.tags) for run in runs_of(deployment)} == {("auto-scheduled", "demo", "eu")}
