"""Signals other apps listen to."""

from django.dispatch import Signal

# Sent inside the deleting transaction with `ids`: the flow runs being deleted.
flow_runs_deleted = Signal()

# Sent inside the writing transaction with `states`: a list of (FlowRun, FlowRunState) pairs,
# every flow-run state just written (accepted, or chosen by the server in place of the
# proposal). A receiver that writes rows in that transaction commits or rolls back with the
# state. The engine sends one pair at a time; the scheduler sends the batch it inserted.
flow_run_states_written = Signal()
