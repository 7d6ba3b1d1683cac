"""Whether a walk of a query stopped short of it, for the collections and the removal feeds alike.

The docs cap one query at 100,000 records and announce it with `X-Pagination-Throttled` "most
notably" for some collections; a walk must notice a cap however it shows, and never run into one
that does not show at all. Pure rules; the walks (extract/window.py, removals.py) apply them.
"""

from __future__ import annotations


def cut_short(read: int, total: int | None, throttled: bool) -> bool:
    """Whether a walk that ended (no next link) having read `read` records stopped short of its
    window: the API says so (`X-Pagination-Throttled`), or it read fewer than its first page's
    total. The docs name the header for some collections only; the count tells for every one.
    Records that left the window while it was read (updated meanwhile) also make a walk look
    short: going on costs a request or so, never a record. A total that counts at most the cap
    hides it: `runs_long` keeps every walk below the documented one. A walk that read nothing was
    not cut by a cap, whatever its total counted (records a list does not show, say)."""
    return throttled or (total is not None and 0 < read < total)


def runs_long(read: int, limit: int) -> bool:
    """Whether a walk has read as much as one window may hold (`limit`, half the API's documented
    cap) with more to come: it stops and goes on from where it got to, so that no walk can run into
    the cap, announced or not, and whatever its size says (a total reported at most the cap, as
    search engines count, would hide a cap from `cut_short`)."""
    return read >= limit
