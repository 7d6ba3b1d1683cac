"""The credentials: personal access tokens, or OAuth client ids paired with their secrets by
position. A problem names an entry by its position ("token 2"), never by its value."""

from __future__ import annotations

from .keys import BY_NAME
from .model import Credential
from .reader import Reader
from .shown import listed


def read_credentials(reader: Reader) -> tuple[Credential, ...]:
    """One auth mode must be fully set: personal tokens, or client ids with their secrets. Each
    key takes one or more values separated by commas; ids and secrets pair by position."""
    tokens = reader.entries(BY_NAME["oauth_token"])
    client_ids = reader.entries(BY_NAME["client_id"])
    client_secrets = reader.entries(BY_NAME["client_secret"])
    # A value that is present but invalid still counts as set: its own problem is already reported,
    # and saying "missing" as well would be wrong.
    has_token = tokens is not None or reader.is_invalid("oauth_token")
    has_id = client_ids is not None or reader.is_invalid("client_id")
    has_secret = client_secrets is not None or reader.is_invalid("client_secret")

    problems = reader.problems
    if has_id != has_secret:
        missing, present = ("client_secret", "client_id") if has_id else ("client_id", "client_secret")
        text = (
            f"{missing}: required when {present} is set (OAuth client credentials need both), "
            f"but it is {reader.unset_reason(missing)}"
        )
        if has_token:
            text += f"; or remove {present} to use the personal access token(s) in oauth_token"
        problems.append(text)
    elif has_id and has_token:
        problems.append(
            "oauth_token: both personal access tokens (oauth_token) and OAuth client credentials "
            "(client_id, client_secret) are set; use one: remove oauth_token to use the OAuth clients, "
            "or remove client_id and client_secret to use the personal access tokens"
        )
    elif not has_token and not has_id:
        problems.append(
            f"oauth_token: required (one or more personal access tokens, separated by commas) unless "
            f"client_id and client_secret are both set; oauth_token is {reader.unset_reason('oauth_token')} "
            "and client_id and client_secret are not set"
        )
    if has_token and not has_id and tokens is not None:
        _no_twice(reader, "oauth_token", "tokens", "the same token", tokens)
        return tuple(Credential("token", i, token) for i, token in enumerate(tokens, 1))
    if has_id and has_secret and not has_token and client_ids is not None and client_secrets is not None:
        if len(client_ids) != len(client_secrets):
            fewer = "client_secret" if len(client_secrets) < len(client_ids) else "client_id"
            problems.append(
                f"{fewer}: {_count(len(client_ids), 'client id')} but {_count(len(client_secrets), 'secret')}; "
                "they pair by position (client 1 is the first id with the first secret), so give as many of each"
            )
            return ()
        _no_twice(reader, "client_id", "clients", "the same client id", client_ids)
        return tuple(Credential("client", i, secret, client_id)
                     for i, (client_id, secret) in enumerate(zip(client_ids, client_secrets, strict=True), 1))
    return ()


def _no_twice(reader: Reader, key: str, nouns: str, what: str, values: tuple[str, ...]) -> None:
    """The same credential twice would be one user's quota counted as two."""
    seen: dict[str, list[int]] = {}
    for position, value in enumerate(values, 1):
        seen.setdefault(value, []).append(position)
    for positions in seen.values():
        if len(positions) > 1:
            reader.problems.append(
                f"{key}: {nouns} {listed(positions)} are {what}; give each credential once (the rate limits "
                "belong to the user or application, so a second copy adds nothing)"
            )


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")
