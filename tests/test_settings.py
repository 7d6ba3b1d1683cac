"""Configuration parsing: defaults, every key's valid range, derived URLs, and clear errors."""

from __future__ import annotations

import dataclasses

import pytest

from xurrent_async.config.settings import (
    ENVIRONMENTS,
    KNOWN_KEYS,
    REGIONS,
    SECRET_KEYS,
    Credential,
    Settings,
    mask,
    parse_settings,
)
from xurrent_async.errors import ConfigurationError

# Long enough that mask() shows a 2-character prefix; distinctive so a leak is easy to spot.
TOKEN = "PAT-SECRET-4f8a9c2e71d3b6a05e9f"
CLIENT_SECRET = "CS-SECRET-0d9e8f7a6b5c4d3e2f1a"
CLIENT_ID = "client-123"


def minimal(**extra: object) -> dict[str, object]:
    return {"oauth_token": TOKEN, "account_id": "wdc", **extra}


def client(**extra: object) -> dict[str, object]:
    return {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "account_id": "wdc", **extra}


def parse(configuration: dict[str, object]) -> Settings:
    settings, _warnings = parse_settings(configuration)
    return settings


def problems_of(configuration: object) -> list[str]:
    with pytest.raises(ConfigurationError) as info:
        parse_settings(configuration)  # type: ignore[arg-type]
    return info.value.problems


# --- defaults and valid values -------------------------------------------------------------------


def test_minimal_configuration_gets_every_default() -> None:
    settings, warnings = parse_settings(minimal())
    assert warnings == []
    assert settings == Settings(
        account_id="wdc",
        credentials=(Credential("token", 1, TOKEN),),
        region="global",
        environment="production",
        base_url="https://api.xurrent.com/v1",
        oauth_token_url=None,
        initial_sync_days=None,
        enable_incremental_sync=True,
        max_records_per_page=100,
        request_timeout_seconds=30,
        retry_attempts=3,
        sync_frequency_hours=None,
        max_concurrency=8,
        rate_limit_per_hour=3600,
        burst_limit=20,
        credential_budget_per_hour=None,
        lookback_minutes=5,
    )
    assert not settings.uses_oauth_client
    assert settings.api_host == "api.xurrent.com"


def test_values_are_stripped() -> None:
    settings = parse({"oauth_token": f"  {TOKEN}\n", "account_id": " wdc\t", "max_concurrency": " 8 "})
    assert settings.credentials == (Credential("token", 1, TOKEN),)
    assert settings.account_id == "wdc"
    assert settings.max_concurrency == 8


def test_settings_are_frozen() -> None:
    settings = parse(minimal())
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.max_concurrency = 9  # type: ignore[misc]


INT_RANGES = {
    "initial_sync_days": (1, 365),
    "max_records_per_page": (1, 100),
    "request_timeout_seconds": (10, 300),
    "retry_attempts": (1, 10),
    "sync_frequency_hours": (1, 24),
    "max_concurrency": (1, 64),
    "rate_limit_per_hour": (1, 1_000_000),
    "burst_limit": (1, 10_000),
    "credential_budget_per_hour": (1, 1_000_000),
    "lookback_minutes": (1, 1440),
    "full_resync_days": (0, 365),
    "projects_full_resync_days": (0, 365),  # the deprecated name: read as full_resync_days
}


