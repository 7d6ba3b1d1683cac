"""How a window of whole seconds is asked for, whatever precision the server compares at.

Xurrent prints timestamps in whole seconds but does not document how precisely it compares a
filter: a server that stores a fraction (a Rails app on a microsecond column) compares at it. Only
`>A<B` and `>=A<=B` are documented ranges (`>=A<B` is a 400). So the window [A, B) is sent as
`>A−1s<B`: with whole-second storage that is exactly [A, B); with fractional storage it is
(A−1s, B), which holds every instant of [A, B) and re-reads at most the records printed as A−1s
(upserted twice: harmless). `>=A<=B−1s` would miss every record stored in (B−1s, B).
"""

from __future__ import annotations

from xurrent_async.state import to_iso


def window_filter(lower: int | None, upper: int | None) -> str | None:
    """The filter condition of [lower, upper) in whole seconds (None: open on that side), reading
    every record printed in it under either precision: `>lower−1s<upper`, `>=lower`, `<upper`."""
    if lower is not None and upper is not None:
        if upper <= lower:
            raise ValueError(f"empty window [{lower}, {upper})")
        return f">{to_iso(lower - 1)}<{to_iso(upper)}"
    if lower is not None:
        return f">={to_iso(lower)}"
    if upper is not None:
        return f"<{to_iso(upper)}"
    return None


def second_filter(at: int) -> str:
    """The condition of the one second `at`: `>at−1s<at+1s` (under fractional storage also the end
    of the second before, which is harmless)."""
    return f">{to_iso(at - 1)}<{to_iso(at + 1)}"
