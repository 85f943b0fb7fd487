"""HTTP/1.1 on the server's connections, in place of Twisted's HTTP channel and Daphne's request.

Profiling a served count (one client, kept-alive connection) put about 55 % of the process's
Python time in Twisted's HTTP parsing and writing and Daphne's request bookkeeping, against
45 % for Django, the view and the query: a generic request object per request (with its
producer, timeout and notification plumbing), headers kept in a case-insensitive multimap,
the same ASGI scope rebuilt from them, and the response copied through it. What a request
needs here is small: the request line, the headers as the ASGI scope has them, the body, and
a response written back whole (or in chunks, for a streamed download). `HTTPChannel` is that.

- Requests on a connection are answered one at a time, in order (pipelined requests wait in
  the buffer). The body is framed by Content-Length or chunked transfer coding, and written
  to a file as it arrives (in memory while small, as Twisted's request kept it). A request
  with both framings, or with a malformed head, is answered 400 and the connection closed.
- A plain request (the API and the dashboard) is answered on the Django handler's pool
  (orchestrator.serving.PoolAnswer); a static file is served by the ASGI application, run on
  the loop as any ASGI server would.
- A websocket upgrade hands the connection to Daphne's websocket protocol, as Daphne's own
  request does, replaying the bytes read so far.
- Responses keep what Daphne's carried: the Server header, a Date, the headers Django set.
  A whole response gets a Content-Length; a streamed one is chunked (HTTP/1.1) or ends with
  the connection (HTTP/1.0). HTTP/1.0 connections close after the answer unless the client
  asked to keep them alive; any connection closes after "Connection: close".
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
import weakref
from email.utils import formatdate
from http import HTTPStatus
from typing import Any
from urllib.parse import unquote

from daphne.utils import HEADER_NAME_RE, parse_x_forwarded_for
from twisted.internet import tcp
from twisted.internet.protocol import Protocol
from twisted.protocols.policies import ProtocolWrapper

logger = logging.getLogger("orchestrator.server")

# A request head (request line and headers) longer than this is refused (431).
MAX_HEAD_BYTES = 64 * 1024
# Past this much unread input while a request is being answered, stop reading the socket.
PAUSE_BUFFER_BYTES = 1024 * 1024
NO_BODY_STATUSES = frozenset({204, 304})
# A connection silent this long between requests is closed (Twisted's HTTP channel's timeout),
# so that clients that vanished without closing do not hold connections (and the balancer's
# count of them) for ever. `close_idle` checks every IDLE_CHECK_SECONDS.
IDLE_SECONDS = 12 * 60 * 60
IDLE_CHECK_SECONDS = 60.0

_open_channels: weakref.WeakSet[HTTPChannel] = weakref.WeakSet()


def close_idle(now: float | None = None) -> int:
    """Close the connections idle for more than IDLE_SECONDS (none answering a request);
    how many were closed."""
    now = time.monotonic() if now is None else now
    idle = [
        channel
        for channel in list(_open_channels)
        if not channel.busy and not channel.closed and now - channel.last_seen > IDLE_SECONDS
    ]
    for channel in idle:
        channel.closed = True
        channel.transport.loseConnection()
    return len(idle)


class BadRequest(Exception):
    def __init__(self, status: int, detail: str):
        super().__init__(detail)
        self.status = status
        self.detail = detail


_reasons: dict[int, bytes] = {}


def status_line(version: bytes, status: int) -> bytes:
    reason = _reasons.get(status)
    if reason is None:
        try:
            reason = HTTPStatus(status).phrase.encode("ascii")
        except ValueError:
            reason = b"Unknown"
        _reasons[status] = reason
    return b"%s %d %s\r\n" % (version, status, reason)


_date: tuple[int, bytes] = (0, b"")


def date_header() -> bytes:
    """The Date header's value, formatted once a second."""
    global _date
    now = int(time.time())
    if _date[0] != now:
        _date = (now, formatdate(now, usegmt=True).encode("ascii"))
    return _date[1]


_TOKEN = rb"[-!#$%&'*+.^_`|~0-9a-zA-Z]+"
# A header section: lines of `name: value`. Daphne's request refused the same names and values
# (daphne.utils: a token for the name; no vertical tab, form feed, separator or NEL bytes in the
# value); NUL and bare CR are refused too. Checked in one pass over the section.
_HEADER_SECTION = re.compile(rb"(?:" + _TOKEN + rb":[^\r\n\x00\x0b\x0c\x1c-\x1e\x85]*\r?\n)*")
_HEADER_LINE = re.compile(rb"(" + _TOKEN + rb"):[ \t]*([^\r\n]*?)[ \t]*\r?\n")