@pytest.mark.parametrize(
    ("key", "text", "expected"),
    [
        (key, text, expected)
        for key, (low, high) in INT_RANGES.items()
        for text, expected in (
            (str(low), low),
            (str(high), high),
            (f" {(low + high) // 2} ", (low + high) // 2),
        )
    ],
)
def test_integer_values_within_range_are_accepted(key: str, text: str, expected: int) -> None:
    assert getattr(parse(minimal(**{key: text})), key) == expected


@pytest.mark.parametrize("key", sorted(INT_RANGES))
def test_integer_keys_accept_real_ints_and_leading_zero_or_plus(key: str) -> None:
    low, high = INT_RANGES[key]
    assert getattr(parse(minimal(**{key: high})), key) == high
    assert getattr(parse(minimal(**{key: f"+{high}"})), key) == high
    assert getattr(parse(minimal(**{key: f"0{low}"})), key) == low


@pytest.mark.parametrize("key", ["initial_sync_days", "sync_frequency_hours", "credential_budget_per_hour"])
@pytest.mark.parametrize("unset", ["", "   ", "<DAYS>", "<your value here>"])
def test_optional_integers_unset_mean_none(key: str, unset: str) -> None:
    assert getattr(parse(minimal(**{key: unset})), key) is None


@pytest.mark.parametrize("unset", ["", "  ", "<N>"])
def test_integers_with_defaults_fall_back_when_unset(unset: str) -> None:
    settings = parse(minimal(max_concurrency=unset, lookback_minutes=unset))
    assert (settings.max_concurrency, settings.lookback_minutes) == (8, 5)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("true", True),
        ("false", False),
        ("TRUE", True),
        (" False ", False),
        (True, True),
        (False, False),
        ("", True),
        ("<true or false>", True),
    ],
)
def test_enable_incremental_sync(value: object, expected: bool) -> None:
    assert parse(minimal(enable_incremental_sync=value)).enable_incremental_sync is expected


def test_account_id_given_as_int_is_text() -> None:
    assert parse(minimal(account_id=12345)).account_id == "12345"


# --- hosts ---------------------------------------------------------------------------------------

DOMAINS = {
    ("global", "production"): "xurrent.com",
    ("au", "production"): "au.xurrent.com",
    ("uk", "production"): "uk.xurrent.com",
    ("ch", "production"): "ch.xurrent.com",
    ("us", "production"): "us.xurrent.com",
    ("global", "qa"): "xurrent.qa",
    ("au", "qa"): "au.xurrent.qa",
    ("uk", "qa"): "uk.xurrent.qa",
    ("ch", "qa"): "ch.xurrent.qa",
    ("us", "qa"): "us.xurrent.qa",
    ("global", "demo"): "xurrent-demo.com",
}


def test_domain_table_covers_every_valid_combination() -> None:
    combos = {(r, e) for r in REGIONS for e in ENVIRONMENTS if e != "demo" or r == "global"}
    assert set(DOMAINS) == combos


@pytest.mark.parametrize(("region", "environment"), sorted(DOMAINS))
def test_derived_urls_for_every_region_and_environment(region: str, environment: str) -> None:
    domain = DOMAINS[region, environment]
    token_mode = parse(minimal(region=region, environment=environment))
    assert (token_mode.region, token_mode.environment) == (region, environment)
    assert token_mode.base_url == f"https://api.{domain}/v1"
    assert token_mode.api_host == f"api.{domain}"
    assert token_mode.oauth_token_url is None  # only used with client credentials

    client_mode = parse(client(region=region, environment=environment))
    assert client_mode.base_url == f"https://api.{domain}/v1"
    assert client_mode.oauth_token_url == f"https://oauth.{domain}/token"


def test_region_and_environment_are_case_insensitive() -> None:
    settings = parse(minimal(region=" AU ", environment="QA"))
    assert (settings.region, settings.environment) == ("au", "qa")
    assert settings.base_url == "https://api.au.xurrent.qa/v1"


def test_demo_with_explicit_global_region() -> None:
    assert parse(minimal(environment="demo", region="global")).base_url == "https://api.xurrent-demo.com/v1"


# base_url as given → (base_url kept, derived oauth_token_url, api_host)
OVERRIDES = {
    "https://api.xurrent.com/v1/": ("https://api.xurrent.com/v1", "https://oauth.xurrent.com/token", "api.xurrent.com"),
    "https://api.4me.com/v1": ("https://api.4me.com/v1", "https://oauth.4me.com/token", "api.4me.com"),
    "HTTPS://API.Example.org:8443/v1": (
        "https://API.Example.org:8443/v1",
        "https://oauth.example.org:8443/token",
        "api.example.org",
    ),
    "http://127.0.0.1:8080/v1": ("http://127.0.0.1:8080/v1", "http://127.0.0.1:8080/token", "127.0.0.1"),
    "http://127.5.6.7/v1//": ("http://127.5.6.7/v1", "http://127.5.6.7/token", "127.5.6.7"),
    "http://localhost:9000/v1": ("http://localhost:9000/v1", "http://localhost:9000/token", "localhost"),
    "http://[::1]:8080/v1": ("http://[::1]:8080/v1", "http://[::1]:8080/token", "::1"),
    "https://localhost/api/v1": ("https://localhost/api/v1", "https://localhost/token", "localhost"),
}


