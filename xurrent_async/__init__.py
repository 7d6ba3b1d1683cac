"""Xurrent (formerly 4me) → Fivetran: the async core of the connector.

Imports flow one way: settings/resources/state (data) ← auth/governor/client (HTTP) ←
extract (async orchestration) ← bridge/sync (thread + consumer) ← connector.py (the SDK).
The simulator and the bench sit beside it and import nothing from the connector's upper layers
(the bench drives it from outside, as a user would).
"""