class Head:
    """A parsed request head: the request line, and the headers with lower-cased names."""

    __slots__ = ("method", "target", "version", "headers", "raw")

    def __init__(self, raw: bytes):
        self.raw = raw
        line_end = raw.index(b"\n")
        parts = raw[:line_end].rstrip(b"\r").split(b" ")
        if len(parts) != 3 or not parts[0] or not parts[1]:
            raise BadRequest(400, "Malformed request line")
        self.method, self.target, self.version = parts
        if self.version not in (b"HTTP/1.1", b"HTTP/1.0"):
            raise BadRequest(505 if self.version.startswith(b"HTTP/") else 400, "Unsupported HTTP version")
        if not HEADER_NAME_RE.fullmatch(self.method):
            raise BadRequest(400, "Invalid method")
        # The section without the empty line that ends the head.
        section = raw[line_end + 1 : -2 if raw.endswith(b"\r\n") else -1]
        if section.endswith(b"\r"):
            section = section[:-1]
        if section and not _HEADER_SECTION.fullmatch(section):
            raise BadRequest(400, "Invalid header")
        self.headers = [(name.lower(), value) for name, value in _HEADER_LINE.findall(section)]

    def get(self, name: bytes) -> list[bytes]:
        return [value for key, value in self.headers if key == name]


class ChunkedBody:
    """Decodes a chunked request body into `out` as it arrives; `feed` returns how many bytes
    of the buffer it used and whether the body is complete."""

    # How long a line of each kind may grow before the body is refused.
    LONGEST_LINE = {"size": 1024, "crlf": 2, "trailer": MAX_HEAD_BYTES}

    def __init__(self, out):
        self.out = out
        self.size = 0
        self.left = 0  # bytes of the current chunk still to come, then its CRLF
        self.state = "size"

    def feed(self, buffer: bytearray) -> tuple[int, bool]:
        pos = 0
        while True:
            if self.state == "data":
                available = min(self.left, len(buffer) - pos)
                if available:
                    self.out.write(buffer[pos : pos + available])
                    self.size += available
                    self.left -= available
                    pos += available
                if self.left:
                    return pos, False
                self.state = "crlf"
                continue
            # Every other state reads one line: a chunk's size, the CRLF after its data, or a
            # trailer field (ignored) up to the empty line that ends the body.
            end = buffer.find(b"\n", pos)
            if end < 0:
                if len(buffer) - pos > self.LONGEST_LINE[self.state]:
                    raise BadRequest(400, f"Malformed chunked body ({self.state})")
                return pos, False
            line = bytes(buffer[pos:end]).rstrip(b"\r")
            pos = end + 1
            if self.state == "size":
                try:
                    self.left = int(line.split(b";", 1)[0].strip(), 16)
                except ValueError:
                    raise BadRequest(400, "Malformed chunk size") from None
                if self.left < 0:
                    raise BadRequest(400, "Malformed chunk size")
                self.state = "data" if self.left else "trailer"
            elif self.state == "crlf":
                if line:
                    raise BadRequest(400, "Malformed chunk")
                self.state = "size"
            elif not line:  # the trailer's end
                return pos, True


