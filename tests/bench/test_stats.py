"""The benchmark's percentiles and summaries."""

import pytest

from bench.stats import latency_summary, median, percentile, rate


def test_the_median_of_an_odd_list_is_its_middle_value():
    assert percentile([3, 1, 2], 50) == 2


def test_percentiles_interpolate_between_ranks():
    # rank (4 - 1) * 0.95 = 2.85: 30 + 0.85 * (40 - 30)
    assert percentile([10, 20, 30, 40], 95) == pytest.approx(38.5)
    assert percentile([10, 20, 30, 40], 50) == pytest.approx(25)


def test_the_extremes_are_the_minimum_and_the_maximum():
    values = [5.0, 1.0, 9.0]
    assert percentile(values, 0) == 1.0
    assert percentile(values, 100) == 9.0


def test_a_single_value_is_every_percentile():
    assert percentile([7.0], 95) == 7.0


def test_no_values_have_no_percentile():
    assert percentile([], 50) is None


def test_a_percentile_outside_0_to_100_is_refused():
    with pytest.raises(ValueError):
        percentile([1, 2], 101)


def test_a_latency_summary_is_in_milliseconds():
    summary = latency_summary([0.010, 0.020, 0.030])
    assert summary["n"] == 3
    assert summary["p50_ms"] == 20.0
    assert summary["max_ms"] == 30.0
    assert summary["mean_ms"] == 20.0


def test_a_summary_of_nothing_only_counts():
    assert latency_summary([]) == {"n": 0}


def test_the_median_skips_repetitions_that_measured_nothing():
    assert median([3.0, None, 1.0]) == 2.0
    assert median([None, None]) is None


def test_a_rate_needs_time_to_have_passed():
    assert rate(50, 2.0) == 25.0
    assert rate(50, 0) is None