@pytest.mark.parametrize("base_url", sorted(OVERRIDES))
def test_base_url_override_and_token_url_derivation(base_url: str) -> None:
    expected_base, expected_token_url, host = OVERRIDES[base_url]
    settings = parse(client(base_url=base_url))
    assert settings.base_url == expected_base
    assert settings.oauth_token_url == expected_token_url
    assert settings.api_host == host
    assert parse(minimal(base_url=base_url)).oauth_token_url is None


def test_oauth_token_url_override_wins_and_is_normalised() -> None:
    settings = parse(client(base_url="http://127.0.0.1:8080/v1", oauth_token_url="http://localhost:9999/token/"))
    assert settings.oauth_token_url == "http://localhost:9999/token"
    settings = parse(client(region="au", oauth_token_url="https://oauth.example.net/oauth/token"))
    assert settings.base_url == "https://api.au.xurrent.com/v1"
    assert settings.oauth_token_url == "https://oauth.example.net/oauth/token"


def test_token_url_cannot_be_derived_from_a_host_without_api_prefix() -> None:
    problems = problems_of(client(base_url="https://xurrent.example.net/v1"))
    assert len(problems) == 1
    assert problems[0].startswith("oauth_token_url:")
    assert "xurrent.example.net" in problems[0]
    # With a personal token no token URL is needed, so the same base_url is fine.
    assert parse(minimal(base_url="https://xurrent.example.net/v1")).base_url == "https://xurrent.example.net/v1"


# --- authentication modes ------------------------------------------------------------------------


def test_client_credentials_mode() -> None:
    settings = parse(client())
    assert settings.uses_oauth_client
    assert settings.credentials == (Credential("client", 1, CLIENT_SECRET, CLIENT_ID),)
    assert settings.oauth_token_url == "https://oauth.xurrent.com/token"


@pytest.mark.parametrize("unset", ["", "  ", "<YOUR_XURRENT_API_TOKEN>", "<your_xurrent_api_token>"])
def test_unset_personal_token_next_to_client_credentials_is_client_mode(unset: str) -> None:
    assert parse(client(oauth_token=unset)).uses_oauth_client


@pytest.mark.parametrize("unset", ["", "<CLIENT_ID>"])
def test_unset_client_credentials_next_to_personal_token_is_token_mode(unset: str) -> None:
    settings = parse(minimal(client_id=unset, client_secret=unset))
    assert not settings.uses_oauth_client
    assert settings.credentials == (Credential("token", 1, TOKEN),)


# --- pools of credentials ------------------------------------------------------------------------
TOKEN_2, TOKEN_3 = "PAT-SECRET-2b7c1e9d04f3a8765c1d", "PAT-SECRET-3e0a5f2c98b1d4763a0b"
SECRET_2 = "CS-SECRET-9a8b7c6d5e4f3a2b1c0d"


def test_several_tokens_separated_by_commas_are_a_pool_named_by_position() -> None:
    settings = parse(minimal(oauth_token=f" {TOKEN}, {TOKEN_2} ,{TOKEN_3}"))
    assert [(c.kind, c.position, c.secret) for c in settings.credentials] == [
        ("token", 1, TOKEN), ("token", 2, TOKEN_2), ("token", 3, TOKEN_3)]
    assert [c.label for c in settings.credentials] == ["token 1", "token 2", "token 3"]
    assert not settings.uses_oauth_client


