"""What each scenario checks once its load is done."""

from bench import verify


def test_api_runs_pass_when_every_run_completed():
    assert verify.api_runs(expected=100, completed=100, failed_runs=0)["ok"]


def test_api_runs_fail_when_a_run_is_missing_or_failed():
    assert not verify.api_runs(expected=100, completed=99, failed_runs=0)["ok"]
    assert not verify.api_runs(expected=100, completed=100, failed_runs=1)["ok"]


def test_flows_need_every_flow_run_and_task_run_completed():
    assert verify.flows(flows=2, tasks=50, flow_runs_completed=2, task_runs_completed=100)["ok"]
    result = verify.flows(flows=2, tasks=50, flow_runs_completed=2, task_runs_completed=75)
    assert not result["ok"]
    assert result["task_runs_expected"] == 100


def test_logs_are_counted_by_offset_probing():
    fine = dict(sent=1000, expected_for_run=100, page=100, page_limit=200, at_last=1, beyond_last=0)
    assert verify.logs(**fine)["ok"]
    assert not verify.logs(**{**fine, "beyond_last": 1})["ok"], "more records than were sent"
    assert not verify.logs(**{**fine, "at_last": 0})["ok"], "records were lost"


def test_a_full_page_of_logs_is_the_page_limit():
    assert verify.logs(sent=10_000, expected_for_run=1000, page=200, page_limit=200, at_last=1, beyond_last=0)["ok"]


def test_reads_need_the_target_size_and_no_errors():
    assert verify.reads(target=10_000, total=10_400, errors=0)["ok"]
    assert not verify.reads(target=10_000, total=9_999, errors=0)["ok"]
    assert not verify.reads(target=10_000, total=10_000, errors=2)["ok"]


def test_deployments_allow_runs_the_scheduler_added():
    assert verify.deployments(created=500, scheduled=600, schedules=1, failed_runs=0)["ok"]
    assert not verify.deployments(created=500, scheduled=499, schedules=1, failed_runs=0)["ok"]
    assert not verify.deployments(created=499, scheduled=600, schedules=1, failed_runs=1)["ok"]
