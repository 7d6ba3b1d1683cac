"""connector.py as the SDK sees it: schema, configuration errors before any request, connection test."""

from __future__ import annotations

import socket

import pytest
from fivetran_connector_sdk import form_field
from fivetran_connector_sdk_cli.configuration_command import prompt_for_configuration, validate_form
from fivetran_connector_sdk_core.errors import ConnectorTask

import connector
from xurrent_async.config.keys import KEYS
from xurrent_async.config.settings import parse_settings
from xurrent_async.simulator import SimConfig, SimulatorThread

TOKEN = "sim-token-abcdef0123456789"


@pytest.fixture(scope="module")
def sim():
    with SimulatorThread(SimConfig(records=50, tokens=(TOKEN,), burst_limit=None, hourly_limit=None)) as simulator:
        yield simulator


@pytest.fixture
def reported(monkeypatch) -> list[str]:
    """The messages update() ends the sync with through op.error, which raises as the SDK's does."""
    messages: list[str] = []

    def error(message: str, trace: str | None = None) -> None:
        messages.append(message)
        raise ConnectorTask(message, trace)

    monkeypatch.setattr(connector.op, "error", staticmethod(error))
    return messages


def good(sim, **changes: str) -> dict[str, str]:
    config = {"oauth_token": TOKEN, "account_id": "sim-account", "base_url": sim.base_url}
    config.update(changes)
    return config


def test_schema_declares_three_tables_typed_with_id_keys():
    tables = {t["table"]: t for t in connector.schema({})}
    assert set(tables) == {"organizations", "products", "projects"}
    for table in tables.values():
        assert table["primary_key"] == ["id"]
        assert table["columns"]["id"] == "LONG"
        assert table["columns"]["created_at"] == "UTC_DATETIME"
    assert tables["products"]["columns"]["salvage_value"] == {"type": "DECIMAL", "precision": 38, "scale": 10}
    assert tables["organizations"]["columns"]["disabled"] == "BOOLEAN"


@pytest.mark.parametrize(
    ("changes", "key"),
    [
        ({"account_id": ""}, "account_id"),
        ({"oauth_token": "<YOUR_XURRENT_PERSONAL_ACCESS_TOKEN>"}, "oauth_token"),
        ({"max_concurrency": "65"}, "max_concurrency"),
        ({"max_records_per_page": "0"}, "max_records_per_page"),
        ({"request_timeout_seconds": "5"}, "request_timeout_seconds"),
        ({"retry_attempts": "eleven"}, "retry_attempts"),
        ({"initial_sync_days": "366"}, "initial_sync_days"),
        ({"lookback_minutes": "-1"}, "lookback_minutes"),
        ({"enable_incremental_sync": "yes"}, "enable_incremental_sync"),
        ({"region": "mars"}, "region"),
        ({"base_url": "http://api.example.com/v1"}, "base_url"),
        ({"client_id": "only-the-id"}, "client_secret"),
    ],
)
def test_an_invalid_setting_fails_update_before_any_request(sim, reported, changes, key):
    sim.reset_stats()
    with pytest.raises(ConnectorTask):
        connector.update(good(sim, **changes), {})
    [message] = reported
    assert message.startswith("Invalid configuration") and key in message
    assert message.endswith("fix the configuration and run the sync again.")
    assert TOKEN not in message
    assert sim.stats.requests == 0 and sim.stats.token_requests == 0


def test_the_connection_test_passes_with_working_settings(sim):
    response = connector.connection_test(good(sim))
    assert response.success, response


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"oauth_token": "revoked-token-0000000000"}, "refused the personal access token"),
        ({"account_id": "someone-else"}, "does not know account 'someone-else'"),
        ({"max_concurrency": "100"}, "max_concurrency"),
    ],
)
def test_the_connection_test_says_what_is_wrong(sim, changes, expected):
    response = connector.connection_test(good(sim, **changes))
    assert not response.success
    assert expected in response.failure
    assert TOKEN not in response.failure and "revoked-token" not in response.failure


def test_the_connection_test_reports_an_unreachable_host():
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    response = connector.connection_test({"oauth_token": TOKEN, "account_id": "a",
                                          "base_url": f"http://127.0.0.1:{port}/v1"})
    assert not response.success
    assert "Cannot reach 127.0.0.1" in response.failure


