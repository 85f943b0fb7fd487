"""The side-by-side table: ratios, number formats, medians over repetitions, markdown."""

from bench import report


def server_run(server, backend="sqlite", rep=1, **scenarios):
    return {"server": server, "backend": backend, "rep": rep, "scenarios": scenarios}


def api_runs(requests_per_s, runs_per_s, retried=0, failed=0, ok=True, rss=100.0, cpu=10.0):
    return {
        "requests_per_s": requests_per_s,
        "runs_per_s": runs_per_s,
        "retried": retried,
        "failed_requests": failed,
        "failed_runs": failed,
        "verify": {"ok": ok},
        "server_usage": {"rss_peak_mb": rss, "cpu_s": cpu},
    }


def test_a_throughput_ratio_is_ours_over_prefects():
    assert report.ratio(32.0, 320.0, higher_is_better=True) == 10.0


def test_a_time_ratio_is_prefects_over_ours():
    assert report.ratio(60.0, 20.0, higher_is_better=False) == 3.0


def test_there_is_no_ratio_without_both_figures():
    assert report.ratio(None, 5.0, True) is None
    assert report.ratio(5.0, 0.0, True) is None


def test_numbers_keep_few_digits_when_big_and_more_when_small():
    assert report.format_number(1627.4) == "1,627"
    assert report.format_number(32.25) == "32.2"
    assert report.format_number(40.0) == "40"
    assert report.format_number(5.678) == "5.68"
    assert report.format_number(None) == "–"
    assert report.format_ratio(12.34) == "12.3×"
    assert report.format_ratio(0.5) == "0.50×"


def test_repetitions_are_reduced_to_their_median():
    runs = [
        server_run("ours", rep=1, api_runs=api_runs(300, 75)),
        server_run("ours", rep=2, api_runs=api_runs(340, 85)),
        server_run("prefect", rep=1, api_runs=api_runs(30, 6)),
        server_run("prefect", rep=2, api_runs=api_runs(34, 8)),
    ]
    row = next(r for r in report.rows(runs, "sqlite") if r.metric.label == "requests/s")
    assert (row.prefect.value, row.ours.value) == (32, 320)
    assert row.ratio == 10


def test_retries_failures_and_failed_checks_show_beside_the_figure():
    runs = [
        server_run("prefect", api_runs=api_runs(32.5, 5.7, retried=1627, failed=40, ok=False)),
        server_run("ours", api_runs=api_runs(320, 80)),
    ]
    row = next(r for r in report.rows(runs, "sqlite") if r.metric.label == "requests/s")
    assert row.prefect.render() == "32.5 (1,627 retried, 40 failed, verify failed in 1 of 1)"
    assert row.ours.render() == "320"


def test_memory_is_the_peak_over_scenarios_and_cpu_their_sum():
    both = {"api_runs": api_runs(1, 1, rss=120, cpu=10), "logs": {"server_usage": {"rss_peak_mb": 150, "cpu_s": 5}}}
    runs = [server_run("ours", **both), server_run("prefect", **both)]
    rows = {r.metric.label: r for r in report.rows(runs, "sqlite")}
    assert rows["peak RSS MB (tree)"].ours.value == 150
    assert rows["CPU s (all scenarios)"].ours.value == 15


def test_scenarios_nobody_ran_are_left_out_of_the_table():
    runs = [server_run("ours", api_runs=api_runs(320, 80)), server_run("prefect", api_runs=api_runs(32, 6))]
    scenarios = {row.metric.scenario for row in report.rows(runs, "sqlite")}
    assert scenarios == {"api_runs", "server"}


def test_a_server_that_did_not_run_is_marked_so():
    runs = [server_run("ours", api_runs=api_runs(320, 80))]
    row = next(r for r in report.rows(runs, "sqlite") if r.metric.label == "requests/s")
    assert row.prefect.render() == "not run"
    assert row.ratio is None


def test_the_table_has_one_section_per_backend_in_a_fixed_order():
    runs = [
        server_run("ours", backend="postgres", api_runs=api_runs(200, 50)),
        server_run("prefect", backend="postgres", api_runs=api_runs(20, 5)),
        server_run("ours", backend="sqlite", api_runs=api_runs(320, 80)),
        server_run("prefect", backend="sqlite", api_runs=api_runs(32, 8)),
    ]
    text = report.render(runs)
    assert text.index("### SQLite") < text.index("### PostgreSQL")
    assert "| api_runs | requests/s | 32 | 320 | 10.0× |" in text
    assert "| api_runs | requests/s | 20 | 200 | 10.0× |" in text
    header = "| scenario | metric | Prefect 3.8.8 | Orchestrator | ours vs Prefect |"
    assert text.count(header) == 2


def test_the_summary_holds_the_table_as_data():
    runs = [server_run("ours", api_runs=api_runs(320, 80)), server_run("prefect", api_runs=api_runs(32, 8))]
    figures = report.summary(runs)["sqlite"]["api_runs: runs/s"]
    assert figures == {"prefect": 8, "ours": 80, "ratio": 10.0, "rep_ratios": [10.0], "higher_is_better": True}


def test_each_repetition_has_its_own_ratio_and_the_table_shows_their_range():
    runs = [
        server_run("prefect", rep=1, api_runs=api_runs(40, 10)),
        server_run("ours", rep=1, api_runs=api_runs(240, 60)),
        server_run("prefect", rep=2, api_runs=api_runs(30, 6)),
        server_run("ours", rep=2, api_runs=api_runs(360, 90)),
    ]
    row = next(r for r in report.rows(runs, "sqlite") if r.metric.label == "requests/s")
    assert row.rep_ratios == [6.0, 12.0]
    assert row.ratio == 300 / 35
    assert "| api_runs | requests/s | 35 | 300 | 8.57× (6.00–12.0× by rep) |" in report.render(runs)


def test_a_repetition_only_one_server_ran_has_no_ratio_of_its_own():
    runs = [
        server_run("prefect", rep=1, api_runs=api_runs(30, 6)),
        server_run("ours", rep=1, api_runs=api_runs(300, 60)),
        server_run("ours", rep=2, api_runs=api_runs(500, 100)),
    ]
    row = next(r for r in report.rows(runs, "sqlite") if r.metric.label == "requests/s")
    assert row.rep_ratios == [10.0]
    assert row.render_ratio() == "13.3×"


def test_equal_ratios_in_every_repetition_show_no_range():
    runs = [
        server_run("prefect", rep=1, api_runs=api_runs(30, 6)),
        server_run("ours", rep=1, api_runs=api_runs(300, 60)),
        server_run("prefect", rep=2, api_runs=api_runs(40, 8)),
        server_run("ours", rep=2, api_runs=api_runs(400, 80)),
    ]
    row = next(r for r in report.rows(runs, "sqlite") if r.metric.label == "requests/s")
    assert row.render_ratio() == "10.0×"
