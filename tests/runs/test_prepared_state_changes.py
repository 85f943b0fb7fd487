"""On SQLite a flow run's state change is prepared before the write turn (read the run, enter
the rules) and checked and written in it; what changes the run meanwhile, or a rule that must
write, sends the change back through the transaction. These tests commit for real
(transaction=True): inside a test's own transaction the engine writes in it directly."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, connections, transaction
from django.utils import timezone

from orchestrator.backends.sqlite.base import WouldWrite
from runs.models import FlowRun, FlowRunState
from runs.orchestration import engine
from runs.orchestration.rules import Rule
from variables.models import Variable

from . import test_flow_policy as policy
from .helpers import flow_run_in, propose, state

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "sqlite", reason="PostgreSQL locks the run's row instead"),
]


@pytest.fixture
def fetches(monkeypatch):
    """Each read of the run by the engine in the test's thread: True when it was read in the
    transaction."""
    seen = []
    fetch = engine._fetch_flow_run

    def spy(flow_run_id, *, for_update):
        if threading.current_thread() is threading.main_thread():
            seen.append(connection.in_atomic_block)
        return fetch(flow_run_id, for_update=for_update)

    monkeypatch.setattr(engine, "_fetch_flow_run", spy)
    return seen


def in_another_thread(work) -> None:
    """Run `work` on its own connection, as another request would, and wait for it."""

    def target():
        try:
            work()
        finally:
            connections.close_all()

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()


def test_a_flow_run_is_read_before_the_write_turn_and_its_state_written_in_it(flow, fetches, monkeypatch):
    run = flow_run_in(flow, "PENDING")
    fetches.clear()
    statements = []
    made = []
    insert_statement = engine.rows.insert_statement

    def spy(row):
        made.append((type(row).__name__, connection.in_atomic_block))
        return insert_statement(row)

    monkeypatch.setattr(engine.rows, "insert_statement", spy)

    run_updates = []

    def record(execute, sql, params, many, context):
        statements.append((sql.split()[0].upper(), connection.in_atomic_block))
        if sql.startswith('UPDATE "runs_flowrun"'):
            run_updates.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record):
        ctx = propose(run, state("RUNNING"))
    assert ctx.status == "ACCEPT"
    assert run.state_type == "RUNNING" and run.run_count == 1
    assert fetches == [False]
    assert made == [("FlowRunState", False)]  # the state row's INSERT is made before the turn
    assert all(inside for verb, inside in statements if verb in {"INSERT", "UPDATE"})
    assert statements[0] == ("SELECT", False)
    # Only the columns the change alters are written, as after a read FOR UPDATE.
    [update] = run_updates
    assert '"state_type"' in update and '"name"' not in update and '"parameters"' not in update


def test_a_run_changed_while_its_change_was_prepared_is_changed_again_in_the_transaction(flow, fetches, monkeypatch):
    run = flow_run_in(flow, "PENDING")
    fetches.clear()
    enter = engine._enter

    def enter_after_someone_else(ctx, rule_classes):
        if ctx.proposed_type == "COMPLETED" and connection.reading_only:
            in_another_thread(lambda: propose(FlowRun.objects.get(pk=run.pk), state("RUNNING")))
        return enter(ctx, rule_classes)

    monkeypatch.setattr(engine, "_enter", enter_after_someone_else)
    ctx = propose(run, state("COMPLETED"))
    assert fetches == [False, True]
    assert ctx.status == "ACCEPT"
    # Read again in the transaction, the run had been running: it started, and ran once.
    assert sorted(FlowRunState.objects.filter(flow_run=run).values_list("type", flat=True)) == [
        "COMPLETED",
        "PENDING",
        "RUNNING",
    ]
    assert run.state_type == "COMPLETED"
    assert run.run_count == 1 and run.start_time is not None and run.total_run_time >= 0


def test_an_edit_made_meanwhile_is_kept_and_the_change_made_afresh(flow, fetches, monkeypatch):
    run = flow_run_in(flow, "PENDING")
    fetches.clear()
    enter = engine._enter

    def enter_after_an_edit(ctx, rule_classes):
        if connection.reading_only:
            in_another_thread(lambda: FlowRun.objects.filter(pk=run.pk).update(name="renamed", updated=timezone.now()))
        return enter(ctx, rule_classes)

    monkeypatch.setattr(engine, "_enter", enter_after_an_edit)
    ctx = propose(run, state("RUNNING"))
    assert fetches == [False, True]
    assert ctx.status == "ACCEPT"
    assert (run.name, run.state_type) == ("renamed", "RUNNING")


class WritesOnEntry(Rule):
    """A rule that writes while it decides, as taking a concurrency slot does."""

    def before(self, initial, proposed):
        Variable.objects.create(name=f"entered-{Variable.objects.count()}", value=1)


def test_a_rule_that_writes_sends_the_change_into_the_transaction_and_writes_once(flow, fetches):
    run = flow_run_in(flow, "PENDING")
    fetches.clear()
    ctx = propose(run, state("RUNNING"), policy=[WritesOnEntry])
    assert ctx.status == "ACCEPT"
    assert fetches == [False, True]
    assert list(Variable.objects.values_list("name", flat=True)) == ["entered-0"]
    assert FlowRunState.objects.filter(flow_run=run, type="RUNNING").count() == 1


def test_inside_a_callers_transaction_the_change_is_made_in_it(flow, fetches):
    run = flow_run_in(flow, "PENDING")
    fetches.clear()
    with transaction.atomic():
        ctx = propose(run, state("RUNNING"))
    assert ctx.status == "ACCEPT"
    assert fetches == [True]


def test_an_unknown_run_is_still_reported_missing(flow):
    with pytest.raises(FlowRun.DoesNotExist):
        engine.set_flow_run_state("0192f0a4-6a39-7c6e-9d1c-7a9f5a0f0b11", state("RUNNING"))
    assert not connection.reading_only


def test_the_state_the_caller_proposed_is_left_as_it_was(flow):
    run = flow_run_in(flow, "PENDING")
    proposed = state("RUNNING")
    ctx = propose(run, proposed)
    assert proposed.detail("flow_run_id") is None
    assert ctx.validated.detail("flow_run_id") == str(run.pk)


def test_reading_only_refuses_writes_and_transactions_and_then_lets_them_be(flow):
    with connection.reads_only():
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            with pytest.raises(WouldWrite):
                cursor.execute("UPDATE runs_flow SET name = name")
            with pytest.raises(WouldWrite):
                cursor.execute("DELETE FROM runs_flow")
        with pytest.raises(WouldWrite), transaction.atomic():
            pass
    assert not connection.in_atomic_block
    with transaction.atomic():
        Variable.objects.create(name="after", value=1)
    assert Variable.objects.filter(name="after").exists()


def test_reading_only_is_refused_inside_a_transaction(flow):
    with transaction.atomic(), pytest.raises(WouldWrite), connection.reads_only():
        pass


# The core flow policy's cases again, each change prepared before the turn as the server makes
# it (the module above runs them inside the test's transaction, where the engine locks first).


class TestPreventDuplicateTransitions(policy.TestPreventDuplicateTransitions):
    pass


class TestHandleFlowTerminalStateTransitions(policy.TestHandleFlowTerminalStateTransitions):
    pass


class TestEnforceCancellingToCancelledTransition(policy.TestEnforceCancellingToCancelledTransition):
    pass


class TestBypassCancellingFlowRunsWithNoInfra(policy.TestBypassCancellingFlowRunsWithNoInfra):
    pass


class TestPreventPendingTransitions(policy.TestPreventPendingTransitions):
    pass


class TestEnsureOnlyScheduledFlowsMarkedLate(policy.TestEnsureOnlyScheduledFlowsMarkedLate):
    pass


class TestHandlePausingFlows(policy.TestHandlePausingFlows):
    pass


class TestHandleResumingPausedFlows(policy.TestHandleResumingPausedFlows):
    pass


class TestWaitForScheduledTime(policy.TestWaitForScheduledTime):
    pass


class TestRetryFailedFlows(policy.TestRetryFailedFlows):
    pass


class TestForcedTransitions(policy.TestForcedTransitions):
    pass