def test_client_ids_and_secrets_pair_by_position() -> None:
    settings = parse(client(client_id="app-one, app-two", client_secret=f"{CLIENT_SECRET},{SECRET_2}"))
    assert [(c.label, c.client_id, c.secret) for c in settings.credentials] == [
        ("client 1", "app-one", CLIENT_SECRET), ("client 2", "app-two", SECRET_2)]
    assert settings.uses_oauth_client


@pytest.mark.parametrize(
    ("configuration", "expected"),
    [
        (minimal(oauth_token=f"{TOKEN},,{TOKEN_2}"), "oauth_token: token 2 of 3 is empty"),
        (minimal(oauth_token=f"{TOKEN},{TOKEN_2},"), "oauth_token: token 3 of 3 is empty"),
        (minimal(oauth_token=f",{TOKEN},"), "oauth_token: tokens 1 and 3 of 3 are empty"),
        (minimal(oauth_token=f"{TOKEN},<SECOND_TOKEN>"), "oauth_token: token 2 of 2 is a placeholder"),
        (minimal(oauth_token=f"{TOKEN},{TOKEN_2}\n{TOKEN_3}"),
         "oauth_token: token 2 of 2 contains spaces or control characters"),
        (minimal(oauth_token=f"{TOKEN},{TOKEN_2},{TOKEN}"), "oauth_token: tokens 1 and 3 are the same token"),
        (client(client_id="a,b,c", client_secret=f"{CLIENT_SECRET},{SECRET_2}"),
         "client_secret: 3 client ids but 2 secrets; they pair by position"),
        (client(client_id="a", client_secret=f"{CLIENT_SECRET},{SECRET_2}"),
         "client_id: 1 client id but 2 secrets"),
        (client(client_id="a,b,a", client_secret=f"{CLIENT_SECRET},{SECRET_2},{TOKEN}"),
         "client_id: clients 1 and 3 are the same client id"),
        (client(client_id="a, ,b", client_secret=f"{CLIENT_SECRET},{SECRET_2},{TOKEN}"),
         "client_id: client id 2 of 3 is empty"),
        (client(client_id="a,b", client_secret=f"{CLIENT_SECRET}, "), "client_secret: secret 2 of 2 is empty"),
    ],
)
def test_a_bad_pool_names_the_credential_by_position_never_by_value(configuration, expected) -> None:
    (problem,) = problems_of(configuration)
    assert problem.startswith(expected), problem
    for value in (TOKEN, TOKEN_2, TOKEN_3, CLIENT_SECRET, SECRET_2):
        assert value not in problem and value[:2] + "…" not in problem
    assert '"a"' not in problem and '"b"' not in problem  # not even a client id


def test_a_budget_at_or_above_the_quota_is_warned_about_as_changing_nothing() -> None:
    settings, warnings = parse_settings(minimal(credential_budget_per_hour="2400"))
    assert (settings.credential_budget_per_hour, warnings) == (2400, [])
    settings, warnings = parse_settings(minimal(credential_budget_per_hour="3600"))
    assert settings.credential_budget_per_hour == 3600
    (warning,) = warnings
    assert warning.startswith("credential_budget_per_hour:") and "changes nothing" in warning


# --- bad configurations --------------------------------------------------------------------------

