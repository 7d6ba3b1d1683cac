"""Telling from the X-RateLimit headers that two credentials draw on one quota (tokens of one user),
from correlated evidence only. Pure: fed each response's headers and the pool's counts, no I/O.

A credential's quota grows (limit - remaining) by what the server counted on it since its first
response in the quota window (its baseline). Its own requests explain part of that; the rest is
what others spent on that quota: another integration of the user, or a credential of ours that
belongs to the same user. Only the second tracks what our other credential sent, so:

* Support: the requests credential A cannot explain match what credential B had counted meanwhile
  (taking the middle of what each can be, given the requests in flight at either end), with B
  having sent at least SHARE_EVIDENCE more since the last support. Evidence of that,
  SHARE_OBSERVATIONS times in all and at least once each way, makes them one user. Another
  integration that spends about as fast as B sends could fake it only while B is slow: it cannot
  keep up once B sends at any pace, and the rule below then settles it.
* Proof against: what A cannot explain is, at most, less than what B surely had counted meanwhile
  (B sent them, and they were answered before A's request went out): B's requests did not land on
  A's quota. Or: one quota counter would have to have moved back, or by less than the two
  credentials surely sent in between, from an answer of one to a later answer of the other (one
  user's quota is one counter; two users' counters only look alike while each moves by what its
  own credential sends). It withdraws a verdict, and the pair is not judged again: two counters
  never become one, and a coincidence that recurs must not make them one user again.

A verdict holds one of the two in reserve. The pool probes a reserve now and then (one request);
its answer is judged like any other, and since the credential in use sends everything meanwhile, a
reserve of another user shows the proof against at once.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

# Supporting observations needed, both ways together and at least one each way (a credential that
# sends little gives few of its own), and how many more of the other credential's requests each
# must have seen counted than the one before.
SHARE_OBSERVATIONS = 3
SHARE_EVIDENCE = 3
# Requests by which the bounds may be off (a server that counts a request a moment before or after
# it says so): the proof against needs more than this.
SHARE_SLACK = 2
# Requests by which the middle estimates may differ for an observation to support.
SHARE_TOLERANCE = 1


@dataclass
class Counts:
    """One credential's requests, as the pool saw them, to read its quota's headers against."""

    sent: int = 0  # let through and not given back (in flight or answered)
    uncounted: int = 0  # answered 429 or 401: the server did not count them
    counted: int = 0  # answered below 500 otherwise: the server counted them (a 5xx may not have been)

    @property
    def at_most(self) -> int:
        """The most of this credential's requests the server can have counted so far."""
        return self.sent - self.uncounted


@dataclass(frozen=True)
class Answer:
    """One response with quota headers, and the pool's counts around it, by credential position."""

    position: int
    epoch: float  # X-RateLimit-Reset: which quota window it speaks of
    consumed: float  # X-RateLimit-Limit - X-RateLimit-Remaining
    counted_at_send: Mapping[int, int]  # every credential's Counts.counted when this request went out
    at_most_now: Mapping[int, int]  # every credential's Counts.at_most now that its answer is here
    number: int = 0  # answers with quota headers the pool had before this one (this one's place)
    answers_at_send: int = 0  # of those, how many had come when this request went out


@dataclass
class _Baseline:
    epoch: float
    consumed: float
    counted_at_send: Mapping[int, int]
    at_most_now: Mapping[int, int]


@dataclass
class _Support:
    observations: int = 0
    level: int = 0  # the other credential's surely counted requests at the last support


@dataclass
class Findings:
    shared: list[tuple[int, int]] = field(default_factory=list)  # pairs now known to share a quota
    distinct: list[tuple[int, int]] = field(default_factory=list)  # pairs proven not to


class QuotaJudge:
    def __init__(self) -> None:
        self._baselines: dict[int, _Baseline] = {}
        self._epoch: dict[int, float] = {}  # each credential's latest quota window
        self._latest: dict[int, Answer] = {}  # each credential's latest answer
        self._support: dict[tuple[int, int], _Support] = {}
        # Pairs once proven distinct: two counters never become one, so they are not judged again
        # (a coincidence that recurs cannot make them one user again).
        self._distinct: set[frozenset[int]] = set()

    def observe(self, answer: Answer) -> Findings:
        """Judge one response of credential `answer.position` against every credential whose latest
        response spoke of the same quota window."""
        me = answer.position
        self._epoch[me] = answer.epoch
        crossed = self._not_one_counter(answer)
        self._latest[me] = answer
        found = self._against_baseline(answer)
        for other in crossed:
            if (me, other) not in found.distinct:
                found.distinct.append((me, other))
            self._void(me, other)
        found.shared = [pair for pair in found.shared if pair[1] not in crossed]
        return found

    def _not_one_counter(self, answer: Answer) -> list[int]:
        """The credentials whose latest answer, with this one, cannot come from one counter: it came
        before this request went out, yet this one's count is less than it plus what the two surely
        had counted in between (this request included)."""
        me = answer.position
        found = []
        for other, earlier in self._latest.items():
            if (other == me or earlier.epoch != answer.epoch or earlier.number >= answer.answers_at_send
                    or frozenset((me, other)) in self._distinct):
                continue
            between = 1 + sum(max(0, answer.counted_at_send.get(m, 0) - earlier.at_most_now.get(m, 0))
                              for m in (me, other))
            if answer.consumed - earlier.consumed < between - SHARE_SLACK:
                found.append(other)
        return found

    def _void(self, me: int, other: int) -> None:
        self._support[(me, other)] = _Support()
        self._support[(other, me)] = _Support()
        self._distinct.add(frozenset((me, other)))

    def _against_baseline(self, answer: Answer) -> Findings:
        """Support or proof against, from what this credential's quota moved since its baseline."""
        me = answer.position
        base = self._baselines.get(me)
        if base is None or base.epoch != answer.epoch:
            self._baselines[me] = _Baseline(answer.epoch, answer.consumed, answer.counted_at_send, answer.at_most_now)
            for (a, _b), support in self._support.items():
                if a == me:
                    support.level = 0  # the levels are counts since the baseline
            return Findings()
        growth = answer.consumed - base.consumed
        # This request and those answered before it went out surely count; those that can have been
        # counted before the baseline's answer do not.
        own_least = answer.counted_at_send[me] + 1 - base.at_most_now[me]
        own_most = answer.at_most_now[me] - (base.counted_at_send[me] + 1)
        unexplained_most = growth - own_least
        unexplained = growth - (own_least + own_most) / 2
        found = Findings()
        for other, epoch in self._epoch.items():
            if (other == me or epoch != answer.epoch or other not in base.at_most_now
                    or frozenset((me, other)) in self._distinct):
                continue
            # The other's requests answered before this one went out, and sent after the baseline's
            # answer came, were surely counted in between; those sent before this one was answered
            # and answered after the baseline's went out may have been.
            theirs_least = answer.counted_at_send.get(other, 0) - base.at_most_now[other]
            theirs_most = answer.at_most_now.get(other, 0) - base.counted_at_send.get(other, 0)
            theirs = (theirs_least + theirs_most) / 2
            support = self._support.setdefault((me, other), _Support())
            if unexplained_most < theirs_least - SHARE_SLACK:
                found.distinct.append((me, other))
                self._void(me, other)
                continue
            if unexplained >= theirs - SHARE_TOLERANCE and theirs_least >= support.level + SHARE_EVIDENCE:
                support.observations += 1
                support.level = theirs_least
                back = self._support.get((other, me))
                if back and back.observations and support.observations + back.observations >= SHARE_OBSERVATIONS:
                    found.shared.append((me, other))
        return found
