"""Deployment concurrency limits, one rule at a time, driven by (current state, proposed state).

A deployment with `concurrency_limit` N owns a global limit named `deployment:<id>`; a run
takes a slot when it becomes Pending, under a lease whose id rides in the state's details.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from concurrency.models import ConcurrencyLimit, Lease
from deployments import domain
from deployments.models import Deployment
from runs.orchestration import concurrency_rules as rules
from runs.orchestration import policies
from runs.orchestration.rules import Rule

from .helpers import flow_run_in, propose, state

pytestmark = pytest.mark.django_db

LEASE = "deployment_concurrency_lease_id"
SECURE = [rules.SecureFlowConcurrencySlots]
RELEASE = [rules.ReleaseFlowConcurrencySlots]
VALIDATE = [rules.ValidateDeploymentConcurrencyAtRunning]
PRESERVE = [rules.PreserveDeploymentConcurrencyLeaseId]
NON_ACTIVE = ["SCHEDULED", "PAUSED", "COMPLETED", "FAILED", "CANCELLED", "CRASHED"]
ENDINGS = ["COMPLETED", "FAILED", "CANCELLED", "CRASHED"]


def limited(flow, limit: int | None = 1, **options) -> Deployment:
    deployment = Deployment.objects.create(flow=flow, name=f"limited-{limit}", concurrency_options=options or None)
    domain.set_concurrency_limit(deployment, limit)
    deployment.save()
    return deployment


def slot_row(deployment: Deployment) -> ConcurrencyLimit:
    return ConcurrencyLimit.objects.get(pk=deployment.concurrency_limit_id)


def run_of(flow, deployment: Deployment, type_: str | None = "SCHEDULED", **fields):
    return flow_run_in(flow, type_, deployment_id=deployment.pk, **fields)


def holding(flow, deployment: Deployment, type_: str = "PENDING"):
    """A run of the deployment that took its slot on the way to `type_`."""
    run = run_of(flow, deployment)
    ctx = propose(run, state("PENDING"), policy=SECURE)
    assert ctx.status == "ACCEPT", ctx.details
    if type_ != "PENDING":
        propose(run, state(type_, **{LEASE: ctx.validated.detail(LEASE)}), force=True)
    return run


def lease_of(run) -> str | None:
    run.refresh_from_db()
    return run.state.state_details.get(LEASE)


class TestSecureFlowConcurrencySlots:
    @pytest.mark.parametrize("initial", NON_ACTIVE)
    def test_becoming_pending_takes_a_slot_under_a_lease(self, flow, initial):
        deployment = limited(flow, 2)
        run = run_of(flow, deployment, initial)
        ctx = propose(run, state("PENDING"), policy=SECURE)
        assert ctx.status == "ACCEPT"
        lease = Lease.objects.get(pk=lease_of(run))
        assert lease.limit_ids == [str(deployment.concurrency_limit_id)]
        assert lease.holder == {"type": "flow_run", "id": str(run.pk)}
        assert slot_row(deployment).active_slots == 1

    def test_the_lease_lasts_the_grace_period_of_the_deployment(self, flow):
        deployment = limited(flow, 1, grace_period_seconds=900)
        run = holding(flow, deployment)
        expires = Lease.objects.get(pk=lease_of(run)).expires
        assert timezone.now() + dt.timedelta(seconds=890) < expires <= timezone.now() + dt.timedelta(seconds=900)

    def test_without_a_grace_period_the_lease_lasts_the_server_default(self, flow, settings):
        run = holding(flow, limited(flow, 1))
        expires = Lease.objects.get(pk=lease_of(run)).expires
        seconds = settings.ORCHESTRATOR["DEPLOYMENT_LEASE_SECONDS"]
        assert expires - timezone.now() == pytest.approx(dt.timedelta(seconds=seconds), abs=dt.timedelta(seconds=10))

    def test_a_full_limit_sends_the_run_back_to_wait_for_a_slot(self, flow, settings):
        deployment = limited(flow, 1, collision_strategy="ENQUEUE")
        holding(flow, deployment)
        run = run_of(flow, deployment)
        ctx = propose(run, state("PENDING"), policy=SECURE)
        assert ctx.status == "REJECT"
        assert (run.state_type, run.state_name) == ("SCHEDULED", "AwaitingConcurrencySlot")
        wait = dt.timedelta(seconds=settings.ORCHESTRATOR["DEPLOYMENT_SLOT_WAIT_SECONDS"])
        assert run.next_scheduled_start_time == pytest.approx(timezone.now() + wait, abs=dt.timedelta(seconds=5))
        assert lease_of(run) is None
        assert slot_row(deployment).active_slots == 1

    def test_waiting_is_the_default_collision_strategy(self, flow):
        deployment = limited(flow, 1)
        holding(flow, deployment)
        run = run_of(flow, deployment)
        propose(run, state("PENDING"), policy=SECURE)
        assert run.state_name == "AwaitingConcurrencySlot"

    def test_a_full_limit_cancels_the_new_run_when_told_to(self, flow):
        deployment = limited(flow, 1, collision_strategy="CANCEL_NEW")
        holding(flow, deployment)
        run = run_of(flow, deployment)
        ctx = propose(run, state("PENDING"), policy=SECURE)
        assert ctx.status == "REJECT"
        assert run.state_type == "CANCELLED"

    def test_a_limit_of_zero_aborts_as_the_run_could_never_start(self, flow):
        deployment = limited(flow, 1)
        ConcurrencyLimit.objects.filter(pk=deployment.concurrency_limit_id).update(limit=0)
        run = run_of(flow, deployment)
        ctx = propose(run, state("PENDING"), policy=SECURE)
        assert ctx.status == "ABORT"
        assert run.state_type == "SCHEDULED"

    def test_an_inactive_limit_lets_the_run_through_without_a_slot(self, flow):
        deployment = limited(flow, 1)
        ConcurrencyLimit.objects.filter(pk=deployment.concurrency_limit_id).update(active=False)
        run = run_of(flow, deployment)
        assert propose(run, state("PENDING"), policy=SECURE).status == "ACCEPT"
        assert lease_of(run) is None

    def test_a_run_without_a_deployment_limit_takes_no_slot(self, flow):
        deployment = limited(flow, None)
        for run in (run_of(flow, deployment), flow_run_in(flow, "SCHEDULED")):
            assert propose(run, state("PENDING"), policy=SECURE).status == "ACCEPT"
            assert lease_of(run) is None
        assert not Lease.objects.exists()

    @pytest.mark.parametrize("initial", ["PENDING", "RUNNING", "CANCELLING"])
    def test_a_run_already_holding_does_not_take_another(self, flow, initial):
        deployment = limited(flow, 1)
        run = holding(flow, deployment, initial)
        propose(run, state("PENDING", "Submitting"), policy=SECURE)
        assert Lease.objects.count() == 1
        assert slot_row(deployment).active_slots == 1

    def test_the_slot_goes_back_when_a_later_rule_refuses_the_transition(self, flow):
        class RefusePending(Rule):
            def before(self, initial, proposed):
                self.abort("not today")

        deployment = limited(flow, 1)
        run = run_of(flow, deployment)
        ctx = propose(run, state("PENDING"), policy=[*SECURE, RefusePending])
        assert ctx.status == "ABORT"
        assert not Lease.objects.exists()
        assert slot_row(deployment).active_slots == 0


class TestPreserveDeploymentConcurrencyLeaseId:
    @pytest.mark.parametrize(("initial", "proposed"), [("PENDING", "RUNNING"), ("RUNNING", "RUNNING")])
    def test_the_lease_id_rides_along_when_the_client_leaves_it_out(self, flow, initial, proposed):
        run = holding(flow, limited(flow, 1), initial)
        lease = lease_of(run)
        ctx = propose(run, state(proposed), policy=PRESERVE)
        assert ctx.validated.detail(LEASE) == lease
        assert lease_of(run) == lease

    def test_a_lease_id_the_client_sends_is_kept(self, flow):
        run = holding(flow, limited(flow, 1))
        other = "0190d4c4-4444-7000-8000-000000000001"
        propose(run, state("RUNNING", **{LEASE: other}), policy=PRESERVE)
        assert lease_of(run) == other


class TestReleaseFlowConcurrencySlots:
    @pytest.mark.parametrize("initial", ["PENDING", "RUNNING", "CANCELLING"])
    @pytest.mark.parametrize("ending", ENDINGS)
    def test_ending_gives_the_slot_back(self, flow, initial, ending):
        deployment = limited(flow, 1)
        run = holding(flow, deployment, initial)
        ctx = propose(run, state(ending, **{LEASE: lease_of(run)}), policy=RELEASE)
        assert ctx.status == "ACCEPT"
        assert slot_row(deployment).active_slots == 0
        assert not Lease.objects.exists()
        assert lease_of(run) is None

    def test_going_back_to_wait_gives_the_slot_back(self, flow):
        deployment = limited(flow, 1)
        run = holding(flow, deployment)
        propose(run, state("SCHEDULED", scheduled_time=timezone.now(), **{LEASE: lease_of(run)}), policy=RELEASE)
        assert slot_row(deployment).active_slots == 0

    @pytest.mark.parametrize(("initial", "proposed"), [("PENDING", "RUNNING"), ("RUNNING", "CANCELLING")])
    def test_moving_between_holding_states_keeps_the_slot(self, flow, initial, proposed):
        deployment = limited(flow, 1)
        run = holding(flow, deployment, initial)
        propose(run, state(proposed, **{LEASE: lease_of(run)}), policy=RELEASE)
        assert slot_row(deployment).active_slots == 1
        assert Lease.objects.count() == 1

    def test_an_in_process_retry_keeps_the_slot(self, flow):
        deployment = limited(flow, 1)
        run = holding(flow, deployment, "RUNNING")
        run.empirical_policy = {**run.empirical_policy, "retries": 1, "retry_type": "in_process"}
        run.save()
        retry = state("SCHEDULED", "AwaitingRetry", scheduled_time=timezone.now(), **{LEASE: lease_of(run)})
        propose(run, retry, policy=RELEASE)
        assert slot_row(deployment).active_slots == 1

    def test_a_forced_ending_gives_the_slot_back_too(self, flow):
        deployment = limited(flow, 1)
        run = holding(flow, deployment, "RUNNING")
        propose(run, state("CRASHED"), force=True)
        assert slot_row(deployment).active_slots == 0


class TestValidateDeploymentConcurrencyAtRunning:
    def test_starting_renews_the_lease(self, flow):
        deployment = limited(flow, 1, grace_period_seconds=600)
        run = holding(flow, deployment)
        lease = lease_of(run)
        Lease.objects.filter(pk=lease).update(expires=timezone.now() + dt.timedelta(seconds=5))
        ctx = propose(run, state("RUNNING"), policy=PRESERVE + VALIDATE)
        assert ctx.status == "ACCEPT"
        assert Lease.objects.get(pk=lease).expires > timezone.now() + dt.timedelta(seconds=590)
        assert lease_of(run) == lease

    def test_a_run_whose_lease_was_reaped_takes_a_slot_again(self, flow):
        deployment = limited(flow, 1)
        run = holding(flow, deployment)
        old = lease_of(run)
        Lease.objects.filter(pk=old).update(expires=timezone.now() - dt.timedelta(seconds=1))
        from concurrency.slots import reap_expired_leases

        reap_expired_leases()
        ctx = propose(run, state("RUNNING"), policy=PRESERVE + VALIDATE)
        assert ctx.status == "ACCEPT"
        assert lease_of(run) not in (None, old)
        assert Lease.objects.filter(pk=lease_of(run)).exists()
        assert slot_row(deployment).active_slots == 1

    def test_a_run_whose_slot_was_taken_meanwhile_is_cancelled(self, flow):
        deployment = limited(flow, 1)
        run = holding(flow, deployment)
        Lease.objects.filter(pk=lease_of(run)).update(expires=timezone.now() - dt.timedelta(seconds=1))
        from concurrency.slots import reap_expired_leases

        reap_expired_leases()
        holding(flow, deployment)  # another run took the freed slot
        ctx = propose(run, state("RUNNING"), policy=PRESERVE + VALIDATE)
        assert ctx.status == "REJECT"
        assert run.state_type == "CANCELLED"
        assert "slot" in ctx.details["reason"]

    def test_a_run_that_never_held_a_lease_starts_as_before(self, flow):
        run = run_of(flow, limited(flow, 1), "PENDING")
        assert propose(run, state("RUNNING"), policy=VALIDATE).status == "ACCEPT"
        assert not Lease.objects.exists()


class TestTheCorePolicy:
    def test_a_run_takes_carries_and_gives_back_its_slot(self, flow):
        deployment = limited(flow, 1)
        run = run_of(flow, deployment)
        propose(run, state("PENDING"))
        lease = lease_of(run)
        assert lease and slot_row(deployment).active_slots == 1
        propose(run, state("PENDING", "Submitting"))
        propose(run, state("RUNNING"))
        assert lease_of(run) == lease
        propose(run, state("COMPLETED"))
        assert slot_row(deployment).active_slots == 0
        assert not Lease.objects.exists()

    def test_the_second_run_waits_until_the_first_is_done(self, flow):
        deployment = limited(flow, 1)
        first, second = run_of(flow, deployment), run_of(flow, deployment)
        propose(first, state("PENDING"))
        assert propose(second, state("PENDING")).status == "REJECT"
        assert second.state_name == "AwaitingConcurrencySlot"
        propose(first, state("RUNNING"))
        propose(first, state("FAILED"))
        assert propose(second, state("PENDING")).status == "ACCEPT"
        assert lease_of(second)

    def test_the_policy_lists_the_rules_in_prefects_order(self):
        order = policies.CORE_FLOW_POLICY
        assert order[0] is rules.PreserveDeploymentConcurrencyLeaseId
        assert order.index(rules.ValidateDeploymentConcurrencyAtRunning) < order.index(rules.SecureFlowConcurrencySlots)
        assert order[-1] is rules.ReleaseFlowConcurrencySlots
        assert rules.ReleaseFlowConcurrencySlots in policies.MINIMAL_FLOW_POLICY


@pytest.mark.parametrize("path", ["flows/{flow}", "deployments/{deployment}"])
def test_deleting_the_flow_or_the_deployment_takes_its_concurrency_limit_along(api, flow, path):
    deployment = limited(flow, 2)
    limit_id = deployment.concurrency_limit_id

    response = api.delete(path.format(flow=flow.pk, deployment=deployment.pk))

    assert response.status_code in (200, 204), response.content
    assert not ConcurrencyLimit.objects.filter(pk=limit_id).exists()