BAD_CONFIGURATIONS: list[tuple[str, dict[str, object], str]] = [
    # (case id, configuration, key the message must name)
    ("account_id missing", {"oauth_token": TOKEN}, "account_id"),
    ("account_id empty", minimal(account_id=""), "account_id"),
    ("account_id whitespace", minimal(account_id="   "), "account_id"),
    ("account_id placeholder", minimal(account_id="<YOUR_ACCOUNT_ID>"), "account_id"),
    ("account_id inner space", minimal(account_id="w dc"), "account_id"),
    ("account_id boolean", minimal(account_id=True), "account_id"),
    ("no auth at all", {"account_id": "wdc"}, "oauth_token"),
    ("token empty", minimal(oauth_token=""), "oauth_token"),
    ("token whitespace", minimal(oauth_token=" \t "), "oauth_token"),
    ("token placeholder", minimal(oauth_token="<YOUR_XURRENT_API_TOKEN>"), "oauth_token"),
    ("token with newline", minimal(oauth_token=TOKEN[:10] + "\n" + TOKEN[10:]), "oauth_token"),
    ("client_id without secret", {"account_id": "wdc", "client_id": CLIENT_ID}, "client_secret"),
    ("client_secret without id", {"account_id": "wdc", "client_secret": CLIENT_SECRET}, "client_id"),
    ("client_secret placeholder", client(client_secret="<CLIENT_SECRET>"), "client_secret"),
    ("half client next to token", minimal(client_id=CLIENT_ID), "client_secret"),
    ("both auth modes", client(oauth_token=TOKEN), "oauth_token"),
    ("region unknown", minimal(region="eu"), "region"),
    ("environment unknown", minimal(environment="staging"), "environment"),
    ("demo with region", minimal(environment="demo", region="au"), "region"),
    ("region wrong type", minimal(region=3), "region"),
    ("base_url http non-loopback", minimal(base_url="http://api.xurrent.com/v1"), "base_url"),
    ("base_url http api.localhost", minimal(base_url="http://api.localhost:8080/v1"), "base_url"),
    ("base_url ftp", minimal(base_url="ftp://api.xurrent.com/v1"), "base_url"),
    ("base_url not absolute", minimal(base_url="api.xurrent.com/v1"), "base_url"),
    ("base_url no host", minimal(base_url="https:///v1"), "base_url"),
    ("base_url user:pass", minimal(base_url="https://user:pw@api.xurrent.com/v1"), "base_url"),
    ("base_url query", minimal(base_url="https://api.xurrent.com/v1?x=1"), "base_url"),
    ("base_url fragment", minimal(base_url="https://api.xurrent.com/v1#top"), "base_url"),
    ("base_url bad port", minimal(base_url="http://127.0.0.1:99999/v1"), "base_url"),
    ("base_url space", minimal(base_url="https://api.xurrent .com/v1"), "base_url"),
    ("token url http non-loopback", client(oauth_token_url="http://oauth.xurrent.com/token"), "oauth_token_url"),
    ("token url user:pass", client(oauth_token_url="https://a:b@oauth.xurrent.com/token"), "oauth_token_url"),
    ("initial_sync_days low", minimal(initial_sync_days="0"), "initial_sync_days"),
    ("initial_sync_days high", minimal(initial_sync_days="366"), "initial_sync_days"),
    ("initial_sync_days negative", minimal(initial_sync_days="-1"), "initial_sync_days"),
    ("max_records_per_page high", minimal(max_records_per_page="101"), "max_records_per_page"),
    ("max_records_per_page low", minimal(max_records_per_page="0"), "max_records_per_page"),
    ("request_timeout_seconds low", minimal(request_timeout_seconds="9"), "request_timeout_seconds"),
    ("request_timeout_seconds high", minimal(request_timeout_seconds="301"), "request_timeout_seconds"),
    ("retry_attempts zero", minimal(retry_attempts="0"), "retry_attempts"),
    ("retry_attempts high", minimal(retry_attempts="11"), "retry_attempts"),
    ("sync_frequency_hours high", minimal(sync_frequency_hours="25"), "sync_frequency_hours"),
    ("sync_frequency_hours low", minimal(sync_frequency_hours="0"), "sync_frequency_hours"),
    ("max_concurrency high", minimal(max_concurrency="100"), "max_concurrency"),
    ("max_concurrency words", minimal(max_concurrency="eight"), "max_concurrency"),
    ("max_concurrency decimal", minimal(max_concurrency="8.5"), "max_concurrency"),
    ("max_concurrency exponent", minimal(max_concurrency="1e1"), "max_concurrency"),
    ("max_concurrency 'true'", minimal(max_concurrency="true"), "max_concurrency"),
    ("max_concurrency real bool", minimal(max_concurrency=True), "max_concurrency"),
    ("max_concurrency underscores", minimal(max_concurrency="1_0"), "max_concurrency"),
    ("max_concurrency arabic-indic digits", minimal(max_concurrency="٨"), "max_concurrency"),
    ("rate_limit_per_hour exponent", minimal(rate_limit_per_hour="1e3"), "rate_limit_per_hour"),
    ("rate_limit_per_hour high", minimal(rate_limit_per_hour="1000001"), "rate_limit_per_hour"),
    ("rate_limit_per_hour huge", minimal(rate_limit_per_hour="9" * 5000), "rate_limit_per_hour"),
    ("burst_limit high", minimal(burst_limit="10001"), "burst_limit"),
    ("burst_limit abc", minimal(burst_limit="abc"), "burst_limit"),
    ("lookback_minutes negative", minimal(lookback_minutes="-1"), "lookback_minutes"),
    ("lookback_minutes zero", minimal(lookback_minutes="0"), "lookback_minutes"),
    ("lookback_minutes high", minimal(lookback_minutes="1441"), "lookback_minutes"),
    ("enable_incremental_sync yes", minimal(enable_incremental_sync="yes"), "enable_incremental_sync"),
    ("enable_incremental_sync int", minimal(enable_incremental_sync=1), "enable_incremental_sync"),
    ("value null", minimal(burst_limit=None), "burst_limit"),
    ("value float", minimal(max_concurrency=8.0), "max_concurrency"),
    ("value list", minimal(region=["au"]), "region"),
    ("unknown key with dict value", minimal(extra={"a": 1}), "extra"),
]


