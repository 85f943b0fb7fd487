"""Policies: which rules run, in which order, for each kind of transition.

Rules that need features from later parts of the product plug in at the marked places:
deployment concurrency slots (secure on PENDING, validate at RUNNING, release on leaving
an active state) and task tag concurrency slots.
"""

from . import bookkeeping as book
from . import flow_rules as flow
from . import run_rules as run
from . import task_rules as task

CORE_FLOW_POLICY = [
    flow.PreventDuplicateTransitions,
    flow.HandleFlowTerminalStateTransitions,
    flow.EnforceCancellingToCancelledTransition,
    flow.BypassCancellingFlowRunsWithNoInfra,
    run.PreventPendingTransitions,
    # deployment concurrency: validate the slot at RUNNING, secure one on PENDING
    flow.EnsureOnlyScheduledFlowsMarkedLate,
    flow.HandlePausingFlows,
    flow.HandleResumingPausedFlows,
    run.CopyScheduledTime,
    run.WaitForScheduledTime,
    flow.RetryFailedFlows,
    book.InstrumentFlowRunStateTransitions,
    # deployment concurrency: release the slot when the run leaves an active state
]

# Forced transitions (`force=true`) skip the rules but keep results, events and slots right.
MINIMAL_FLOW_POLICY = [
    flow.PreventResultDataLoss,
    flow.BypassCancellingFlowRunsWithNoInfra,
    book.InstrumentFlowRunStateTransitions,
]

# The late-runs service marks runs Late through this policy only.
MARK_LATE_POLICY = [
    flow.EnsureOnlyScheduledFlowsMarkedLate,
    book.InstrumentFlowRunStateTransitions,
]

CORE_TASK_POLICY = [
    task.CacheRetrieval,
    task.HandleTaskTerminalStateTransitions,
    task.PreventRunningTasksFromStoppedFlows,
    # task tag concurrency: secure slots for the run's tags
    run.CopyScheduledTime,
    run.WaitForScheduledTime,
    task.RetryFailedTasks,
    run.RenameReruns,
    task.UpdateFlowRunTrackerOnTasks,
    task.CacheInsertion,
    # task tag concurrency: release slots
]

MINIMAL_TASK_POLICY: list = [
    # task tag concurrency: release slots
]

COMMON_BOOKKEEPING = [
    book.SetStateColumns,
    book.SetStartAndEndTimes,
    book.IncrementRunTime,
    book.SetExpectedStartTime,
    book.SetNextScheduledStartTime,
    book.UpdateStateDetails,
]

FLOW_BOOKKEEPING = [
    book.EnsureStateTimestampIsUnique,
    *COMMON_BOOKKEEPING,
    book.UpdateSubflowParentTask,
    book.UpdateSubflowStateDetails,
    book.IncrementFlowRunCount,
    book.RemoveResumingIndicator,
]

TASK_BOOKKEEPING = [*COMMON_BOOKKEEPING, book.IncrementTaskRunCount]
