"""Rendering of one record from its position: every value derives from cheap hashes of
(seed, collection, position), so nothing but the compact arrays in data.py is stored.

Shared reference targets (people, teams, services, calendars, programs) are small fixed pools;
organization references point at real records of the organizations collection.
"""

from __future__ import annotations

from binascii import b2a_base64
from collections.abc import Callable

from .data import CollectionData, splitmix64
from .timefmt import TimestampFormatter

Record = dict[str, object]

_FIRST = ("Ana", "Bram", "Chloé", "Dmitri", "Emma", "Farah", "Gustavo", "Hana", "Ivan", "Jürgen", "Kofi",
          "Łukasz", "María", "Noah", "Olga", "Priya", "Quentin", "Rosa", "Søren", "Tomás", "Zoë")
_LAST = ("Andersen", "Björk", "Chen", "Dubois", "Evans", "Fernández", "García", "Hoang", "Ito", "Jansen",
         "Kowalski", "López", "Müller", "Nakamura", "O'Brien", "Petrov", "Rossi", "Smith", "Van Dijk")
_PLACES = ("Amsterdam", "Austin", "Bangalore", "Chicago", "Denver", "Kraków", "London", "Montréal",
           "München", "Osaka", "São Paulo", "Sydney", "Toronto", "Zürich")
_DEPTS = ("Finance", "Facilities", "HR", "IT Operations", "Legal", "Logistics", "Marketing",
          "Procurement", "Research & Development", "Sales", "Service Desk", "Security")
_REGIONS = ("Americas", "APAC", "EMEA", "North America", "Europe", "Asia")
_SOURCES = ("SAP", "Workday", "LDAP", "ServiceNow import", "CSV import")
_REMARKS = (
    "Migrated from the old CMDB.",
    "Contact the service desk before changes.\nSecond line: escalation via phone.",
    "Überprüfung jährlich — siehe Vertrag № 42.",
    "Owned by the regional team; see wiki ✓",
    "Line one\r\nLine two with \"quotes\" and a tab\there.",
    "日本語の備考",
)
_BRANDS = ("Apple", "Cisco", "Dell", "HP", "Lenovo", "Microsoft", "Samsung", "Oracle", "Logitech")
_MODELS = ("Latitude", "EliteBook", "ThinkPad", "MacBook Pro", "Catalyst", "Galaxy", "Surface", "UltraSharp")
_PRODUCT_CATEGORIES = ("computer", "laptop", "server", "software", "printer", "network_device",
                       "monitor", "mobile_phone", "storage")
_RULE_SETS = ("automatic", "efficiency", "rotation", "warranty")
_DEPRECIATION = ("not_depreciated", "straight_line", "double_declining_balance", "sum_of_the_years_digits")
_VERBS = ("Migrate", "Upgrade", "Replace", "Consolidate", "Roll out", "Decommission", "Automate", "Audit")
_OBJECTS = ("payroll to the cloud", "the core network", "laptops in Finance", "the data center",
            "ERP reporting", "identity management", "the service desk portal", "backup storage")
_PROJECT_CATEGORIES = ("large", "medium", "small", "strategic", "regulatory")
_STATUSES = ("registered", "in_progress", "in_progress", "progress_halted", "completed", "completed")
_JUSTIFICATIONS = ("compliance", "corrective", "cost_reduction", "new_service", "risk_reduction",
                   "service_improvement")
_RISK = ("low", "medium", "high")
_COMPLETION_REASONS = ("complete", "withdrawn", "rejected", "no_longer_required", "unable_to_implement")
_TIME_ZONES = ("Central Time (US & Canada)", "Eastern Time (US & Canada)", "Pacific Time (US & Canada)",
               "Amsterdam", "London", "Tokyo", "Sydney")
_CALENDARS = ("Mon-Fri 08:00-17:00", "24x7", "Mon-Fri 09:00-18:00", "Mon-Sat 07:00-19:00")


def node_id(type_name: str, record_id: int) -> str:
    return b2a_base64(f"gid://xurrent/{type_name}/{record_id}".encode(), newline=False).decode().rstrip("=")


def _ref(type_name: str, ref_id: int, name: str) -> Record:
    return {"id": ref_id, "name": name, "nodeID": node_id(type_name, ref_id)}


class Pools:
    """Fixed sets of reference targets shared by all collections."""

    def __init__(self, account_id: str, org_ref: Callable[[int], Record | None], org_count: int) -> None:
        account = {"id": account_id, "name": "Sim Account"}
        self.people = []
        for k in range(500):
            person = _ref("Person", 10_001 + k, f"{_FIRST[k % len(_FIRST)]} {_LAST[(k * 7) % len(_LAST)]}")
            person["account"] = account
            self.people.append(person)
        self.teams = [_ref("Team", 20_001 + k, f"{_DEPTS[k % len(_DEPTS)]} Team {k // len(_DEPTS) + 1}")
                      for k in range(40)]
        self.services = []
        for k in range(60):
            name = f"{_DEPTS[k % len(_DEPTS)]} Service {k // len(_DEPTS) + 1}"
            service = _ref("Service", 30_001 + k, name)
            service["localized_name"] = name
            service["provider"] = org_ref((k * 7919) % org_count) if org_count else None
            self.services.append(service)
        self.calendars = [_ref("Calendar", 40_001 + k, _CALENDARS[k % len(_CALENDARS)]) for k in range(8)]
        self.programs = [_ref("Program", 50_001 + k, f"Program: {_OBJECTS[k % len(_OBJECTS)]}")
                         for k in range(25)]