@pytest.mark.parametrize(
    ("configuration", "key"),
    [pytest.param(config, key, id=case) for case, config, key in BAD_CONFIGURATIONS],
)
def test_bad_configuration_names_the_key(configuration: dict[str, object], key: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        parse_settings(configuration)
    problems = info.value.problems
    assert len(problems) == 1, problems
    assert problems[0].startswith(f"{key}:")
    assert f"{key}:" in str(info.value)


def test_out_of_range_message_shows_value_and_allowed_range() -> None:
    assert problems_of(minimal(max_concurrency="100")) == [
        'max_concurrency: "100" is out of range; allowed 1–64 (default 8)'
    ]
    assert problems_of(minimal(initial_sync_days=" 0 ")) == [
        'initial_sync_days: " 0 " is out of range; allowed 1–365, or empty for full history'
    ]
    (problem,) = problems_of(minimal(rate_limit_per_hour="8.5"))
    assert problem == 'rate_limit_per_hour: "8.5" is not a whole number; allowed 1–1,000,000 (default 3,600)'


def test_a_lookback_of_zero_is_refused_with_the_reason() -> None:
    (problem,) = problems_of(minimal(lookback_minutes="0"))
    assert problem.startswith('lookback_minutes: "0" is out of range (less than a minute of lookback leaves no guard')
    assert "server clock ahead of its database" in problem and problem.endswith("allowed 1–1,440 (default 5)")


def test_allowed_values_are_stated() -> None:
    (region,) = problems_of(minimal(region="eu"))
    assert '"eu"' in region and "global, au, uk, ch, us" in region
    (environment,) = problems_of(minimal(environment="staging"))
    assert "production, qa, demo" in environment
    (http,) = problems_of(minimal(base_url="http://api.example.com/v1"))
    assert "https" in http and "loopback" in http


@pytest.mark.parametrize("configuration", [None, "oauth_token=x", ["oauth_token", TOKEN], 42])
def test_configuration_that_is_not_a_mapping(configuration: object) -> None:
    (problem,) = problems_of(configuration)
    assert problem.startswith("configuration:")


def test_non_text_key_is_a_problem() -> None:
    (problem,) = problems_of({**minimal(), 7: "x"})
    assert "7" in problem and "key" in problem


def test_every_problem_is_reported_at_once() -> None:
    problems = problems_of(
        {
            "client_id": CLIENT_ID,
            "region": "au",
            "environment": "demo",
            "max_concurrency": "100",
            "max_records_per_page": "eight",
            "lookback_minutes": "-5",
            "enable_incremental_sync": "maybe",
            "oauth_token_url": "ftp://oauth.example.com/token",
        }
    )
    keys = [p.split(":", 1)[0] for p in problems]
    assert sorted(keys) == sorted(
        [
            "account_id",
            "client_secret",
            "region",
            "max_concurrency",
            "max_records_per_page",
            "lookback_minutes",
            "enable_incremental_sync",
            "oauth_token_url",
        ]
    )


# --- secrets -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("secret", "expected"),
    [
        ("", "****"),
        ("short", "****"),
        ("fifteen-chars!!", "****"),
        ("0123456789abcdef", "01…(16 chars)"),
        (TOKEN, f"PA…({len(TOKEN)} chars)"),
    ],
)
def test_mask(secret: str, expected: str) -> None:
    assert mask(secret) == expected


