"""Signals other apps listen to."""

from django.dispatch import Signal

# Sent inside the deleting transaction with `ids`: the flow runs being deleted.
flow_runs_deleted = Signal()
