"""The HTTP channel's bookkeeping of idle connections (orchestrator.httpchannel), on a Twisted
test transport; what it says on the wire is tested against the real server in
tests/e2e/test_serving.py."""

from __future__ import annotations

from twisted.internet.testing import StringTransport

from orchestrator import httpchannel


def open_channel() -> httpchannel.HTTPChannel:
    channel = httpchannel.HTTPChannel(server=None, answer=None, on_pool=None, body_file=None)
    channel.makeConnection(StringTransport())
    return channel


def test_a_connection_silent_past_the_idle_limit_is_closed():
    channel = open_channel()
    later = channel.last_seen + httpchannel.IDLE_SECONDS + 1
    assert httpchannel.close_idle(now=later) >= 1
    assert channel.transport.disconnecting
    assert channel.closed


def test_a_connection_that_spoke_recently_is_kept():
    channel = open_channel()
    httpchannel.close_idle(now=channel.last_seen + httpchannel.IDLE_SECONDS - 1)
    assert not channel.transport.disconnecting


def test_a_connection_answering_a_request_is_kept_however_long_it_takes():
    channel = open_channel()
    channel.busy = True
    httpchannel.close_idle(now=channel.last_seen + httpchannel.IDLE_SECONDS + 1)
    assert not channel.transport.disconnecting


def test_a_closed_connection_is_forgotten():
    channel = open_channel()
    channel.connectionLost()
    assert channel not in httpchannel._open_channels