def test_secret_keys() -> None:
    assert {"oauth_token", "client_secret"} == SECRET_KEYS
    assert SECRET_KEYS <= KNOWN_KEYS


SECRET_LEAK_CASES: list[dict[str, object]] = [
    minimal(max_concurrency="100", region="nowhere"),
    minimal(oauth_token=TOKEN + " \n" + TOKEN),  # invalid token: its own message must still mask it
    client(oauth_token=TOKEN),  # ambiguous auth
    client(client_secret=CLIENT_SECRET + "\t" + CLIENT_SECRET, oauth_token=TOKEN),
    minimal(client_secret=CLIENT_SECRET),  # half-set client next to a token
    minimal(client_secret=CLIENT_SECRET, account_id=""),
    {"oauth_token": TOKEN, "client_secret": CLIENT_SECRET, "account_id": "<ID>"},
    minimal(base_url=f"https://me:{TOKEN}@api.xurrent.com/v1"),
    minimal(base_url=f"https://api.xurrent.com/v1?token={TOKEN}"),
    client(oauth_token_url=f"http://oauth.xurrent.com/token#{CLIENT_SECRET}"),
    minimal(oauth_token=f"<{TOKEN}>", client_secret=CLIENT_SECRET),  # "placeholder" secret
    minimal(oauth_token=[TOKEN]),
    {"oauth_token": TOKEN, "client_secret": 123456789012345678, "client_id": CLIENT_ID},
]


@pytest.mark.parametrize("configuration", SECRET_LEAK_CASES)
def test_secrets_never_appear_in_errors(configuration: dict[str, object]) -> None:
    with pytest.raises(ConfigurationError) as info:
        parse_settings(configuration)
    text = str(info.value) + repr(info.value) + "\n".join(info.value.problems)
    for secret in (TOKEN, CLIENT_SECRET, "123456789012345678"):
        assert secret not in text
        assert secret[2:12] not in text  # not even a slice beyond the mask's two characters


@pytest.mark.parametrize("configuration", [minimal(), client()])
def test_secrets_never_appear_in_repr_or_str(configuration: dict[str, object]) -> None:
    settings, warnings = parse_settings({**configuration, "unknown": TOKEN})
    for text in (repr(settings), str(settings), f"{settings}", "\n".join(warnings)):
        assert TOKEN not in text
        assert CLIENT_SECRET not in text
    assert "account_id='wdc'" in repr(settings)


# --- warnings ------------------------------------------------------------------------------------


def test_unknown_keys_warn_but_do_not_fail() -> None:
    settings, warnings = parse_settings(minimal(regoin="au", something_else="1"))
    assert settings.region == "global"
    assert len(warnings) == 2
    assert any('"regoin"' in w and 'did you mean "region"' in w for w in warnings)
    assert any('"something_else"' in w for w in warnings)


def test_token_url_with_personal_token_warns_that_it_is_ignored() -> None:
    settings, warnings = parse_settings(minimal(oauth_token_url="https://oauth.example.com/token"))
    assert settings.oauth_token_url is None
    assert len(warnings) == 1 and warnings[0].startswith("oauth_token_url:")


