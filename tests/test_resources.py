"""Resources as data: typed columns, and records mapped to rows without losing meaning."""

from datetime import datetime, timezone

import pytest

from xurrent_async.errors import RecordError
from xurrent_async.resources import BY_TABLE, RESOURCES, RowMapper

ORG = {
    "id": 42, "nodeID": "Z2lkOi8v", "sourceID": None, "name": "Widget Data Center",
    "parent": {"id": 7, "name": "Widget", "nodeID": "x"}, "manager": None,
    "business_unit": False, "disabled": True, "financialID": "F-1", "region": None,
    "remarks": "line one\nline two ✓", "substitute": {"id": 9, "name": "Ann", "nodeID": "y",
                                                      "account": {"id": "acme", "name": "Acme"}},
    "source": None, "created_at": "2016-03-22T21:02:50-05:00", "updated_at": "2016-03-23T01:02:50+02:00",
}


def test_every_table_has_an_id_primary_key_and_only_snake_case_columns():
    assert [r.table for r in RESOURCES] == ["organizations", "products", "projects"]
    for resource in RESOURCES:
        schema = resource.schema()
        assert schema["primary_key"] == ["id"]
        assert schema["columns"]["id"] == "LONG"
        for column in schema["columns"]:
            assert column == column.lower() and " " not in column, column
        assert schema["columns"]["updated_at"] == "UTC_DATETIME"
        assert "synced_at" not in schema["columns"]


def test_fields_parameter_asks_for_every_mapped_attribute():
    fields = BY_TABLE["products"].api_fields.split(",")
    assert {"salvage_value", "rule_set", "financial_owner", "updated_at"} <= set(fields)
    assert "id" not in fields  # always returned


def test_a_record_becomes_a_typed_row_with_utc_times_flat_references_and_nulls_kept():
    problems: list[str] = []
    row = RowMapper(BY_TABLE["organizations"]).map(ORG, problems)
    assert problems == []
    assert row["id"] == 42 and row["node_id"] == "Z2lkOi8v"
    assert row["source_id"] is None  # null stays null, never ""
    assert row["parent_id"] == 7 and row["parent_name"] == "Widget"
    assert row["manager_id"] is None and row["manager_name"] is None
    assert row["substitute_name"] == "Ann"
    assert row["financial_id"] == "F-1"
    assert row["created_at"] == datetime(2016, 3, 23, 2, 2, 50, tzinfo=timezone.utc)
    assert row["updated_at"] == datetime(2016, 3, 22, 23, 2, 50, tzinfo=timezone.utc)
    assert row["remarks"] == "line one\nline two ✓"
    assert set(row) == set(BY_TABLE["organizations"].columns())


def test_absent_fields_become_null_columns():
    row = RowMapper(BY_TABLE["projects"]).map({"id": 1}, [])
    assert row["id"] == 1
    assert all(v is None for k, v in row.items() if k != "id")


def test_decimals_stay_exact_strings():
    row = RowMapper(BY_TABLE["products"]).map({"id": 1, "salvage_value": "125.50", "useful_life": 5}, [])
    assert row["salvage_value"] == "125.50" and row["useful_life"] == 5


@pytest.mark.parametrize(
    ("record", "expected_problem"),
    [
        ({"id": 3, "updated_at": "yesterday"}, "unparseable timestamp"),
        ({"id": 3, "created_at": "2016-03-22T21:02:50"}, "without a UTC offset"),
        ({"id": 3, "salvage_value": "12,5"}, "expected a decimal"),
        ({"id": 3, "disabled": "true"}, "expected true/false"),
        ({"id": 3, "rule_set": "quantum"}, "unknown value 'quantum'"),
        ({"id": 3, "service": "Email"}, "not a reference object"),
    ],
)
def test_a_bad_value_is_reported_with_the_record_id_and_the_record_kept(record, expected_problem):
    problems: list[str] = []
    row = RowMapper(BY_TABLE["products"]).map(record, problems)
    assert row["id"] == 3
    assert len(problems) == 1 and "products id 3" in problems[0] and expected_problem in problems[0]


def test_an_unknown_enum_value_is_kept_as_sent():
    row = RowMapper(BY_TABLE["projects"]).map({"id": 1, "status": "on_hold"}, problems := [])
    assert row["status"] == "on_hold" and problems


@pytest.mark.parametrize("record", [{"name": "no id"}, {"id": "12"}, {"id": True}, ["not", "an", "object"]])
def test_a_record_without_a_usable_id_is_a_shape_error(record):
    with pytest.raises(RecordError):
        RowMapper(BY_TABLE["organizations"]).map(record, [])
