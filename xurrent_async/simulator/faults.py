"""Injected faults. One seeded RNG decides, per authenticated collection/record request, whether
it stalls (then answers) and which one, if any, of the exclusive faults replaces the answer."""

from __future__ import annotations

import contextlib
import random
import socket
import struct
from asyncio import CancelledError

from aiohttp import web

from .config import FaultConfig

# Order matters only for determinism: each kind with p > 0 takes one draw, in this order.
EXCLUSIVE = ("rate_429", "reset", "html_5xx", "truncated_json", "invalid_json", "not_a_list")

_HTML = {
    502: "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway"
    "</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n",
    503: "<html>\r\n<head><title>503 Service Temporarily Unavailable</title></head>\r\n<body>\r\n<center>"
    "<h1>503 Service Temporarily Unavailable</h1></center>\r\n<p>Bad Gateway upstream</p>\r\n</body>\r\n"
    "</html>\r\n",
}
_NOT_JSON = (b"<html><body>Oops</body></html>", b'\x00\x1f garbage {"id": ')


class FaultInjector:
    def __init__(self, seed: int) -> None:
        self._rng = random.Random(seed * 31 + 0xFA17)

    def _hit(self, p: float) -> bool:
        return p > 0 and (p >= 1 or self._rng.random() < p)

    def stall(self, faults: FaultConfig) -> bool:
        return self._hit(faults.stall)

    def pick(self, faults: FaultConfig) -> str | None:
        for kind in EXCLUSIVE:
            if self._hit(getattr(faults, kind)):
                return kind
        return None

    def http_date_retry(self, faults: FaultConfig) -> bool:
        return self._hit(faults.retry_after_http_date)

    def html_5xx(self, headers: dict[str, str]) -> web.Response:
        status = self._rng.choice((502, 503))
        return web.Response(status=status, text=_HTML[status], content_type="text/html", headers=headers)

    def not_json(self) -> bytes:
        return self._rng.choice(_NOT_JSON)


def truncate(body: bytes) -> bytes:
    return body[: len(body) // 2]


def not_a_list_body() -> bytes:
    return b'{"message":"Temporarily unable to list records, please try again"}'


def abort_connection(request: web.Request) -> None:
    """Drop the connection without a response, as a reset (RST) where the platform allows it."""
    transport = request.transport
    if transport is not None:
        sock = transport.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        transport.abort()
    # aiohttp treats a handler's CancelledError as "peer gone": it closes quietly, sends nothing.
    raise CancelledError
