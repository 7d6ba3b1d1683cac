"""Response bodies and encodings shared by the handlers."""

from __future__ import annotations

import zlib

import orjson
from aiohttp import web

JSON_TYPE = "application/json; charset=utf-8"


def json_body(payload: object) -> bytes:
    # orjson: compact UTF-8 as json.dumps(ensure_ascii=False) writes it, in a sixth of the time; a
    # page's encoding was a sixth of the simulator's CPU, which the whole test suite pays.
    return orjson.dumps(payload)


def json_response(
    status: int, payload: object = None, *, body: bytes | None = None, headers: dict[str, str] | None = None
) -> web.Response:
    return web.Response(
        status=status,
        body=json_body(payload) if body is None else body,
        headers={"Content-Type": JSON_TYPE, **(headers or {})},
    )


def compress(accept_encoding: str, response: web.StreamResponse) -> None:
    """gzip (or deflate) when asked, at level 1: a benchmark's server should spend little on it.
    Done here rather than by aiohttp, which prefers deflate and may compress in executor threads."""
    body = response.body if isinstance(response, web.Response) else None
    if not isinstance(body, bytes) or len(body) < 256:
        return
    accepted = accept_encoding.lower()
    for coding, wbits in (("gzip", 31), ("deflate", 15)):
        if coding in accepted:
            compressor = zlib.compressobj(1, zlib.DEFLATED, wbits)
            response.body = compressor.compress(body) + compressor.flush()
            response.headers["Content-Encoding"] = coding
            response.headers["Vary"] = "Accept-Encoding"
            return
