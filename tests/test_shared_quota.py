"""The rule that tells two credentials of one user from two users with other integrations, on
hand-made answers (no clock, no HTTP): each answer says how much of its credential's quota is
used, and what the pool had counted of every credential around it."""

from __future__ import annotations

from xurrent_async.shared_quota import SHARE_EVIDENCE, SHARE_OBSERVATIONS, Answer, Findings, QuotaJudge

EPOCH = 1_800_000_000.0


class Quotas:
    """Two credentials answered one at a time (nothing in flight), and what their quotas say:
    `users` maps each credential to its user; `outside[user]` is what other integrations of that
    user spent so far."""

    def __init__(self, users: dict[int, str]):
        self.users = users
        self.sent = {p: 0 for p in users}
        self.outside = {u: 0 for u in users.values()}
        self.judge = QuotaJudge()

    def used(self, user: str) -> int:
        return sum(n for p, n in self.sent.items() if self.users[p] == user) + self.outside[user]

    def request(self, position: int) -> Findings:
        counted_at_send = dict(self.sent)
        self.sent[position] += 1
        return self.judge.observe(Answer(position, EPOCH, self.used(self.users[position]), counted_at_send,
                                         dict(self.sent)))


def alternate(quotas: Quotas, rounds: int, outside_per_round: int = 0) -> list[Findings]:
    found = []
    for _ in range(rounds):
        for user in quotas.outside:
            quotas.outside[user] += outside_per_round
        for position in quotas.users:
            for _ in range(SHARE_EVIDENCE):
                found.append(quotas.request(position))
    return found


def test_what_each_sends_showing_on_the_others_quota_both_ways_makes_them_one_user():
    found = alternate(Quotas({1: "alice", 2: "alice"}), SHARE_OBSERVATIONS + 2)
    shared = [pair for f in found for pair in f.shared]
    assert shared and set(shared[0]) == {1, 2}
    assert not any(f.distinct for f in found)


def test_one_user_is_still_noticed_when_another_integration_also_spends_its_quota():
    found = alternate(Quotas({1: "alice", 2: "alice"}), SHARE_OBSERVATIONS + 2, outside_per_round=5)
    assert any(f.shared for f in found)


def test_two_users_whose_other_integrations_spend_as_they_go_are_not_taken_for_one():
    # Each user's other integration spends a few requests each round: both quotas move by more than
    # their own requests explain, but not by what the other credential sent.
    quotas = Quotas({1: "alice", 2: "bob"})
    found = alternate(quotas, 20, outside_per_round=2)
    assert not any(f.shared for f in found)
    assert any(f.distinct for f in found)  # and the pair is proven distinct


def mirrored_round(quotas: Quotas) -> list[Findings]:
    """Each credential sends; each other integration happens to spend exactly as much at once."""
    found = []
    for position, other_user in ((1, "bob"), (2, "alice")):
        for _ in range(SHARE_EVIDENCE):
            quotas.outside[other_user] += 1
            found.append(quotas.request(position))
    return found


def test_outside_spending_that_matches_for_a_moment_is_no_verdict_and_its_end_proves_them_distinct():
    quotas = Quotas({1: "alice", 2: "bob"})
    # By coincidence, each other integration spends exactly what our other credential sends...
    assert not any(f.shared for f in mirrored_round(quotas))
    # ...then stops: the next answers prove the pair distinct.
    found = alternate(quotas, 1)
    assert any(f.distinct for f in found) and not any(f.shared for f in found)


def test_a_new_quota_window_starts_the_comparison_over():
    judge = QuotaJudge()
    counts = {1: 0, 2: 0}
    first = judge.observe(Answer(1, EPOCH, 10, counts, {1: 1, 2: 0}))
    # A later answer from another window (its quota reset): nothing to compare it with yet.
    later = judge.observe(Answer(1, EPOCH + 3600, 1, {1: 1, 2: 40}, {1: 2, 2: 40}))
    assert first == Findings() and later == Findings()


def test_a_counter_that_would_have_moved_back_between_two_credentials_answers_proves_them_distinct():
    # Token 1's answer came (the pool's first) before token 2's request went out: one counter could
    # only have gone up since, by token 2's request at least.
    counts = {1: 5, 2: 5}
    for later, distinct in ((24, False), (21, False), (12, True)):
        judge = QuotaJudge()
        judge.observe(Answer(1, EPOCH, 20, counts, {1: 6, 2: 5}, number=0, answers_at_send=0))
        found = judge.observe(Answer(2, EPOCH, later, {1: 6, 2: 5}, {1: 6, 2: 6}, number=1, answers_at_send=1))
        assert (found.distinct == [(2, 1)]) is distinct, later
