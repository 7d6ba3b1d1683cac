"""Counters a test or benchmark reads to see what the simulator served."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class SimStats:
    requests: int = 0  # GETs of /v1/<collection>[/<id>], whatever their outcome
    by_status: dict[int, int] = field(default_factory=dict)  # every response sent (resets have none)
    rate_limited: int = 0  # 429s served, real or injected
    retry_after_http_date: int = 0  # of those, how many gave Retry-After as an HTTP-date
    faults: dict[str, int] = field(default_factory=dict)  # injected faults by kind
    token_requests: int = 0  # POST /token
    records_served: int = 0  # records in successful list pages and record GETs
    pages_served: int = 0  # successful list pages
    feed_entries_served: int = 0  # entries of the archive and trash feeds (not in the two above)
    requests_by_collection: dict[str, int] = field(default_factory=dict)
    # Authenticated requests (any outcome) by user, and by credential: a personal token's value or
    # an OAuth client's id (test-side counters: never printed by the simulator).
    requests_by_user: dict[str, int] = field(default_factory=dict)
    requests_by_credential: dict[str, int] = field(default_factory=dict)
    rate_limited_by_user: dict[str, int] = field(default_factory=dict)

    def count_caller(self, user: str, credential: str) -> None:
        self.requests_by_user[user] = self.requests_by_user.get(user, 0) + 1
        self.requests_by_credential[credential] = self.requests_by_credential.get(credential, 0) + 1

    def count_status(self, status: int) -> None:
        self.by_status[status] = self.by_status.get(status, 0) + 1

    def count_fault(self, kind: str) -> None:
        self.faults[kind] = self.faults.get(kind, 0) + 1
