"""The one HTTP wrapper: classification of answers, redirects, excerpts, the private-address guard."""

from __future__ import annotations

import datetime as dt

import pytest

from notifications import http
from notifications.http import TransportError
from notifications.transports.base import Transport

from .receiver import Reply


@pytest.mark.parametrize(
    "address",
    ["127.0.0.1", "10.1.2.3", "172.16.0.1", "192.168.1.1", "169.254.169.254", "0.0.0.0", "100.64.0.1", "224.0.0.1"]
    + ["240.0.0.1", "::1", "fe80::1", "fc00::1", "::ffff:127.0.0.1", "::ffff:10.0.0.1", "::"],
)
def test_private_loopback_link_local_and_reserved_addresses_are_not_public(address):
    assert not http.is_public(address)


@pytest.mark.parametrize("address", ["93.184.216.34", "8.8.8.8", "2606:4700:4700::1111", "::ffff:8.8.8.8"])
def test_global_addresses_are_public(address):
    assert http.is_public(address)


def test_a_guarded_request_to_a_name_that_resolves_to_loopback_is_refused(receiver):
    with pytest.raises(TransportError) as caught:
        http.request("POST", f"http://localhost:{receiver.port}/x", timeout=2, allow_private=False)

    assert caught.value.permanent
    assert "resolves to" in caught.value.message and "allow_private_urls" in caught.value.message
    assert not receiver.requests


def test_an_unguarded_request_reaches_loopback(receiver):
    outcome = http.request("POST", f"{receiver.url}/x", timeout=2, json={"a": 1})

    assert (outcome.status_code, outcome.excerpt) == (200, "ok")
    assert receiver.requests[0].json == {"a": 1}
    assert receiver.requests[0].header("User-Agent").startswith("Orchestrator/")


def test_the_excerpt_keeps_only_the_start_of_a_long_answer(receiver):
    receiver.reply("/big", Reply(500, "x" * 100_000))

    with pytest.raises(TransportError) as caught:
        http.request("GET", f"{receiver.url}/big", timeout=2)

    assert len(caught.value.excerpt) == http.EXCERPT_BYTES
    assert len(caught.value.message) < 400


def test_a_redirect_within_the_host_is_followed(receiver):
    receiver.reply("/old", Reply(307, "", {"Location": "/new"}))

    outcome = http.request("POST", f"{receiver.url}/old", timeout=2, json={"k": "v"})

    assert outcome.status_code == 200
    assert [(r.method, r.path) for r in receiver.requests] == [("POST", "/old"), ("POST", "/new")]
    assert receiver.requests[1].json == {"k": "v"}


def test_a_redirect_to_another_host_is_a_permanent_failure(receiver):
    receiver.reply("/old", Reply(302, "", {"Location": "http://127.0.0.2:1/elsewhere"}))

    with pytest.raises(TransportError) as caught:
        http.request("POST", f"{receiver.url}/old", timeout=2)

    assert caught.value.permanent and caught.value.status_code == 302
    assert "127.0.0.2" in caught.value.message
    assert len(receiver.requests) == 1


@pytest.mark.parametrize("url", ["ftp://example.com/x", "file:///etc/passwd", "http:///nohost", "not a url"])
def test_urls_that_are_not_http_are_permanent_failures(url):
    with pytest.raises(TransportError) as caught:
        http.request("GET", url, timeout=1)

    assert caught.value.permanent


def test_retry_after_is_read_as_seconds_or_as_a_date():
    now = dt.datetime(2026, 1, 1, 12, 0, 0, tzinfo=dt.UTC)

    assert http.retry_after_seconds("30") == 30
    assert http.retry_after_seconds("Thu, 01 Jan 2026 12:02:00 GMT", now) == 120
    assert http.retry_after_seconds("Thu, 01 Jan 2026 11:00:00 GMT", now) == 0
    assert http.retry_after_seconds("soon") is None
    assert http.retry_after_seconds(None) is None


class _Service(Transport):
    service = "slack"


def test_an_override_replaces_scheme_and_host_and_may_add_a_prefix(settings):
    settings.ORCHESTRATOR = {
        **settings.ORCHESTRATOR,
        "NOTIFICATIONS": {
            **settings.ORCHESTRATOR["NOTIFICATIONS"],
            "SERVICE_URLS": {"slack": "http://relay:8080/slack"},
        },
    }

    url, overridden = _Service().service_url("https://hooks.slack.com/services/T/B/C?x=1")

    assert (url, overridden) == ("http://relay:8080/slack/services/T/B/C?x=1", True)


def test_without_an_override_the_real_url_is_used(settings):
    settings.ORCHESTRATOR = {
        **settings.ORCHESTRATOR,
        "NOTIFICATIONS": {**settings.ORCHESTRATOR["NOTIFICATIONS"], "SERVICE_URLS": {}},
    }

    assert _Service().service_url("https://hooks.slack.com/services/T/B/C") == (
        "https://hooks.slack.com/services/T/B/C",
        False,
    )
