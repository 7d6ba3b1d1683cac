"""The key table is the one declaration of the settings: the README's table and the
configuration.json template are generated from it, and `Settings` has a field for each key."""

from __future__ import annotations

import dataclasses
import json

import pytest

from tests.readme_settings import END, START, TEMPLATE, markdown, template
from tests.readme_tables import README, current_block
from xurrent_async.config.keys import ALIASES, BY_NAME, KEYS, KNOWN_KEYS, SECRET_KEYS
from xurrent_async.config.settings import Settings, parse_settings
from xurrent_async.errors import ConfigurationError

CREDENTIAL_KEYS = {"oauth_token", "client_id", "client_secret"}  # become Settings.credentials


def test_the_readme_configuration_table_matches_the_key_table():
    block = current_block(README.read_text(encoding="utf-8"), START, END)
    assert block == markdown(), "README.md's configuration table is stale: run `python -m tests.readme_settings`"
    assert [line.split("`")[1] for line in block.splitlines()[2:]] == [key.name for key in KEYS]


def test_the_configuration_template_matches_the_key_table():
    text = TEMPLATE.read_text(encoding="utf-8")
    assert text == template(), "configuration.json is stale: run `python -m tests.readme_settings`"
    values = json.loads(text)
    assert list(values) == [key.name for key in KEYS]
    assert all(isinstance(value, str) for value in values.values())  # the SDK takes text values only
    assert len(values) <= 100  # the SDK's limit


def test_the_template_asks_only_for_the_account_and_a_credential():
    """Its placeholders count as unset, so the untouched template names exactly what to fill in."""
    values = json.loads(TEMPLATE.read_text(encoding="utf-8"))
    with pytest.raises(ConfigurationError) as info:
        parse_settings(values)
    assert [p.split(":", 1)[0] for p in info.value.problems] == ["account_id", "oauth_token"]
    assert info.value.notes == []

    settings, warnings = parse_settings({**values, "account_id": "wdc", "oauth_token": "a-token-0123456789"})
    assert warnings == []
    for key in KEYS:  # every value of a key with a default is that default, unless an example is declared
        if key.kind in ("int", "choice", "toggle") and key.template is None:
            assert getattr(settings, key.name) == key.default, key.name
    assert settings.base_url == "https://api.xurrent.com/v1"  # the URLs left empty: derived
    assert settings.sync_frequency_hours == 6  # the template's example: Fivetran's default frequency


def test_settings_has_a_field_for_every_key_and_nothing_else():
    """A deprecated name (an alias) fills its current key's field instead of one of its own."""
    fields = {f.name for f in dataclasses.fields(Settings)}
    assert fields == (KNOWN_KEYS - CREDENTIAL_KEYS - set(ALIASES)) | {"credentials"}
    assert set(ALIASES.values()) <= fields


@pytest.mark.parametrize("alias", sorted(ALIASES))
def test_a_deprecated_name_is_the_same_kind_and_range_as_its_current_name_and_says_it_is_deprecated(alias):
    old, current = BY_NAME[alias], BY_NAME[ALIASES[alias]]
    assert (old.kind, old.low, old.high) == (current.kind, current.low, current.high)
    assert old.default is None and old.template == ""  # unset unless given: the template warns about nothing
    assert old.help.startswith("Deprecated") and f"`{current.name}`" in old.help


@pytest.mark.parametrize("key", KEYS, ids=lambda key: key.name)
def test_each_row_is_consistent(key):
    assert BY_NAME[key.name] is key and key.label and key.help.endswith(".")
    assert key.secret == (key.name in SECRET_KEYS)
    assert not key.secret or key.kind in ("text", "list")  # a password field is a text field
    if key.kind == "int":
        assert key.low <= key.high
        if key.default is None:
            assert key.unset  # what empty means, for the messages
        else:
            assert type(key.default) is int and key.low <= key.default <= key.high
    elif key.kind == "choice":
        assert key.default in key.choices and len(set(key.choices)) == len(key.choices)
    elif key.kind == "toggle":
        assert isinstance(key.default, bool)
    elif key.kind == "list":
        assert key.noun
    elif key.kind == "url":  # the example that messages and the form show is itself valid
        settings, _ = parse_settings({"account_id": "a", "client_id": "i", "client_secret": "s", key.name: key.example})
        assert getattr(settings, key.name) == key.example


def test_key_names_are_unique():
    assert len(KNOWN_KEYS) == len(KEYS)
