"""When several streams fail at once (a refused token fails all three), the sync ends with the
first failure and asyncio never reports "Task exception was never retrieved" for the others."""

from __future__ import annotations

import asyncio
import gc
from types import SimpleNamespace
from typing import Any

from xurrent_async.errors import AuthenticationError
from xurrent_async.extract import Extraction
from xurrent_async.resources import RESOURCES
from xurrent_async.settings import parse_settings
from xurrent_async.state import SyncState


class _RefusedTogether:
    """A client whose first request of every stream fails with a 401, all in the same loop turn:
    the failures cannot be told apart by timing, so the test is the same on any machine."""

    def __init__(self, streams: int):
        self._streams = streams
        self._arrived = 0
        self._all_in = asyncio.Event()
        self.governor = SimpleNamespace(useful_in_flight=lambda slots: slots)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:9/v1/{path}"

    async def get_page(self, url: str, params: dict[str, str] | None = None) -> Any:
        self._arrived += 1
        if self._arrived == self._streams:
            self._all_in.set()
        await self._all_in.wait()
        raise AuthenticationError(401, url.split("127.0.0.1:9", 1)[-1], "Unauthorized",
                                  hint="the personal access token was refused")

    async def pages(self, path: str, params: dict[str, str]) -> Any:
        """Like XurrentClient.pages: the first page of a query, which is refused."""
        yield await self.get_page(self.url(path), params)


def test_streams_failing_together_raise_the_first_error_and_leave_no_unretrieved_exception():
    settings = parse_settings({"oauth_token": "t", "account_id": "a", "base_url": "http://127.0.0.1:9/v1"})[0]
    reported: list[dict[str, Any]] = []
    loop = asyncio.new_event_loop()
    loop.set_exception_handler(lambda _loop, context: reported.append(context))

    async def emit(event: object) -> None:
        pass

    async def main() -> BaseException | None:
        client = _RefusedTogether(len(RESOURCES))
        extraction = Extraction(client, settings, SyncState(), RESOURCES, emit)  # type: ignore[arg-type]
        try:
            await extraction.run()
        except AuthenticationError as exc:
            return exc
        return None

    try:
        error = loop.run_until_complete(main())
        gc.collect()  # a task whose exception nobody took reports it when it is collected
        loop.run_until_complete(asyncio.sleep(0))
    finally:
        loop.close()
    assert isinstance(error, AuthenticationError) and "refused" in str(error)
    assert [c.get("message") for c in reported] == []
