"""The `prefect flow-run` commands a user reads runs with work against our server (PROTOCOL 9)."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.e2e


def test_flow_run_ls_lists_the_run(prefect, server_api, core_runs):
    run = server_api.flow_run(core_runs["pipeline"])

    listing = prefect.cli("flow-run", "ls").stdout

    assert run["name"] in listing
    assert run["id"] in listing
    assert "COMPLETED" in listing


def test_flow_run_inspect_shows_the_run(prefect, server_api, core_runs):
    run = server_api.flow_run(core_runs["pipeline"])

    shown = prefect.cli("flow-run", "inspect", run["id"]).stdout

    assert run["id"] in shown
    assert run["name"] in shown
    assert "COMPLETED" in shown


def test_flow_run_logs_prints_the_runs_log_lines(prefect, core_runs):
    shown = prefect.cli("flow-run", "logs", core_runs["pipeline"]).stdout

    assert "pipeline result is 8" in shown
    assert "summing 4 values" in shown
    assert "a warning from the flow" in shown


def test_flow_run_inspect_of_an_unknown_run_fails_with_our_404(prefect):
    # The 3.8.8 CLI turns the 404 into ObjectNotFound and prints its traceback, as it does
    # against Prefect's server; what matters is the status and detail we answered.
    missing = prefect.cli("flow-run", "inspect", "00000000-0000-4000-8000-000000000000", expect=1)

    assert "404 Not Found" in missing.output
    assert "{'detail': 'Flow run not found'}" in missing.output
