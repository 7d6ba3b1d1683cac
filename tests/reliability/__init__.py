"""The reliability suite: chaos, kills, edits during syncs, clock skew, token expiry, the record cap,
bad input, secrets and hangs, against the simulator. Select it with `pytest -m reliability`; it is
also part of the default run (`make test`). Tests print what they injected and compared (`-s`)."""