class HTTPChannel(Protocol):
    """One client connection's HTTP/1.1 (see the module's docstring).

    `server` is the Daphne server (its ASGI application, websocket factory, root path, server
    name and proxy settings). `on_pool(scope)` says whether a request is answered on the pool;
    if so, `answer(channel, scope, body file)` starts answering it and writes the response back
    through `handle_reply`. `body_file()` gives a file for a request's body.
    """

    def __init__(self, server, answer, on_pool, body_file):
        self.server = server
        self.answer = answer
        self.on_pool = on_pool
        self.body_file = body_file
        self.buffer = bytearray()
        self.busy = False  # a request is being answered
        self.paused = False
        self.closed = False
        self.addresses: tuple[list | None, list | None] | None = None
        self.answered = 0  # responses finished on this connection
        self.last_seen = time.monotonic()  # when the client last sent, or was last answered
        self._reset()

    def _reset(self) -> None:
        self.head: Head | None = None
        self.body = None  # the request body's file, written as the body arrives
        self.remaining = 0  # bytes of a Content-Length body still to come
        self.chunked: ChunkedBody | None = None
        self.continued = False
        self.keep_alive = True
        self.response_version = b"HTTP/1.1"
        self.is_head = False
        self.started: dict[str, Any] | None = None
        self.streaming = None  # None (not started), "length", "chunked" or "close"
        self.disconnect: asyncio.Future | None = None

    # -- Twisted's side ---------------------------------------------------------------

    def connectionMade(self) -> None:  # noqa: N802 - Twisted's name
        self.last_seen = time.monotonic()
        _open_channels.add(self)

    def dataReceived(self, data: bytes) -> None:  # noqa: N802 - Twisted's name
        self.last_seen = time.monotonic()
        self.buffer += data
        if self.busy:
            if len(self.buffer) > PAUSE_BUFFER_BYTES and not self.paused:
                self.paused = True
                self.transport.pauseProducing()
            return
        self._advance()

    def connectionLost(self, reason=None) -> None:  # noqa: N802 - Twisted's name
        self.closed = True
        _open_channels.discard(self)
        if self.disconnect is not None and not self.disconnect.done():
            self.disconnect.set_result(None)

    # -- reading requests -------------------------------------------------------------

    def _advance(self) -> None:
        """Read as far as the buffer allows; start answering a request once it is whole."""
        try:
            while not self.busy and not self.closed and self.buffer:
                if self.head is None and not self._read_head():
                    return
                if not self._read_body():
                    return
                self._dispatch()
        except BadRequest as exc:
            self.refuse(exc.status, exc.detail)

    def _read_head(self) -> bool:
        buffer = self.buffer
        while buffer[:2] == b"\r\n" or buffer[:1] == b"\n":  # empty lines between requests
            del buffer[: 2 if buffer[:1] == b"\r" else 1]
        end = buffer.find(b"\n\r\n")
        skip = 3
        bare = buffer.find(b"\n\n")
        if bare >= 0 and (end < 0 or bare < end):
            end, skip = bare, 2
        if end < 0:
            if len(buffer) > MAX_HEAD_BYTES:
                raise BadRequest(431, "Request header fields too large")
            return False
        if end > MAX_HEAD_BYTES:
            raise BadRequest(431, "Request header fields too large")
        head = Head(bytes(buffer[: end + skip]))
        del buffer[: end + skip]
        self.head = head
        if head.version == b"HTTP/1.0":
            self.response_version = b"HTTP/1.0"
        connection = b",".join(head.get(b"connection")).lower()
        if b"close" in connection:
            self.keep_alive = False
        elif head.version == b"HTTP/1.0":
            self.keep_alive = b"keep-alive" in connection
        self.is_head = head.method == b"HEAD"
        encodings = head.get(b"transfer-encoding")
        lengths = head.get(b"content-length")
        if encodings:
            if lengths:
                raise BadRequest(400, "Both Content-Length and Transfer-Encoding")
            if b",".join(encodings).lower().replace(b" ", b"") != b"chunked":
                raise BadRequest(501, "Unsupported transfer coding")
            self.body = self.body_file()
            self.chunked = ChunkedBody(self.body)
        elif lengths:
            if len(set(lengths)) != 1 or not lengths[0].isdigit():
                raise BadRequest(400, "Invalid Content-Length")
            self.remaining = int(lengths[0])
        if self.body is None:
            self.body = self.body_file()
        return True

    def _read_body(self) -> bool:
        """Move what has arrived of the body to its file: True once it is all there. (Kept in
        a file, not in memory: past Django's in-memory limit for uploads it goes to disk.)"""
        if self.chunked is not None:
            used, done = self.chunked.feed(self.buffer)
            del self.buffer[:used]
            if done:
                return True
        elif self.remaining:
            taken = self.buffer[: self.remaining]
            self.body.write(taken)
            del self.buffer[: len(taken)]
            self.remaining -= len(taken)
            if not self.remaining:
                return True
        else:
            return True
        self._maybe_continue()
        return False

    def _maybe_continue(self) -> None:
        if not self.continued and self.head.version == b"HTTP/1.1":
            if b"100-continue" in b",".join(self.head.get(b"expect")).lower():
                self.transport.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        self.continued = True

    def _dispatch(self) -> None:
        head = self.head
        path, _, query_string = head.target.partition(b"?")
        if path[:1] != b"/":
            # The absolute form (a proxy's): keep only the path.
            _, sep, rest = path.partition(b"://")
            if not sep:
                raise BadRequest(400, "Invalid request target")
            path = b"/" + rest.partition(b"/")[2]
        try:
            decoded_path = unquote(path.decode("ascii"))
            query_string.decode("ascii")
        except UnicodeDecodeError:
            raise BadRequest(400, "Invalid characters in path or query string") from None
        upgrade = head.get(b"upgrade")
        if upgrade and upgrade[0].lower() == b"websocket":
            self._upgrade(query_string)
            return
        client, server_address = self._addresses()
        scheme = "http"
        root_path = self.server.root_path
        headers = []
        for name, value in head.headers:
            if b"_" in name:  # CVE-2015-0219: no header name may pass for another
                continue
            if name == b"daphne-root-path":
                root_path = unquote(value.decode("ascii"))
            elif name == b"transfer-encoding":
                # Django reads as much body as Content-Length says: give it the decoded size.
                headers.append((b"content-length", str(self.chunked.size).encode()))
            else:
                headers.append((name, value))
        if self.server.proxy_forwarded_address_header:
            from twisted.web.http_headers import Headers

            client, scheme = parse_x_forwarded_for(
                Headers({name: [value] for name, value in headers}),
                self.server.proxy_forwarded_address_header,
                self.server.proxy_forwarded_port_header,
                self.server.proxy_forwarded_proto_header,
                client,
                scheme,
            )
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": head.version[5:].decode("ascii"),
            "method": head.method.decode("ascii"),
            "path": decoded_path,
            "raw_path": path,
            "root_path": root_path,
            "scheme": scheme,
            "query_string": query_string,
            "headers": headers,
            "client": client,
            "server": server_address,
        }
        self.busy = True
        body_file, self.body = self.body, None
        body_file.seek(0)
        if self.on_pool(scope):
            self.answer(self, scope, body_file)
        else:
            asyncio.ensure_future(self._serve_asgi(scope, body_file))

    def _addresses(self) -> tuple[list | None, list | None]:
        if self.addresses is None:
            peer, host = self.transport.getPeer(), self.transport.getHost()
            client = [str(peer.host), peer.port] if hasattr(peer, "port") else None
            server = [str(host.host), host.port] if hasattr(host, "port") else None
            self.addresses = (client, server)
        return self.addresses

    def _upgrade(self, query_string: bytes) -> None:
        """Hand the connection to Daphne's websocket protocol, which reads the request again."""
        transport = self.transport
        protocol = self.server.ws_factory.buildProtocol(transport.getPeer())
        if protocol is None:
            self.refuse(500, "Could not start a websocket")
            return
        protocol._raw_query_string = query_string
        replay = self.head.raw + bytes(self.buffer)
        self.buffer.clear()
        self.closed = True  # this channel is done with the connection
        _open_channels.discard(self)
        if isinstance(transport, ProtocolWrapper):
            transport.wrappedProtocol = protocol
        else:
            transport.protocol = protocol
        protocol.makeConnection(transport)
        protocol.dataReceived(replay)

    async def _serve_asgi(self, scope: dict[str, Any], body_file) -> None:
        body = body_file.read()
        body_file.close()
        sent_body = False
        # Set when the client goes away (connectionLost), for an application that listens.
        disconnect = self.disconnect = asyncio.get_running_loop().create_future()
        if self.closed:
            disconnect.set_result(None)

        async def receive() -> dict[str, Any]:
            nonlocal sent_body
            if not sent_body:
                sent_body = True
                return {"type": "http.request", "body": body, "more_body": False}
            await disconnect
            return {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            self.handle_reply(message)

        answered = self.answered
        try:
            await self.server.application(scope, receive, send)
        except Exception as exc:  # noqa: BLE001 - answered as Daphne answers it
            logger.error("Exception inside application: %s", exc, exc_info=exc)
            self.handle_exception(exc)
        else:
            if self.answered == answered:
                logger.error("The application returned without finishing its response to %s", scope["path"])
                self.handle_exception(None)

    # -- writing responses ------------------------------------------------------------

    def handle_reply(self, message: dict[str, Any]) -> None:
        """Write an ASGI response message (http.response.start, then http.response.body
        until more_body is false)."""
        if self.closed:
            if message["type"] == "http.response.body" and not message.get("more_body", False):
                self._finish()
            return
        if message["type"] == "http.response.start":
            if self.started is not None:
                raise ValueError("HTTP response has already been started")
            self.started = message
            return
        if message["type"] != "http.response.body":
            raise ValueError(f"Cannot handle message type {message['type']}!")
        if self.started is None:
            raise ValueError("HTTP response has not yet been started")
        body = message.get("body", b"")
        more = message.get("more_body", False)
        out = []
        if self.streaming is None:
            out.append(self._head_bytes(len(body) if not more else None))
        if not self.is_head and self.streaming != "none":
            if self.streaming == "chunked":
                if body:
                    out.append(b"%x\r\n%s\r\n" % (len(body), body))
                if not more:
                    out.append(b"0\r\n\r\n")
            elif body:
                out.append(body)
        if out:
            self._send(b"".join(out))
        if not more:
            self._finish()

    def _send(self, data: bytes) -> None:
        """Write `data` to the client. Twisted's transport buffers every write and sends it on
        the loop's next turn, once the socket has been registered for writing (two epoll
        changes and a turn per response). A socket with nothing queued is sent to at once;
        what it does not take, or any other case, goes through the transport."""
        connection = self.transport
        if isinstance(connection, ProtocolWrapper):
            connection = connection.transport
        if (
            type(connection) is tcp.Server
            and connection.connected
            and not connection.disconnecting
            and not connection._writeDisconnected
            and not connection._tempDataBuffer
            and connection.offset == len(connection.dataBuffer)
        ):
            try:
                sent = connection.socket.send(data)
            except (BlockingIOError, InterruptedError):
                sent = 0
            except OSError:
                sent = 0  # the transport's own write meets the error and closes the connection
            if sent == len(data):
                return
            data = data[sent:]
        self.transport.write(data)

    def _head_bytes(self, length: int | None) -> bytes:
        status = self.started["status"]
        lines = [status_line(self.response_version, status)]
        has_length = has_server = False
        for name, value in self.started.get("headers", ()):
            lowered = name.lower()
            if lowered == b"content-length":
                has_length = True
            elif lowered == b"server":
                has_server = True
            elif lowered in (b"connection", b"transfer-encoding"):
                continue  # hop-by-hop: this channel sets them
            lines.append(b"%s: %s\r\n" % (name, value))
        if status in NO_BODY_STATUSES or status < 200:
            self.streaming = "none"
        elif has_length:
            self.streaming = "length"
        elif length is not None:
            lines.append(b"Content-Length: %d\r\n" % length)
            self.streaming = "length"
        elif self.response_version == b"HTTP/1.1":
            lines.append(b"Transfer-Encoding: chunked\r\n")
            self.streaming = "chunked"
        else:
            self.keep_alive = False
            self.streaming = "close"
        if not has_server and self.server.server_name:
            lines.append(b"Server: %s\r\n" % self.server.server_name.encode())
        lines.append(b"Date: %s\r\n" % date_header())
        if not self.keep_alive:
            lines.append(b"Connection: close\r\n")
        elif self.response_version == b"HTTP/1.0":
            lines.append(b"Connection: keep-alive\r\n")
        lines.append(b"\r\n")
        return b"".join(lines)

    def handle_exception(self, exception: BaseException | None) -> None:
        """The application failed: a 500, if nothing of the response has been written yet."""
        if self.streaming is None and not self.closed:
            self.started = None
            self.keep_alive = False
            self.refuse(500, "Exception inside application.")
        elif not self.closed:
            self.transport.loseConnection()
            self.closed = True

    def refuse(self, status: int, detail: str) -> None:
        """Answer with a server-level error and close the connection."""
        self.keep_alive = False
        self.started = {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"Content-Type", b"text/plain; charset=utf-8")],
        }
        self.streaming = None
        self.handle_reply({"type": "http.response.body", "body": f"{status} {detail}\n".encode()})

    def _finish(self) -> None:
        self.answered += 1
        self.last_seen = time.monotonic()
        if not self.closed and not self.keep_alive:
            self.transport.loseConnection()
            self.closed = True
        keep_reading = not self.closed
        self.busy = False
        self._reset()
        if self.paused and keep_reading:
            self.paused = False
            self.transport.resumeProducing()
        if keep_reading and self.buffer:
            self._advance()
