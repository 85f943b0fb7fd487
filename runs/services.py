"""Loop services of the runs app: marking late runs, failing expired pauses, folding run counts."""

from __future__ import annotations

import datetime as dt
import logging

from django.utils import timezone

from orchestrator.services import Service, claimed

from .choices import StateType
from .models import FlowRun
from .orchestration import engine, policies
from .orchestration.states import State, failed

logger = logging.getLogger("orchestrator.services")

BATCH = 200


class MarkLateRuns(Service):
    """Scheduled runs whose start time passed more than `after_seconds` ago become Late
    (a Scheduled state named Late), so dashboards and notifications can see them.

    Only the late-run policy applies: a run some worker moved on in the meantime is left
    alone, and a run is never marked twice, so several server processes can run this."""

    name = "late_runs"

    def run_once(self) -> int:
        after = float(self.options.get("after_seconds", 15))
        cutoff = timezone.now() - dt.timedelta(seconds=after)
        marked = 0
        while True:
            late = list(
                FlowRun.objects.filter(state_type=StateType.SCHEDULED, next_scheduled_start_time__lte=cutoff)
                .exclude(state_name="Late")
                .order_by("next_scheduled_start_time")
                .values_list("id", "next_scheduled_start_time")[:BATCH]
            )
            for run_id, scheduled_time in late:
                proposed = State(type=StateType.SCHEDULED, name="Late")
                proposed.set_detail("scheduled_time", scheduled_time)
                with claimed(FlowRun, run_id, state_type=StateType.SCHEDULED) as run:
                    if run is None:
                        continue
                    ctx = engine.set_flow_run_state(run_id, proposed, policy=policies.MARK_LATE_POLICY)
                    marked += ctx.wrote_state
            if len(late) < BATCH:
                return marked


class FailExpiredPauses(Service):
    """Paused runs whose pause timeout has passed fail: nobody resumed them in time."""

    name = "pause_expirations"

    def run_once(self) -> int:
        now = timezone.now()
        failed_count = 0
        paused = FlowRun.objects.filter(state_type=StateType.PAUSED).select_related("state").order_by("state_timestamp")
        for run in paused[:BATCH]:
            if run.state is None:
                continue
            timeout = State.from_row(run.state).detail_time("pause_timeout")
            if timeout is None or timeout >= now:
                continue
            try:
                ctx = engine.set_flow_run_state(run.pk, failed("The flow was paused and never resumed."), force=True)
            except FlowRun.DoesNotExist:
                continue
            failed_count += ctx.wrote_state
        return failed_count


class FoldRunCounts(Service):
    """Folds the changes written for counts of runs by state type into one row per type
    (runs.counts), so that a count adds up a handful of rows however busy the server is.

    It looks every second and folds once there are more than counts.FOLD_PAST rows. Folding
    every ten seconds, a burst of 10,000 new runs (the bench's reads database, seeded through
    the API) left a count summing up to 10,000 rows for up to ten seconds: 1.7 ms instead of
    1.0 ms through the API."""

    name = "run_counts"

    def run_once(self) -> int:
        from . import counts

        return counts.fold() if counts.worth_folding() else 0


SERVICES = [MarkLateRuns, FailExpiredPauses, FoldRunCounts]
