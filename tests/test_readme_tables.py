"""The README lists every column of every table with the type `schema()` declares."""

from tests.readme_tables import README, current_block, markdown
from xurrent_async.resources import RESOURCES


def test_the_readme_column_tables_match_the_schema():
    block = current_block(README.read_text(encoding="utf-8"))
    assert block == markdown(), "README.md's column tables are stale: run `python -m tests.readme_tables`"
    for resource in RESOURCES:  # and the generator itself covers every declared column
        for column in resource.columns():
            assert f"| `{column}` |" in block, column
