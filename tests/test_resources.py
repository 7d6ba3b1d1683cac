"""Resources as data: typed columns, and records mapped to rows without losing meaning."""

import json
from datetime import datetime, timezone
from pathlib import Path

import pytest
from fivetran_connector_sdk_core.renaming import Renaming

from xurrent_async.errors import RecordError
from xurrent_async.resources import BY_TABLE, OFFSETLESS, RESOURCES, Issue, RowMapper
from xurrent_async.simulator.records import RENDERERS

DOCS = json.loads((Path(__file__).parent / "fixtures" / "docs_records.json").read_text(encoding="utf-8"))
ORG = DOCS["organizations"]["record"]


def _expected(row: dict) -> dict:
    """The fixture's row with its UTC timestamps as the aware datetimes the mapper produces."""
    out = dict(row)
    for column, value in row.items():
        if isinstance(value, str) and value.endswith("Z") and value[:4].isdigit() and "T" in value:
            out[column] = datetime.fromisoformat(value[:-1] + "+00:00")
    return out


@pytest.mark.parametrize("table", ["organizations", "products", "projects"])
def test_the_docs_example_records_map_to_exactly_the_expected_row_without_a_warning(table):
    problems: list[Issue] = []
    row = RowMapper(BY_TABLE[table]).map(DOCS[table]["record"], problems)
    assert problems == []
    assert row == _expected(DOCS[table]["row"])
    assert list(row) == list(BY_TABLE[table].columns())  # every column, in the declared order


def test_every_table_has_an_id_primary_key_and_only_snake_case_columns():
    assert [r.table for r in RESOURCES] == ["organizations", "products", "projects"]
    for resource in RESOURCES:
        schema = resource.schema()
        assert schema["primary_key"] == ["id"]
        assert schema["columns"]["id"] == "LONG"
        for column in schema["columns"]:
            assert column == column.lower() and " " not in column, column
        assert schema["columns"]["updated_at"] == "UTC_DATETIME"
        assert schema["columns"]["custom_fields"] == "JSON"
        assert "synced_at" not in schema["columns"]


def test_every_table_and_column_name_is_kept_as_it_is_by_the_sdks_fivetran_naming():
    # So the warehouse is the same under either naming: a user's `fivetran debug` (FIVETRAN naming)
    # and the end-to-end tests, which run with SOURCE naming to spare the runner renaming every cell.
    fivetran_naming = Renaming(apply=True)
    for resource in RESOURCES:
        assert fivetran_naming.table(resource.table) == resource.table
        for column in resource.schema()["columns"]:
            assert fivetran_naming.column(column) == column, column
    assert fivetran_naming.column("field1") != "field1"  # the naming does rename what it must


def test_the_documented_types():
    columns = {r.table: r.columns() for r in RESOURCES}
    assert columns["projects"]["program"] == "STRING" and "program_id" not in columns["projects"]
    assert columns["projects"]["risk_level"] == "STRING"
    for table, column in (("products", "salvage_value"), ("products", "rate"), ("projects", "cost_of_effort"),
                          ("projects", "cost_of_purchases"), ("projects", "total_cost"), ("projects", "value")):
        assert columns[table][column]["type"] == "DECIMAL", (table, column)
    assert columns["products"]["salvage_value_currency"] == columns["projects"]["value_currency"] == "STRING"
    assert columns["products"]["recurrence"] == "JSON"
    assert {"service_provider_id", "service_provider_name", "service_account_id"} <= set(columns["projects"])
    assert {"ui_extension_id", "ui_extension_title", "account_id"} <= set(columns["organizations"])


def test_fields_parameter_asks_for_every_documented_list_field_and_nothing_else():
    for resource in RESOURCES:
        asked = resource.api_fields.split(",")
        listable = set(RENDERERS[resource.table].all_fields)  # the simulator's list of documented fields
        assert set(asked) == listable - {"id", "nodeID"}, resource.table
        assert "note" not in asked and "attachments" not in asked and "account" not in asked


def test_a_record_becomes_a_typed_row_with_utc_times_flat_references_and_nulls_kept():
    problems: list[Issue] = []
    row = RowMapper(BY_TABLE["organizations"]).map(ORG, problems)
    assert problems == []
    assert row["source_id"] is None  # null stays null, never ""
    assert row["substitute_id"] is None and row["substitute_name"] is None
    assert row["created_at"] == datetime(2016, 3, 14, 18, 9, 27, tzinfo=timezone.utc)
    assert row["account_id"] == "wdc" and row["manager_account_id"] == "wdc"
    assert row["custom_fields"] == ORG["custom_fields"]  # the list exactly as sent


def test_absent_fields_become_null_columns():
    row = RowMapper(BY_TABLE["projects"]).map({"id": 1}, [])
    assert row["id"] == 1
    assert all(v is None for k, v in row.items() if k != "id")
    assert set(row) == set(BY_TABLE["projects"].columns())


def test_decimals_stay_exact_strings():
    row = RowMapper(BY_TABLE["products"]).map({"id": 1, "salvage_value": "125.50", "useful_life": 5}, [])
    assert row["salvage_value"] == "125.50" and row["useful_life"] == 5


