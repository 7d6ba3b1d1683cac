"""Fivetran Connector SDK entry point: Xurrent organizations, products and projects.

Thin on purpose: settings, extraction and checkpointing live in `xurrent_async`. This file is the
only place that touches the SDK (`op.*`, `log.*`), and every `op.*` call happens on the thread
that runs `update()`.

Run locally:  DO_NOT_TRACK=1 fivetran debug --configuration configuration.json
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterator
from typing import Any, NoReturn

from fivetran_connector_sdk import ConfigurationForm, Connector, Test, form_field
from fivetran_connector_sdk import Logging as log
from fivetran_connector_sdk import Operations as op

from xurrent_async.config.keys import KEYS, Key
from xurrent_async.config.settings import parse_settings
from xurrent_async.connection_test import check_connection
from xurrent_async.errors import ConfigurationError, XurrentError, failure_message
from xurrent_async.interrupts import stop_on_interrupt
from xurrent_async.resources import RESOURCES
from xurrent_async.sync import run_sync


class _SdkLogHandler(logging.Handler):
    """Sends the package's log records to the SDK's log, which Fivetran shows."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            message = record.getMessage()
            if record.levelno >= logging.ERROR:
                log.error(message)
            elif record.levelno >= logging.WARNING:
                log.warning(message)
            else:
                log.info(message)
        except Exception:  # logging must never break the sync
            self.handleError(record)


@contextlib.contextmanager
def _sdk_logging() -> Iterator[None]:
    """Route the package's log records to the SDK's log for the duration of one call."""
    package = logging.getLogger("xurrent_async")
    handler = _SdkLogHandler()
    previous = (package.level, package.propagate)
    package.addHandler(handler)
    package.setLevel(logging.INFO)
    package.propagate = False
    try:
        yield
    finally:
        package.removeHandler(handler)
        package.setLevel(previous[0])
        package.propagate = previous[1]


class _OpSink:
    """The sync's sink: SDK operations, called on update()'s thread."""

    upsert = staticmethod(op.upsert)
    delete = staticmethod(op.delete)  # a soft delete: the row stays, with _fivetran_deleted = true
    checkpoint = staticmethod(op.checkpoint)


def schema(configuration: dict[str, Any]) -> list[dict[str, Any]]:
    return [resource.schema() for resource in RESOURCES]


def _fail(error: XurrentError, host: str = "") -> NoReturn:
    """End the sync with one message and no traceback: `op.error` is the SDK's way (it raises, and
    the SDK reports the message alone). Errors that are not ours keep their traceback: a bug."""
    with contextlib.suppress(RuntimeError):  # no SDK runner: update() was called directly (a test, a script)
        op.error(failure_message(error, host))
    raise error.with_traceback(None) from None  # there, or if op.error ever returns: this line only


def update(configuration: dict[str, Any], state: dict[str, Any]) -> None:
    try:
        settings, warnings = parse_settings(configuration)  # ConfigurationError lists every problem
    except ConfigurationError as exc:
        _fail(exc)
    for warning in warnings:
        log.warning(warning)
    count = len(settings.credentials)
    kind = "OAuth client" if settings.uses_oauth_client else "personal access token"
    budget = (f", budget {settings.credential_budget_per_hour:,}/hour" if settings.credential_budget_per_hour
              else "")
    log.info(f"Syncing account '{settings.account_id}' from {settings.base_url} "
             f"({count} {kind}{'s' if count > 1 else ''}; {settings.max_concurrency} requests in flight at most; "
             f"limits per credential {settings.burst_limit}/2 s and {settings.rate_limit_per_hour:,}/hour{budget})")
    with _sdk_logging(), stop_on_interrupt() as stop:
        try:
            run_sync(settings, state, _OpSink(), stop=stop)
        except XurrentError as exc:  # a refused token, an unreachable host, Ctrl-C, another account's state
            _fail(exc, settings.api_host)


def _form_field(key: Key) -> Any:
    """The setup form's field for one row of the key table."""
    if key.kind == "choice":
        options = [form_field.DropdownFieldParam(value=choice) for choice in key.choices]
        return form_field.DropdownField(key.name, key.label, fields=options, description=key.description,
                                        required=key.required)
    if key.kind == "toggle":
        return form_field.ToggleField(key.name, key.label, description=key.description, required=key.required)
    kind = form_field.TextField.password if key.secret else form_field.TextField.plain_text
    return form_field.TextField(key.name, key.label, kind, description=key.description, required=key.required,
                                placeholder=key.example or None)


def configuration_form() -> ConfigurationForm:
    """Every key a user may set, in the key table's order; secrets as password fields."""
    form = ConfigurationForm()
    for key in KEYS:
        form.add_field(_form_field(key))
    form.add_test(label="Connect to Xurrent", func=connection_test)
    return form


def connection_test(configuration: dict[str, Any]) -> Any:
    try:
        settings, _ = parse_settings(configuration)
    except ConfigurationError as exc:
        return Test.failure(str(exc))
    warnings: list[str] = []
    notes: list[str] = []  # a line per credential when there are several
    problem = asyncio.run(check_connection(settings, warnings, notes))
    for note in notes:  # beside the verdict: the SDK's Test.success() carries no message
        log.info(note)
    for warning in warnings:
        log.warning(warning)
    return Test.success() if problem is None else Test.failure(problem)


connector = Connector(update=update, schema=schema, configuration_form=configuration_form)

if __name__ == "__main__":
    import json

    with open("configuration.json", encoding="utf-8") as handle:
        connector.debug(configuration=json.load(handle))