def test_the_connection_test_reports_an_exhausted_quota_with_its_reset_time():
    config = SimConfig(records=5, tokens=(TOKEN,), burst_limit=None, hourly_limit=1)
    with SimulatorThread(config) as sim:
        assert connector.connection_test(good(sim)).success
        response = connector.connection_test(good(sim))
    assert not response.success
    assert "quota is used up until" in response.failure and "UTC" in response.failure


def test_the_setup_form_offers_every_setting_that_matters_with_secrets_masked():
    form = connector.configuration_form()
    fields = {f.name: f for f in form._fields}  # what the SDK serialises for Fivetran's setup form
    assert {"account_id", "oauth_token", "client_id", "client_secret", "region", "environment"} <= set(fields)
    assert fields["oauth_token"].text_field == 1 and fields["client_secret"].text_field == 1  # password
    assert [o.value for o in fields["region"].dropdown_options] == ["global", "au", "uk", "ch", "us"]


def test_the_setup_form_offers_exactly_the_key_table_with_a_widget_for_each_kind():
    fields = connector.configuration_form()._fields
    validate_form(fields)  # as `fivetran configuration` checks it: unique names, dropdowns with options
    assert [f.name for f in fields] == [key.name for key in KEYS]
    for key, field in zip(KEYS, fields, strict=True):
        assert (field.label, field.description, bool(field.required)) == (key.label, key.description, key.required)
        if key.kind == "choice":
            assert [o.value for o in field.dropdown_options] == list(key.choices), key.name
            assert key.default in key.choices
        elif key.kind == "toggle":
            assert field.toggle and field.text_field is None, key.name
        else:
            expected = form_field.TextField.password if key.secret else form_field.TextField.plain_text
            assert (field.text_field, field.dropdown_options, field.toggle) == (expected, None, False), key.name
    assert {f.name for f in fields if f.text_field == form_field.TextField.password} == {"oauth_token", "client_secret"}
    assert [f.name for f in fields if f.required] == ["account_id"]


def test_what_the_form_collects_parses_without_warnings(capsys):
    """The answers as `fivetran configuration` writes them: text for every field, "" when skipped,
    a dropdown's value, "true"/"false" for the toggle."""
    answers = {"Account ID": "wdc", "Personal access tokens": TOKEN, "Region": "au", "Incremental sync": "false",
               "Max concurrency": "16"}
    labels = {key.label for key in KEYS}
    assert set(answers) <= labels and len(labels) == len(KEYS)

    def answer(prompt: str) -> str:
        return answers.get(prompt.removesuffix(": "), "")

    configuration = prompt_for_configuration(connector.configuration_form()._fields, answer, answer)
    capsys.readouterr()
    assert list(configuration) == [key.name for key in KEYS]
    settings, warnings = parse_settings(configuration)
    assert warnings == []
    assert (settings.account_id, settings.region, settings.enable_incremental_sync) == ("wdc", "au", False)
    assert (settings.max_concurrency, settings.base_url) == (16, "https://api.au.xurrent.com/v1")


def test_a_token_that_may_not_read_the_feeds_passes_the_connection_test_with_a_warning(capsys, monkeypatch):
    from fivetran_connector_sdk import Logging

    monkeypatch.setattr(Logging, "LOG_LEVEL", Logging.Level.INFO)  # as the SDK sets it when it runs a test
    config = SimConfig(records=20, tokens=(TOKEN,), burst_limit=None, hourly_limit=None,
                       forbidden=("archive", "trash"))
    with SimulatorThread(config) as sim:
        response = connector.connection_test(good(sim))
        assert response.success, response
        assert sim.stats.requests_by_collection == {"organizations": 1, "archive": 1, "trash": 1}
    out = capsys.readouterr().out
    assert out.count("may not read /") == 2 and "will not be marked deleted" in out and TOKEN not in out


def test_a_server_without_the_feeds_passes_the_connection_test_with_a_warning(capsys, monkeypatch):
    from fivetran_connector_sdk import Logging

    monkeypatch.setattr(Logging, "LOG_LEVEL", Logging.Level.INFO)
    config = SimConfig(records=20, tokens=(TOKEN,), burst_limit=None, hourly_limit=None, feeds_missing=True)
    with SimulatorThread(config) as sim:
        response = connector.connection_test(good(sim))
        assert response.success, response
    out = capsys.readouterr().out
    assert out.count("answered 404 for /") == 2 and "offers no archive and trash" in out