@pytest.mark.parametrize(
    ("record", "field", "problem", "column", "kept"),
    [
        ({"id": 3, "updated_at": "yesterday"}, "updated_at", "unparseable timestamp", "updated_at", None),
        ({"id": 3, "salvage_value": "12,5"}, "salvage_value", "is not a decimal", "salvage_value", None),
        ({"id": 3, "disabled": "true"}, "disabled", "is not true/false", "disabled", None),
        ({"id": 3, "rule_set": "quantum"}, "rule_set", "undocumented value", "rule_set", "quantum"),
        # A string where a reference is documented: kept where a name goes, never silently nulled.
        ({"id": 3, "service": "Email"}, "service", "is not a reference object", "service_name", "Email"),
        ({"id": 3, "brand": {"name": "Dell"}}, "brand", "is not text", "brand", '{"name": "Dell"}'),
    ],
)
def test_a_bad_value_is_reported_with_the_record_id_and_kept_where_it_can_be(record, field, problem, column, kept):
    problems: list[Issue] = []
    row = RowMapper(BY_TABLE["products"]).map(record, problems)
    assert row["id"] == 3
    assert len(problems) == 1, problems
    issue = problems[0]
    assert (issue.table, issue.field, issue.record_id) == ("products", field, 3)
    assert problem in issue.problem and "products id 3" in str(issue)
    assert row[column] == kept


def test_issues_of_one_value_share_a_key_across_records():
    mapper, problems = RowMapper(BY_TABLE["projects"]), []
    for record_id in range(5):
        mapper.map({"id": record_id, "status": "on_hold"}, problems)
    mapper.map({"id": 9, "status": "paused"}, problems)
    assert len({issue.key for issue in problems}) == 2


@pytest.mark.parametrize("value", ["na_cost_is_zero", "na_leased", "na_not_capitalized", "reducing_balance"])
def test_legacy_and_documented_depreciation_methods_are_no_problem(value):
    problems: list[Issue] = []
    RowMapper(BY_TABLE["products"]).map({"id": 1, "depreciation_method": value}, problems)
    assert problems == []


@pytest.mark.parametrize("record", [{"name": "no id"}, {"id": "12a"}, {"id": "-12"}, {"id": "١٢"}, {"id": True},
                                    {"id": 1.5}, ["not", "an", "object"]])
def test_a_record_without_a_usable_id_is_a_shape_error(record):
    with pytest.raises(RecordError):
        RowMapper(BY_TABLE["organizations"]).map(record, [])


@pytest.mark.parametrize(("sent", "read"), [
    ("2016-03-22T21:02", datetime(2016, 3, 22, 21, 2, tzinfo=timezone.utc)),
    ("2016-03-22T21:02:50", datetime(2016, 3, 22, 21, 2, 50, tzinfo=timezone.utc)),
])
def test_a_timestamp_without_an_offset_is_kept_as_utc_and_reported_once_per_field(sent, read):
    problems: list[Issue] = []
    mapper = RowMapper(BY_TABLE["projects"])
    rows = [mapper.map({"id": n, "completed_at": sent, "created_at": sent[:-1] + "1"}, problems) for n in (1, 2)]
    assert rows[0]["completed_at"] == read and rows[1]["completed_at"] == read
    assert {(i.field, i.problem) for i in problems} == {("completed_at", OFFSETLESS), ("created_at", OFFSETLESS)}
    # One key per field whatever the value: a sync reports it once, with a count.
    assert len({i.key for i in problems}) == 2 and len(problems) == 4


def test_an_id_sent_as_digits_is_read_as_the_number():
    problems: list[Issue] = []
    row = RowMapper(BY_TABLE["products"]).map(
        {"id": "12", "support_team": {"id": "9", "name": "Unix"},
         "service": {"id": "22", "name": "Rack", "provider": {"id": "30", "name": "DC"}}}, problems)
    assert problems == []
    assert (row["id"], row["support_team_id"], row["service_id"], row["service_provider_id"]) == (12, 9, 22, 30)


def test_a_reference_id_that_is_no_number_is_reported_and_null():
    problems: list[Issue] = []
    row = RowMapper(BY_TABLE["products"]).map({"id": 1, "supplier": {"id": "x9", "name": "Acme"}}, problems)
    assert row["supplier_id"] is None and row["supplier_name"] == "Acme"
    assert [(i.field, i.problem) for i in problems] == [("supplier", "has a reference id that is not a whole number")]


@pytest.mark.parametrize(("sent", "name"), [
    ({"id": 22, "subject": "Prepare services"}, "Prepare services"),  # as the docs show a template
    ({"id": 22, "name": "Prepare services"}, "Prepare services"),  # a server that sends name only
    ({"id": 22, "subject": "Prepare services", "name": "Other"}, "Prepare services"),  # both: the documented one
])
def test_a_template_reference_shows_its_subject(sent, name):
    row = RowMapper(BY_TABLE["products"]).map({"id": 1, "workflow_template": sent}, [])
    assert (row["workflow_template_id"], row["workflow_template_name"]) == (22, name)
    row = RowMapper(BY_TABLE["organizations"]).map({"id": 1, "order_template": sent}, [])
    assert (row["order_template_id"], row["order_template_name"]) == (22, name)


def test_a_person_reference_shows_its_name_not_a_subject():
    row = RowMapper(BY_TABLE["projects"]).map({"id": 1, "manager": {"id": 5, "name": "Ann", "subject": "x"}}, [])
    assert row["manager_name"] == "Ann"
