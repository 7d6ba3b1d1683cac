"""The setup form's connection test with several credentials: each is tried and reported by its
position, never by its value."""

from __future__ import annotations

import urllib.request

import connector
from xurrent_async.simulator import SimConfig, SimulatorThread

TOKENS = ("xpat-conn-one-7f1e2d", "xpat-conn-two-0c9b8a", "xpat-conn-three-5e4d3c")


def configuration(sim, tokens=TOKENS, **extra: str) -> dict[str, str]:
    return {"oauth_token": ",".join(tokens), "account_id": "sim-account", "base_url": sim.base_url, **extra}


def run_test(sim, capsys, monkeypatch, config: dict[str, str]):
    from fivetran_connector_sdk import Logging

    monkeypatch.setattr(Logging, "LOG_LEVEL", Logging.Level.INFO)  # as the SDK sets it when it runs a test
    response = connector.connection_test(config)
    out = capsys.readouterr().out
    for token in (*TOKENS, "revoked-xpat-99"):
        assert token not in out and token not in (response.failure or "")
    return response, out


def test_every_credential_is_checked_and_reported_with_its_quota(capsys, monkeypatch):
    with SimulatorThread(SimConfig(records=5, tokens=TOKENS, burst_limit=None, hourly_limit=3600)) as sim:
        response, out = run_test(sim, capsys, monkeypatch, configuration(sim))
        assert sim.stats.requests_by_credential == {t: 3 for t in TOKENS}  # organizations, archive, trash
    assert response.success, response
    for n in (1, 2, 3):
        assert f"Token {n}: valid; 3,599 of 3,600 requests left, the quota resets at " in out
    assert "one Xurrent user" not in out


def test_a_refused_credential_fails_the_test_by_position_and_the_others_are_reported(capsys, monkeypatch):
    with SimulatorThread(SimConfig(records=5, tokens=TOKENS, burst_limit=None, hourly_limit=3600)) as sim:
        tokens = (TOKENS[0], "revoked-xpat-99", TOKENS[2])
        response, _ = run_test(sim, capsys, monkeypatch, configuration(sim, tokens))
    assert not response.success
    failure = response.failure
    assert failure.startswith("Not every credential works: token 1: valid; 3,599 of 3,600 requests left")
    assert "token 2: Xurrent refused the personal access token (oauth_token): it is wrong, expired" in failure
    assert "token 3: valid" in failure


def test_tokens_of_one_user_are_pointed_out(capsys, monkeypatch):
    config = SimConfig(records=5, tokens=TOKENS, users={"alice": TOKENS[:2]}, burst_limit=None, hourly_limit=3600)
    with SimulatorThread(config) as sim:
        response, out = run_test(sim, capsys, monkeypatch, configuration(sim))
    assert response.success
    assert "Token 1 and token 2 seem to belong to one Xurrent user" in out
    assert "token 3 seem" not in out and "Token 2 and token 3" not in out


def test_a_credential_out_of_quota_beside_working_ones_is_said_but_does_not_fail(capsys, monkeypatch):
    config = SimConfig(records=5, tokens=TOKENS, burst_limit=None, hourly_limit=3)
    with SimulatorThread(config) as sim:
        for _ in range(3):  # token 2's user spends its quota elsewhere
            request = urllib.request.Request(f"{sim.base_url}/products", headers={
                "Authorization": f"Bearer {TOKENS[1]}", "X-Xurrent-Account": "sim-account"})
            urllib.request.urlopen(request).read()
        response, out = run_test(sim, capsys, monkeypatch, configuration(sim))
    assert response.success, response
    assert "Token 2: The token's request quota is used up until " in out


def test_a_problem_of_the_account_is_said_once_not_per_credential(capsys, monkeypatch):
    with SimulatorThread(SimConfig(records=5, tokens=TOKENS, burst_limit=None, hourly_limit=None)) as sim:
        response, _ = run_test(sim, capsys, monkeypatch, configuration(sim, account_id="someone-else"))
    assert not response.success
    assert response.failure.startswith("Xurrent does not know account 'someone-else'")
    assert "token 1" not in response.failure
