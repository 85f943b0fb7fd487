"""The one way notifications make HTTP requests.

`request()` sends with `requests` and a timeout, follows redirects only within the same
scheme, host and port, keeps the first bytes of the answer for the delivery history, and
turns every failure into a `TransportError` that says whether trying again can help:

- transient (retried): no connection, a timeout, 408, 429 (with its Retry-After), 5xx;
- permanent (not retried): any other 4xx, a redirect to another host, a URL that cannot be
  sent to, and, when private addresses are forbidden, a host that resolves to one.

The private-address guard checks the addresses the host resolves to, and connects to the
address it checked (so a name that resolves to a public address for the check and a private
one for the connection cannot slip through).
"""

from __future__ import annotations

import datetime as dt
import email.utils
import ipaddress
import socket
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from orchestrator.version import ORCHESTRATOR_VERSION

from .outcomes import Outcome, TransportError

USER_AGENT = f"Orchestrator/{ORCHESTRATOR_VERSION} notifications"
EXCERPT_BYTES = 2000
MAX_REDIRECTS = 3


# -- private addresses ------------------------------------------------------------------------


class PrivateAddressError(Exception):
    """Raised while connecting; not an OSError, so urllib3 lets it through unchanged."""


def is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not (
        ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_reserved or ip.is_multicast or ip.is_unspecified
    )


def public_address(host: str, port: int | None) -> str:
    """The address to connect to for `host`, refusing a host with any non-public address."""
    infos = socket.getaddrinfo(host.strip("[]"), port or 0, type=socket.SOCK_STREAM)
    addresses = [info[4][0] for info in infos]
    for address in addresses:
        if not is_public(address):
            raise PrivateAddressError(
                f"{host} resolves to {address}, a private, loopback, link-local or reserved address, "
                "and this block does not allow private URLs (allow_private_urls is false)"
            )
    if not addresses:
        raise socket.gaierror(f"{host} resolves to no address")
    return addresses[0]


class _CheckedConnect:
    """Connects to the checked address of the host, keeping the host name for TLS."""

    def _new_conn(self):
        checked = public_address(self._dns_host, self.port)
        name = self._dns_host
        self._dns_host = checked
        try:
            return super()._new_conn()
        finally:
            self._dns_host = name


class _CheckedHTTPConnection(_CheckedConnect, HTTPConnection):
    pass


class _CheckedHTTPSConnection(_CheckedConnect, HTTPSConnection):
    pass


class _CheckedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _CheckedHTTPConnection


class _CheckedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _CheckedHTTPSConnection


class _PublicOnlyAdapter(HTTPAdapter):
    def init_poolmanager(self, *args, **kwargs):
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _CheckedHTTPPool, "https": _CheckedHTTPSPool}


def _session(allow_private: bool) -> requests.Session:
    session = requests.Session()
    if not allow_private:
        adapter = _PublicOnlyAdapter(max_retries=0)
        session.mount("http://", adapter)
        session.mount("https://", adapter)
        # A proxy would be the address checked, not the destination: guarded sends go direct.
        session.trust_env = False
    return session


# -- answers ----------------------------------------------------------------------------------


def _excerpt(response: requests.Response) -> str:
    data = b""
    try:
        for chunk in response.iter_content(chunk_size=1024):
            data += chunk
            if len(data) >= EXCERPT_BYTES:
                break
    except requests.RequestException:
        pass
    text = data[:EXCERPT_BYTES].decode(response.encoding or "utf-8", errors="replace")
    return text


