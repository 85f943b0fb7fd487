"""Policies: which rules run, in which order, for each kind of transition."""

from . import bookkeeping as book
from . import concurrency_rules as slots
from . import flow_rules as flow
from . import run_rules as run
from . import task_rules as task

CORE_FLOW_POLICY = [
    slots.PreserveDeploymentConcurrencyLeaseId,
    flow.PreventDuplicateTransitions,
    flow.HandleFlowTerminalStateTransitions,
    flow.EnforceCancellingToCancelledTransition,
    flow.BypassCancellingFlowRunsWithNoInfra,
    run.PreventPendingTransitions,
    slots.ValidateDeploymentConcurrencyAtRunning,
    slots.SecureFlowConcurrencySlots,
    flow.EnsureOnlyScheduledFlowsMarkedLate,
    flow.HandlePausingFlows,
    flow.HandleResumingPausedFlows,
    run.CopyScheduledTime,
    run.WaitForScheduledTime,
    flow.RetryFailedFlows,
    book.InstrumentFlowRunStateTransitions,
    slots.ReleaseFlowConcurrencySlots,
]

# Forced transitions (`force=true`) skip the rules but keep results, events and slots right.
MINIMAL_FLOW_POLICY = [
    flow.PreventResultDataLoss,
    flow.BypassCancellingFlowRunsWithNoInfra,
    book.InstrumentFlowRunStateTransitions,
    slots.ReleaseFlowConcurrencySlots,
]

# The late-runs service marks runs Late through this policy only.
MARK_LATE_POLICY = [
    flow.EnsureOnlyScheduledFlowsMarkedLate,
    slots.EnforceDeploymentConcurrencyOnLate,
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