class Renderer:
    """Builds the full record at a position; subclasses define the collection's fields."""

    type_name = ""
    all_fields: tuple[str, ...] = ()
    default_fields: tuple[str, ...] = ()
    name_field = "name"

    def __init__(self, data: CollectionData, seed: int, salt: int, fmt: TimestampFormatter) -> None:
        self.data = data
        self.fmt = fmt
        self._seed = splitmix64(seed * 7919 + salt * 104729)
        self.pools: Pools | None = None
        self.org_ref: Callable[[int], Record | None] = lambda _q: None
        self.org_count = 0

    def hashes(self, pos: int) -> tuple[int, int]:
        h0 = splitmix64(self._seed + pos)
        return h0, splitmix64(h0)

    def base_name(self, pos: int) -> str:
        """The name (or subject) before any edits; references to the record show it too."""
        return self._base_name(splitmix64(self._seed + pos), pos)

    def _base_name(self, h0: int, pos: int) -> str:
        raise NotImplementedError

    def render(self, pos: int) -> Record:
        raise NotImplementedError

    def _name(self, h0: int, pos: int, edits: int) -> str:
        name = self._base_name(h0, pos)
        return name if not edits else f"{name} (edit {edits})"

    def _org(self, h: int, limit: int | None = None) -> Record | None:
        if not self.org_count:
            return None
        return self.org_ref(h % (self.org_count if limit is None else min(limit, self.org_count)))


class OrganizationRenderer(Renderer):
    type_name = "Organization"
    all_fields = ("id", "nodeID", "sourceID", "name", "parent", "manager", "business_unit",
                  "business_unit_organization", "disabled", "financialID", "region", "remarks",
                  "substitute", "source", "created_at", "updated_at")
    default_fields = ("id", "nodeID", "sourceID", "name", "parent", "manager", "created_at", "updated_at")

    def _base_name(self, h0: int, pos: int) -> str:
        return f"{_PLACES[h0 % 14]} {_DEPTS[(h0 >> 8) % 12]} {self.data.ids[pos]}"

    def render(self, pos: int) -> Record:
        d = self.data
        pools = self.pools
        assert pools is not None
        h0, h1 = self.hashes(pos)
        rid, created, updated, edits = d.basics(pos)
        fmt = self.fmt.format
        return {
            "id": rid,
            "nodeID": node_id("Organization", rid),
            "sourceID": None if (h0 >> 16) & 3 == 0 else f"ORG-{rid:07d}",
            "name": self._name(h0, pos, edits),
            # Parents are early organizations, so the tree has a few wide top levels.
            "parent": None if pos == 0 or (h0 >> 18) % 5 == 0 else self.org_ref((h1 >> 3) % min(pos, 200)),
            "manager": None if (h0 >> 21) % 7 == 0 else pools.people[(h1 >> 12) % 500],
            "business_unit": (h0 >> 24) % 10 == 0,
            "business_unit_organization": None if (h0 >> 28) % 10 < 3 else self._org(h1 >> 22, 50),
            "disabled": (h0 >> 32) % 12 == 0,
            "financialID": None if (h0 >> 36) % 5 < 2 else f"FIN-{(h1 >> 30) % 100000:05d}",
            "region": None if (h0 >> 40) % 5 == 0 else _REGIONS[(h1 >> 40) % 6],
            "remarks": None if (h0 >> 44) & 1 else _REMARKS[(h1 >> 46) % 6],
            "substitute": None if (h0 >> 46) % 5 < 3 else pools.people[(h1 >> 50) % 500],
            "source": None if (h0 >> 50) % 10 < 7 else _SOURCES[(h1 >> 56) % 5],
            "created_at": fmt(created),
            "updated_at": fmt(updated),
        }