def retry_after_seconds(value: str | None, now: dt.datetime | None = None) -> float | None:
    """Retry-After as seconds from now: delta-seconds or an HTTP date (RFC 9110 §10.2.3)."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    now = now or dt.datetime.now(dt.UTC)
    return max(0.0, (when - now).total_seconds())


def _reason(response: requests.Response, excerpt: str) -> str:
    text = f"{response.status_code} {response.reason or ''}".strip()
    snippet = " ".join(excerpt.split())[:300]
    return f"{text}: {snippet}" if snippet else text


def raise_for_response(response: requests.Response, excerpt: str) -> None:
    """Turn a non-2xx answer into a TransportError, transient or permanent."""
    status = response.status_code
    if 200 <= status < 300:
        return
    reason = _reason(response, excerpt)
    if status == 429:
        raise TransportError(
            f"rate limited: {reason}",
            permanent=False,
            status_code=status,
            retry_after=retry_after_seconds(response.headers.get("Retry-After")),
            excerpt=excerpt,
        )
    if status == 408 or status >= 500:
        raise TransportError(
            reason,
            permanent=False,
            status_code=status,
            retry_after=retry_after_seconds(response.headers.get("Retry-After")) if status == 503 else None,
            excerpt=excerpt,
        )
    if 300 <= status < 400:
        location = response.headers.get("Location", "")
        raise TransportError(
            f"{status}: redirected to {location or 'nowhere'}; redirects to another host are not followed",
            permanent=True,
            status_code=status,
            excerpt=excerpt,
        )
    raise TransportError(reason, permanent=True, status_code=status, excerpt=excerpt)


# -- the request --------------------------------------------------------------------------------


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme.lower(), (parts.netloc or "").lower()


def request(
    method: str,
    url: str,
    *,
    timeout: float,
    headers: dict[str, str] | None = None,
    json: Any = None,
    data: Any = None,
    params: dict[str, Any] | None = None,
    cookies: dict[str, str] | None = None,
    auth: tuple[str, str] | None = None,
    allow_private: bool = True,
) -> Outcome:
    """Send one request; the answer's status and excerpt, or a TransportError."""
    scheme, netloc = _origin(url)
    try:
        hostname = urlsplit(url).hostname
    except ValueError:
        hostname = None
    if scheme not in ("http", "https") or not hostname:
        # Never the URL itself in a message: webhook URLs hold secrets.
        raise TransportError(
            "cannot send to this URL: it is not an http:// or https:// URL with a host", permanent=True
        )
    all_headers = {"User-Agent": USER_AGENT}
    all_headers.update(headers or {})
    session = _session(allow_private)
    try:
        current, current_method, body_json, body_data = url, method.upper(), json, data
        for _ in range(MAX_REDIRECTS + 1):
            try:
                response = session.request(
                    current_method,
                    current,
                    headers=all_headers,
                    json=body_json,
                    data=body_data,
                    params=params,
                    cookies=cookies,
                    auth=auth,
                    timeout=timeout,
                    allow_redirects=False,
                    stream=True,
                )
            except PrivateAddressError as exc:
                raise TransportError(str(exc), permanent=True) from None
            except requests.Timeout:
                raise TransportError(f"no answer within {timeout:g} seconds", permanent=False) from None
            except (requests.exceptions.InvalidURL, requests.exceptions.MissingSchema, ValueError) as exc:
                raise TransportError(
                    f"cannot send to this URL on {hostname}: it is not valid ({exc.__class__.__name__})",
                    permanent=True,
                ) from None
            except requests.ConnectionError as exc:
                raise TransportError(f"could not connect: {_root_cause(exc)}", permanent=False) from None
            except requests.RequestException as exc:
                raise TransportError(f"request failed: {exc}", permanent=False) from None
            try:
                excerpt = _excerpt(response)
            finally:
                response.close()
            if response.is_redirect and response.headers.get("Location"):
                target = urljoin(current, response.headers["Location"])
                if _origin(target) != (scheme, netloc):
                    raise_for_response(response, excerpt)  # a permanent "redirected elsewhere"
                current, params = target, None
                if response.status_code in (301, 302, 303) and current_method != "HEAD":
                    current_method, body_json, body_data = "GET", None, None
                continue
            raise_for_response(response, excerpt)
            return Outcome(response.status_code, excerpt)
        raise TransportError(f"more than {MAX_REDIRECTS} redirects", permanent=True)
    finally:
        session.close()


def _root_cause(exc: BaseException) -> str:
    """The innermost reason of a connection error, without urllib3's object addresses."""
    seen = exc
    while True:
        inner = getattr(seen, "reason", None) or seen.__cause__ or seen.__context__
        if inner is None or inner is seen:
            break
        seen = inner
    text = str(seen)
    if "]" in text and text.startswith("<"):
        text = text.split(">:", 1)[-1].strip()
    return text or exc.__class__.__name__
