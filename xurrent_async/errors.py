"""Errors the connector raises on purpose. Each one says what a user can do about it.

No message built here may contain a token, a client secret or an Authorization header: callers pass
URL paths (never full URLs with credentials) and the API's own `message` text.
"""

from __future__ import annotations


class XurrentError(Exception):
    """Base of every error this package raises deliberately."""


class ConfigurationError(XurrentError):
    """The configuration cannot be used. `problems` lists every problem found, one line each;
    `notes` are the warnings found beside them (an unknown key and its "did you mean"), which
    often explain a problem: `oauth_tokn` is why oauth_token is missing."""

    def __init__(self, problems: list[str], notes: list[str] | None = None):
        self.problems = list(problems)
        self.notes = list(notes or [])
        text = f"Invalid configuration ({len(self.problems)} problem(s)):\n" + "\n".join(
            f"  - {p}" for p in self.problems)
        if self.notes:
            text += "\nAlso:\n" + "\n".join(f"  - {n}" for n in self.notes)
        super().__init__(text)


class ApiError(XurrentError):
    """A response that will not get better by retrying (4xx other than 429), or a retryable one
    whose retries ran out. Names the status, the URL path and the API's message."""

    def __init__(self, status: int | None, path: str, message: str, *, hint: str = ""):
        self.status = status
        self.path = path
        self.api_message = message
        self.hint = hint
        status_text = f"HTTP {status}" if status is not None else "no response"
        text = f"{status_text} from Xurrent for {path}: {message}"
        if hint:
            text += f" ({hint})"
        super().__init__(text)


class AuthenticationError(ApiError):
    """The token was refused even after a refresh, or the OAuth client credentials are wrong."""


class UnsafeRedirectError(XurrentError):
    """A `Link` pointed at a host we must not send credentials to."""


class RecordError(XurrentError):
    """A record the connector cannot store without losing meaning (e.g. no `id`)."""


class StateMismatchError(XurrentError):
    """The saved state was written for another account or API host than the configuration names:
    its cursors would skip every record of this one older than them."""


class Interrupted(XurrentError):
    """The user interrupted the sync (Ctrl-C); what was read until then is saved."""


def failure_message(error: XurrentError, host: str = "") -> str:
    """The one message a failed sync ends with: what is wrong (the error) and what to do."""
    text = str(error)
    if isinstance(error, ConfigurationError):
        return f"{text}\nNothing was read or written: fix the configuration and run the sync again."
    if isinstance(error, (StateMismatchError, Interrupted)):
        return text  # each says already what to do
    saved = "The sync stopped at its last checkpoint, so nothing is lost"
    if isinstance(error, AuthenticationError):
        return f"{text}\n{saved}: fix the credentials, then rerun to resume."
    if isinstance(error, ApiError) and error.status is None:
        where = f" {host}" if host else " Xurrent"
        return (f"{text}\nCould not get an answer from{where}: check the network (proxy, firewall) and the "
                f"host (region, environment, base_url). {saved}: rerun to resume.")
    if isinstance(error, ApiError) and error.status is not None and error.status >= 500:
        return f"{text}\n{saved}: rerun to resume, later if Xurrent keeps failing."
    return f"{text}\n{saved}: rerun to resume once this is resolved."
