"""The benchmark's HTTP plumbing that needs no server: retry delays, the tally, the client pool."""

import random

import pytest

from bench.client import Api, RetryPolicy, Tally, run_pool


def test_retry_delays_double_up_to_the_maximum_with_jitter():
    policy = RetryPolicy(retries=10, first_delay=0.05, max_delay=2.0)
    rng = random.Random(1)
    for attempt, base in [(0, 0.05), (1, 0.1), (2, 0.2), (8, 2.0)]:
        delay = policy.delay(attempt, rng)
        assert 0.5 * base <= delay <= 1.5 * base


def test_the_tally_counts_retries_and_requests_given_up():
    tally = Tally()
    tally.attempt("POST /flow_runs/", 0.01)
    tally.error("POST /flow_runs/", "HTTP 503", "locked", will_retry=True)
    tally.error("POST /flow_runs/", "HTTP 503", "locked", will_retry=False)
    tally.gave_up()
    figures = tally.as_dict()
    assert figures["retried"] == 1
    assert figures["failed_requests"] == 1
    assert figures["error_answers"] == {"POST /flow_runs/": {"HTTP 503": 2}}
    assert tally.latency()["POST /flow_runs/"]["n"] == 1


def test_the_pool_runs_every_item_once_and_returns_the_failures():
    seen = []

    def work(i):
        seen.append(i)
        if i % 10 == 0:
            raise RuntimeError(f"item {i}")

    failures = run_pool(35, 4, work)
    assert sorted(seen) == list(range(35))
    assert sorted(str(f) for f in failures) == ["item 0", "item 10", "item 20", "item 30"]


def test_the_client_only_talks_to_this_machine():
    with pytest.raises(ValueError):
        Api("http://example.com/api")
    assert Api("http://127.0.0.1:4200/api/").api_url == "http://127.0.0.1:4200/api"