def test_region_next_to_base_url_warns_that_it_is_ignored() -> None:
    settings, warnings = parse_settings(minimal(base_url="http://127.0.0.1:8080/v1", region="au"))
    assert settings.base_url == "http://127.0.0.1:8080/v1"
    assert warnings == ["region: ignored because base_url is set"]
    # Defaults spelled out are not worth a warning.
    _, warnings = parse_settings(
        minimal(base_url="http://127.0.0.1:8080/v1", region="global", environment="production")
    )
    assert warnings == []


def test_every_known_key_is_accepted_together() -> None:
    configuration = {
        "oauth_token": TOKEN,
        "client_id": "",
        "client_secret": "",
        "account_id": "wdc",
        "region": "us",
        "environment": "qa",
        "base_url": "",
        "oauth_token_url": "",
        "initial_sync_days": "30",
        "enable_incremental_sync": "false",
        "max_records_per_page": "50",
        "request_timeout_seconds": "60",
        "retry_attempts": "5",
        "sync_frequency_hours": "6",
        "max_concurrency": "16",
        "rate_limit_per_hour": "7200",
        "burst_limit": "40",
        "credential_budget_per_hour": "2400",
        "lookback_minutes": "1",
        "full_resync_days": "30",
        "projects_full_resync_days": "",  # deprecated: given, it would be warned about
    }
    assert set(configuration) == KNOWN_KEYS
    settings, warnings = parse_settings(configuration)
    assert warnings == []
    assert settings.base_url == "https://api.us.xurrent.qa/v1"
    assert (settings.initial_sync_days, settings.enable_incremental_sync) == (30, False)
    assert (settings.max_records_per_page, settings.request_timeout_seconds, settings.retry_attempts) == (50, 60, 5)
    assert (settings.sync_frequency_hours, settings.max_concurrency) == (6, 16)
    assert (settings.rate_limit_per_hour, settings.burst_limit, settings.lookback_minutes) == (7200, 40, 1)
    assert settings.full_resync_days == 30


def test_a_misspelt_key_gets_its_hint_even_when_other_things_are_wrong_too() -> None:
    # The misspelling is why oauth_token is missing: the hint belongs in the same message.
    with pytest.raises(ConfigurationError) as info:
        parse_settings({"oauth_tokn": TOKEN, "account_id": "", "max_concurrency": "65"})
    text = str(info.value)
    assert text.startswith("Invalid configuration (3 problem(s)):")
    assert 'configuration key "oauth_tokn" is not known and is ignored (did you mean "oauth_token"?)' in text
    assert info.value.notes and "oauth_tokn" in info.value.notes[0]
    assert TOKEN not in text


# --- the full re-read's setting and its deprecated name -----------------------------------------


def test_the_deprecated_projects_full_resync_days_sets_full_resync_days_with_a_warning() -> None:
    settings, warnings = parse_settings(minimal(projects_full_resync_days="3"))
    assert settings.full_resync_days == 3
    assert warnings == ["projects_full_resync_days: deprecated; read as full_resync_days=3, which applies to every "
                        "table (organizations and products too, not only projects); rename it to full_resync_days"]


def test_full_resync_days_wins_over_its_deprecated_name_and_the_warning_says_so() -> None:
    settings, warnings = parse_settings(minimal(full_resync_days="5", projects_full_resync_days="3"))
    assert settings.full_resync_days == 5
    assert warnings == ["projects_full_resync_days: deprecated and ignored, because full_resync_days is set "
                        "(to 5, not 3); remove projects_full_resync_days"]


@pytest.mark.parametrize("unset", ["", "  ", "<DAYS>"])
def test_an_empty_deprecated_name_is_not_warned_about(unset: str) -> None:
    settings, warnings = parse_settings(minimal(projects_full_resync_days=unset))
    assert (settings.full_resync_days, warnings) == (7, [])


def test_a_bad_deprecated_value_is_a_problem_of_its_own_name() -> None:
    assert problems_of(minimal(projects_full_resync_days="366")) == [
        'projects_full_resync_days: "366" is out of range; allowed 0–365, or empty to use full_resync_days']
