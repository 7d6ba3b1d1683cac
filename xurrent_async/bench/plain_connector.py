"""A plain op.upsert loop over pre-mapped rows: the SDK runner's own cost on these tables.

The sdk and memory-sdk scenarios copy this file into a project as its connector.py, beside a
rows.pickle that scenarios/sdk.py writes (a header, then (table, rows) chunks); it is never
imported from the package.
"""

import os
import pickle

from fivetran_connector_sdk import Connector
from fivetran_connector_sdk import Operations as op

ROWS = os.path.join(os.path.dirname(__file__), "rows.pickle")


def chunks():
    with open(ROWS, "rb") as handle:
        pickle.load(handle)  # the header
        while True:
            try:
                yield pickle.load(handle)
            except EOFError:
                return


with open(ROWS, "rb") as handle:
    # PRELOAD: True, every row in memory before update() (speed); False, read as they go (memory).
    SCHEMA, CHECKPOINT_ROWS, PRELOAD = pickle.load(handle)
LOADED = list(chunks()) if PRELOAD else None


def schema(configuration):
    return SCHEMA


def update(configuration, state):
    pending = 0
    for table, rows in LOADED if PRELOAD else chunks():
        for row in rows:
            op.upsert(table, row)
            pending += 1
            if pending >= CHECKPOINT_ROWS:
                op.checkpoint({"table": table})
                pending = 0
    op.checkpoint({"done": True})


connector = Connector(update=update, schema=schema)