class ProductRenderer(Renderer):
    type_name = "Product"
    all_fields = ("id", "nodeID", "sourceID", "name", "category", "support_team", "service", "disabled",
                  "brand", "model", "productID", "rule_set", "depreciation_method", "useful_life",
                  "salvage_value", "financial_owner", "supplier", "remarks", "source", "created_at",
                  "updated_at")
    default_fields = ("id", "nodeID", "sourceID", "name", "category", "support_team", "service",
                      "created_at", "updated_at")

    def _base_name(self, h0: int, pos: int) -> str:
        return f"{_BRANDS[h0 % 9]} {_MODELS[(h0 >> 8) % 8]} {self.data.ids[pos] % 10000}"

    def render(self, pos: int) -> Record:
        d = self.data
        pools = self.pools
        assert pools is not None
        h0, h1 = self.hashes(pos)
        rid, created, updated, edits = d.basics(pos)
        fmt = self.fmt.format
        depreciation = None if (h0 >> 36) & 3 == 0 else _DEPRECIATION[(h1 >> 20) & 3]
        return {
            "id": rid,
            "nodeID": node_id("Product", rid),
            "sourceID": None if (h0 >> 16) & 3 == 0 else f"PRD-{rid:07d}",
            "name": self._name(h0, pos, edits),
            "category": _PRODUCT_CATEGORIES[(h0 >> 18) % 9],
            "support_team": None if (h0 >> 22) % 7 == 0 else pools.teams[(h1 >> 3) % 40],
            "service": None if (h0 >> 25) % 5 == 0 else pools.services[(h1 >> 9) % 60],
            "disabled": (h0 >> 28) % 20 == 0,
            "brand": None if (h0 >> 33) % 5 == 0 else _BRANDS[h0 % 9],
            "model": None if (h0 >> 38) & 3 == 0 else _MODELS[(h0 >> 8) % 8],
            "productID": None if (h0 >> 40) % 10 < 3 else f"P{(h1 >> 24) % 1000000:06d}",
            "rule_set": _RULE_SETS[(h0 >> 44) & 3],
            "depreciation_method": depreciation,
            "useful_life": None if depreciation is None else 1 + (h1 >> 40) % 10,
            "salvage_value": None if (h0 >> 46) % 10 < 3 else f"{(h1 >> 44) % 500000 / 100:.2f}",
            "financial_owner": None if (h0 >> 50) % 10 < 3 else self._org(h1 >> 13, 2_000),
            "supplier": None if (h0 >> 54) & 3 == 0 else self._org(h1 >> 33, 2_000),
            "remarks": None if (h0 >> 56) & 1 else _REMARKS[(h1 >> 58) % 6],
            "source": None if (h0 >> 58) % 10 < 7 else _SOURCES[(h1 >> 52) % 5],
            "created_at": fmt(created),
            "updated_at": fmt(updated),
        }


class ProjectRenderer(Renderer):
    type_name = "Project"
    name_field = "subject"
    all_fields = ("id", "nodeID", "sourceID", "subject", "manager", "category", "status",
                  "completion_target_at", "completed_at", "service", "customer", "justification",
                  "program", "time_zone", "work_hours", "risk_level", "completion_reason", "source",
                  "created_at", "updated_at")
    default_fields = ("id", "nodeID", "sourceID", "subject", "manager", "category", "status",
                      "completion_target_at", "completed_at", "service", "created_at", "updated_at")

    def _base_name(self, h0: int, pos: int) -> str:
        return f"{_VERBS[h0 % 8]} {_OBJECTS[(h0 >> 8) % 8]}"

    def render(self, pos: int) -> Record:
        d = self.data
        pools = self.pools
        assert pools is not None
        h0, h1 = self.hashes(pos)
        rid, created, updated, edits = d.basics(pos)
        fmt = self.fmt.format
        status = _STATUSES[(h0 >> 16) % 6]
        completed = status == "completed"
        # completed_at lies between creation and the record's generated last update.
        done_at = created + (d.base_updated_from(pos, created) - created) * ((h1 >> 8) & 0xFF) // 255
        return {
            "id": rid,
            "nodeID": node_id("Project", rid),
            "sourceID": None if (h0 >> 19) & 3 == 0 else f"PRJ-{rid:07d}",
            "subject": self._name(h0, pos, edits),
            "manager": None if (h0 >> 21) % 7 == 0 else pools.people[(h1 >> 16) % 500],
            "category": _PROJECT_CATEGORIES[(h0 >> 24) % 5],
            "status": status,
            "completion_target_at": None if (h0 >> 28) % 5 == 0
            else fmt(created + 86400 * (30 + (h1 >> 26) % 370)),
            "completed_at": fmt(done_at) if completed else None,
            "service": None if (h0 >> 31) % 5 == 0 else pools.services[(h1 >> 34) % 60],
            "customer": None if (h0 >> 34) % 4 == 0 else self._org(h1 >> 20, 5_000),
            "justification": None if (h0 >> 36) % 5 == 0 else _JUSTIFICATIONS[(h1 >> 41) % 6],
            "program": None if (h0 >> 39) % 5 < 2 else pools.programs[(h1 >> 44) % 25],
            "time_zone": _TIME_ZONES[(h0 >> 42) % 7],
            "work_hours": None if (h0 >> 45) % 10 < 3 else pools.calendars[(h1 >> 49) % 8],
            "risk_level": None if (h0 >> 49) % 5 == 0 else _RISK[(h1 >> 52) % 3],
            "completion_reason": _COMPLETION_REASONS[(h1 >> 55) % 5] if completed else None,
            "source": None if (h0 >> 52) % 10 < 7 else _SOURCES[(h1 >> 58) % 5],
            "created_at": fmt(created),
            "updated_at": fmt(updated),
        }


RENDERERS: dict[str, type[Renderer]] = {
    "organizations": OrganizationRenderer,
    "products": ProductRenderer,
    "projects": ProjectRenderer,
}
