"""Rendering of one record from its position: every value derives from cheap hashes of
(seed, collection, position), so nothing but the compact arrays in data.py is stored.

Shared reference targets (people, teams, services, calendars, templates, UI extensions) are small
fixed pools; organization references point at real records of the organizations collection. Shapes
follow the API docs: every documented field a list can return, blanks as null, decimals as strings,
`custom_fields` as null or a list of {"id", "value"}, references into the directory account with
`account`, services with a `provider`, account-defined texts (category, risk_level, program).
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
# Documented enumerations (the legacy `na_*` depreciation methods still appear on older records).
_RULE_SETS = ("physical_asset", "logical_asset_with_financial_data", "logical_asset_without_financial_data",
              "server", "software", "software_distribution_package", "license_certificate")
_DEPRECIATION = ("not_depreciated", "double_declining_balance", "reducing_balance", "straight_line",
                 "sum_of_the_years_digits", "na_cost_is_zero", "na_leased", "na_not_capitalized")
_VERBS = ("Migrate", "Upgrade", "Replace", "Consolidate", "Roll out", "Decommission", "Automate", "Audit")
_OBJECTS = ("payroll to the cloud", "the core network", "laptops in Finance", "the data center",
            "ERP reporting", "identity management", "the service desk portal", "backup storage")
# Account-defined references (category, risk level): texts, whatever the account calls them.
_PROJECT_CATEGORIES = ("large", "medium", "small", "strategic", "regulatory")
_STATUSES = ("registered", "in_progress", "in_progress", "progress_halted", "completed", "completed")
_JUSTIFICATIONS = ("compliance", "correction", "expansion", "improvement", "maintenance", "move", "removal",
                   "replacement")
_RISK = ("significant", "limited", "high_impact", "negligible")
_COMPLETION_REASONS = ("withdrawn", "rejected", "abandoned", "partial", "complete")
_TIME_ZONES = ("Central Time (US & Canada)", "Eastern Time (US & Canada)", "Pacific Time (US & Canada)",
               "Amsterdam", "London", "Tokyo", "Sydney")
_CALENDARS = ("Mon-Fri 08:00-17:00", "24x7", "Mon-Fri 09:00-18:00", "Mon-Sat 07:00-19:00")
_PROGRAMS = ("Cloud First 2027", "Workplace Renewal", "Zero Trust", "ERP \"Phoenix\"", "Régie numérique")
_CURRENCIES = ("USD", "EUR", "GBP", "AUD", "CHF", "JPY")
_TEMPLATES = ("New laptop", "Access request", "Onboarding", "Offboarding", "Software install")
_UI_EXTENSIONS = ("Asset details", "Project finance", "Organization extras")
_WORKFLOW_TEMPLATES = ("Standard change", "Hardware refresh", "License renewal")
# A trusted / directory account: some references, and some organizations, live there.
DIRECTORY = {"id": "sim-directory", "name": "Sim Directory — Hôtel \"Central\""}


def node_id(type_name: str, record_id: int) -> str:
    return b2a_base64(f"gid://xurrent/{type_name}/{record_id}".encode(), newline=False).decode().rstrip("=")


def _ref(type_name: str, ref_id: int, name: str) -> Record:
    return {"id": ref_id, "name": name, "nodeID": node_id(type_name, ref_id)}


# The pools of reference targets that are not records of the three collections, by attribute name.
POOLS = ("people", "teams", "services", "calendars", "templates", "workflow_templates", "ui_extensions")
# Which display property a reference to a template carries (SimConfig.template_display): the docs
# show `subject` (Data Types → References: "name and/or subject"); a server may send `name` or both.
TEMPLATE_DISPLAYS = ("subject", "name", "both")


def _template_ref(type_name: str, ref_id: int, subject: str, display: str) -> Record:
    shown: Record = {"subject": subject} if display == "subject" else \
        {"name": subject} if display == "name" else {"subject": subject, "name": subject}
    return {"id": ref_id, **shown, "nodeID": node_id(type_name, ref_id)}


class Pools:
    """Fixed sets of reference targets shared by all collections. A reference carries `account` only
    when its target lives in another account (here: the directory account), `sourceID` when the
    target has one and `disabled: true` when it is disabled, as documented. A template's display
    property is its `subject` (or, by `template_display`, `name` or both)."""

    def __init__(self, account_id: str, org_ref: Callable[[int], Record | None], org_count: int,
                 template_display: str = "subject") -> None:
        self.people = []
        for k in range(500):
            person = _ref("Person", 10_001 + k, f"{_FIRST[k % len(_FIRST)]} {_LAST[(k * 7) % len(_LAST)]}")
            if k % 10 == 3:
                person["account"] = dict(DIRECTORY)
            if k % 4 == 1:
                person["sourceID"] = f"HR-{k:05d}"
            if k % 25 == 7:
                person["disabled"] = True
            self.people.append(person)
        self.teams = [_ref("Team", 20_001 + k, f"{_DEPTS[k % len(_DEPTS)]} Team {k // len(_DEPTS) + 1}")
                      for k in range(40)]
        for team in self.teams[::9]:
            team["account"] = dict(DIRECTORY)
        self.services = []
        for k in range(60):
            name = f"{_DEPTS[k % len(_DEPTS)]} Service {k // len(_DEPTS) + 1}"
            service = _ref("Service", 30_001 + k, name)
            service["localized_name"] = name
            provider = org_ref((k * 7919) % org_count) if org_count else None
            if provider is not None:
                provider = {"id": provider["id"], "name": provider["name"]}
                if k % 6 == 5:  # a service provided by an organization of the directory account
                    provider["account"] = dict(DIRECTORY)
            service["provider"] = provider
            if k % 6 == 5:
                service["account"] = dict(DIRECTORY)
            self.services.append(service)
        self.calendars = [_ref("Calendar", 40_001 + k, _CALENDARS[k % len(_CALENDARS)]) for k in range(8)]
        self.templates = [_template_ref("RequestTemplate", 60_001 + k, _TEMPLATES[k], template_display)
                          for k in range(len(_TEMPLATES))]
        self.workflow_templates = [
            _template_ref("WorkflowTemplate", 70_001 + k, _WORKFLOW_TEMPLATES[k], template_display)
            for k in range(len(_WORKFLOW_TEMPLATES))]
        self.ui_extensions = [{"id": 80_001 + k, "title": _UI_EXTENSIONS[k]} for k in range(len(_UI_EXTENSIONS))]

    def rename(self, pool: str, target_id: int, name: str) -> None:
        """Rename a target in place: every record that references it renders the new name (records
        hold these very dicts), and none of them changes otherwise."""
        targets = getattr(self, pool) if pool in POOLS else None
        if targets is None:
            raise KeyError(f"unknown pool {pool!r}; expected one of {', '.join(POOLS)}")
        target = next((t for t in targets if t["id"] == target_id), None)
        if target is None:
            raise KeyError(f"{pool} has no target with id {target_id}")
        target["title" if pool == "ui_extensions" else "name"] = name
        if "localized_name" in target:
            target["localized_name"] = name

    def rename_provider(self, organization_id: int, name: str) -> None:
        """A renamed organization, as the provider of the services it provides."""
        for service in self.services:
            provider = service.get("provider")
            if isinstance(provider, dict) and provider.get("id") == organization_id:
                provider["name"] = name


def custom_fields(h: int, pools: Pools, type_name: str) -> list[dict[str, object]] | None:
    """`null` or a list of {"id", "value"} with values of every JSON kind, as accounts define them."""
    h = splitmix64(h)  # callers pass what is left of a hash: give every choice below fresh bits
    if h % 5 == 0:
        return None
    kinds = (
        ("cost_center", f"CC-{h % 9000 + 1000}"),
        ("notes", _REMARKS[(h >> 4) % len(_REMARKS)]),
        ("priority_score", (h >> 8) % 100),
        ("weight", ((h >> 12) % 10_000) / 100),
        ("approved", bool((h >> 16) & 1)),
        ("approver", pools.people[(h >> 20) % len(pools.people)]),
        ("tags", ["gold", "eu", "ünïcode"][: (h >> 24) % 4]),
        ("empty", None),
        ("matrix", {"rows": [[1, 2], [3, 4]], "label": 'a "quoted" label'}),
    )
    count = 1 + (h >> 28) % len(kinds)
    start = (h >> 32) % len(kinds)
    chosen = [kinds[(start + i) % len(kinds)] for i in range(count)]
    return [{"id": f"{type_name.lower()}_{name}", "value": value} for name, value in chosen]


def recurrence(h: int) -> dict[str, object] | None:
    if h % 3:
        return None
    return {"frequency": ("daily", "weekly", "monthly")[h % 7 % 3], "interval": 1 + (h >> 3) % 3,
            "time_of_day": "09:00", "time_zone": _TIME_ZONES[(h >> 5) % len(_TIME_ZONES)]}


def money(h: int, scale: int) -> str:
    return f"{h % scale / 100:.2f}"


class Renderer:
    """Builds the full record at a position; subclasses define the collection's fields."""

    type_name = ""
    all_fields: tuple[str, ...] = ()  # every field a list may return (`fields=`), in rendering order
    default_fields: tuple[str, ...] = ()
    detail_fields: tuple[str, ...] = ()  # documented, but only on GET /<collection>/<id>: a list refuses them
    name_field = "name"

    def __init__(self, data: CollectionData, seed: int, salt: int, fmt: TimestampFormatter) -> None:
        self.data = data
        self.fmt = fmt
        self._seed = splitmix64(seed * 7919 + salt * 104729)
        self.pools: Pools | None = None
        self.org_ref: Callable[[int], Record | None] = lambda _q: None
        self.org_count = 0
        self.renamed: dict[int, str] = {}  # position -> the name a rename gave it (Dataset.rename)

    def hashes(self, pos: int) -> tuple[int, int]:
        h0 = splitmix64(self._seed + pos)
        return h0, splitmix64(h0)

    def extra(self, h1: int) -> int:
        """A third independent hash, for the fields added after the first two ran out of bits."""
        return splitmix64(h1 ^ 0x5DEECE66D)

    def base_name(self, pos: int) -> str:
        """The name (or subject) before any edits, or the one a rename gave it; references to the
        record show it too."""
        return self.renamed.get(pos) or self._base_name(splitmix64(self._seed + pos), pos)

    def _base_name(self, h0: int, pos: int) -> str:
        raise NotImplementedError

    def render(self, pos: int) -> Record:
        raise NotImplementedError

    def _name(self, h0: int, pos: int, edits: int) -> str:
        name = self.renamed.get(pos) or self._base_name(h0, pos)
        return name if not edits else f"{name} (edit {edits})"

    def _org(self, h: int, limit: int | None = None) -> Record | None:
        if not self.org_count:
            return None
        return self.org_ref(h % (self.org_count if limit is None else min(limit, self.org_count)))


class OrganizationRenderer(Renderer):
    type_name = "Organization"
    all_fields = ("id", "nodeID", "sourceID", "source", "name", "parent", "manager", "substitute",
                  "business_unit", "business_unit_organization", "region", "financialID", "disabled",
                  "end_user_privacy", "order_template", "ui_extension", "custom_fields", "remarks", "picture_uri",
                  "created_at", "updated_at")
    default_fields = ("id", "nodeID", "sourceID", "name", "parent", "manager", "created_at", "updated_at")
    detail_fields = ("addresses", "contacts", "attachments")

    def _base_name(self, h0: int, pos: int) -> str:
        return f"{_PLACES[h0 % 14]} {_DEPTS[(h0 >> 8) % 12]} {self.data.ids[pos]}"

    def render(self, pos: int) -> Record:
        d = self.data
        pools = self.pools
        assert pools is not None
        h0, h1 = self.hashes(pos)
        h2 = self.extra(h1)
        rid, created, updated, edits = d.basics(pos)
        fmt = self.fmt.format
        record: Record = {
            "id": rid,
            "nodeID": node_id("Organization", rid),
            "sourceID": None if (h0 >> 16) & 3 == 0 else f"ORG-{rid:07d}",
            "source": None if (h0 >> 50) % 10 < 7 else _SOURCES[(h1 >> 56) % 5],
            "name": self._name(h0, pos, edits),
            # Parents are early organizations, so the tree has a few wide top levels.
            "parent": None if pos == 0 or (h0 >> 18) % 5 == 0 else self.org_ref((h1 >> 3) % min(pos, 200)),
            "manager": None if (h0 >> 21) % 7 == 0 else pools.people[(h1 >> 12) % 500],
            "substitute": None if (h0 >> 46) % 5 < 3 else pools.people[(h1 >> 50) % 500],
            "business_unit": (h0 >> 24) % 10 == 0,
            "business_unit_organization": None if (h0 >> 28) % 10 < 3 else self._org(h1 >> 22, 50),
            "region": None if (h0 >> 40) % 5 == 0 else _REGIONS[(h1 >> 40) % 6],
            "financialID": None if (h0 >> 36) % 5 < 2 else f"FIN-{(h1 >> 30) % 100000:05d}",
            "disabled": (h0 >> 32) % 12 == 0,
            "end_user_privacy": (h2 >> 3) % 8 == 0,
            "order_template": None if (h2 >> 6) % 3 else pools.templates[(h2 >> 9) % len(pools.templates)],
            "ui_extension": None if (h2 >> 12) % 4 else pools.ui_extensions[2],
            "custom_fields": custom_fields(h2 >> 14, pools, "Organization"),
            "remarks": None if (h0 >> 44) & 1 else _REMARKS[(h1 >> 46) % 6],
            "picture_uri": None if (h2 >> 50) % 3 else f"https://sim.example/pictures/org-{rid}.png",
            "created_at": fmt(created),
            "updated_at": fmt(updated),
        }
        if self.in_directory(pos):  # a list of organizations includes some of the directory account's
            record["account"] = dict(DIRECTORY)
        return record

    @staticmethod
    def in_directory(pos: int) -> bool:
        return pos % 37 == 11


class ProductRenderer(Renderer):
    type_name = "Product"
    all_fields = ("id", "nodeID", "sourceID", "source", "name", "brand", "model", "productID", "category",
                  "support_team", "service", "financial_owner", "supplier", "workflow_manager", "workflow_template",
                  "rule_set", "depreciation_method", "useful_life", "salvage_value", "salvage_value_currency",
                  "rate", "recurrence", "disabled", "ui_extension", "custom_fields", "remarks", "picture_uri",
                  "created_at", "updated_at")
    default_fields = ("id", "nodeID", "sourceID", "name", "category", "support_team", "service",
                      "created_at", "updated_at")
    detail_fields = ("attachments",)

    def _base_name(self, h0: int, pos: int) -> str:
        return f"{_BRANDS[h0 % 9]} {_MODELS[(h0 >> 8) % 8]} {self.data.ids[pos] % 10000}"

    def render(self, pos: int) -> Record:
        d = self.data
        pools = self.pools
        assert pools is not None
        h0, h1 = self.hashes(pos)
        h2 = self.extra(h1)
        rid, created, updated, edits = d.basics(pos)
        fmt = self.fmt.format
        depreciation = None if (h0 >> 36) & 3 == 0 else _DEPRECIATION[(h1 >> 20) % len(_DEPRECIATION)]
        salvage = None if (h0 >> 46) % 10 < 3 else money(h1 >> 44, 500_000)
        return {
            "id": rid,
            "nodeID": node_id("Product", rid),
            "sourceID": None if (h0 >> 16) & 3 == 0 else f"PRD-{rid:07d}",
            "source": None if (h0 >> 58) % 10 < 7 else _SOURCES[(h1 >> 52) % 5],
            "name": self._name(h0, pos, edits),
            "brand": None if (h0 >> 33) % 5 == 0 else _BRANDS[h0 % 9],
            "model": None if (h0 >> 38) & 3 == 0 else _MODELS[(h0 >> 8) % 8],
            "productID": None if (h0 >> 40) % 10 < 3 else f"P{(h1 >> 24) % 1000000:06d}",
            # The product category's reference, e.g. software/browser_viewer_application.
            "category": f"{_PRODUCT_CATEGORIES[(h0 >> 18) % 9]}/{_MODELS[(h2 >> 3) % 8].lower().replace(' ', '_')}",
            "support_team": None if (h0 >> 22) % 7 == 0 else pools.teams[(h1 >> 3) % 40],
            "service": None if (h0 >> 25) % 5 == 0 else pools.services[(h1 >> 9) % 60],
            "financial_owner": None if (h0 >> 50) % 10 < 3 else self._org(h1 >> 13, 2_000),
            "supplier": None if (h0 >> 54) & 3 == 0 else self._org(h1 >> 33, 2_000),
            "workflow_manager": None if (h2 >> 6) % 3 == 0 else pools.people[(h2 >> 8) % 500],
            "workflow_template": None if (h2 >> 17) % 3 else pools.workflow_templates[(h2 >> 19) % 3],
            "rule_set": _RULE_SETS[(h0 >> 44) % len(_RULE_SETS)],
            "depreciation_method": depreciation,
            "useful_life": None if depreciation is None else 1 + (h1 >> 40) % 10,
            "salvage_value": salvage,
            "salvage_value_currency": None if salvage is None else _CURRENCIES[(h2 >> 22) % 6],
            "rate": None if (h2 >> 25) % 4 else money(h2 >> 27, 10_000),
            "recurrence": recurrence(h2 >> 35),
            "disabled": (h0 >> 28) % 20 == 0,
            "ui_extension": None if (h2 >> 41) % 3 else pools.ui_extensions[0],
            "custom_fields": custom_fields(h2 >> 43, pools, "Product"),
            "remarks": None if (h0 >> 56) & 1 else _REMARKS[(h1 >> 58) % 6],
            "picture_uri": None if (h2 >> 60) % 2 else f"https://sim.example/pictures/product-{rid}.png",
            "created_at": fmt(created),
            "updated_at": fmt(updated),
        }


class ProjectRenderer(Renderer):
    type_name = "Project"
    name_field = "subject"
    all_fields = ("id", "nodeID", "sourceID", "source", "subject", "category", "status", "justification",
                  "completion_reason", "risk_level", "program", "manager", "customer", "service", "work_hours",
                  "time_zone", "completion_target_at", "completed_at", "effort", "cost_of_effort",
                  "cost_of_purchases", "total_cost", "value", "value_currency", "roi", "resolution_duration",
                  "ui_extension", "custom_fields", "created_at", "updated_at")
    default_fields = ("id", "nodeID", "sourceID", "subject", "manager", "category", "status",
                      "completion_target_at", "completed_at", "service", "created_at", "updated_at")
    detail_fields = ("note", "attachments")

    def _base_name(self, h0: int, pos: int) -> str:
        return f"{_VERBS[h0 % 8]} {_OBJECTS[(h0 >> 8) % 8]}"

    def render(self, pos: int) -> Record:
        d = self.data
        pools = self.pools
        assert pools is not None
        h0, h1 = self.hashes(pos)
        h2 = self.extra(h1)
        rid, created, updated, edits = d.basics(pos)
        fmt = self.fmt.format
        status = _STATUSES[(h0 >> 16) % 6]
        completed = status == "completed"
        # completed_at lies between creation and the record's generated last update.
        done_at = created + (d.base_updated_from(pos, created) - created) * ((h1 >> 8) & 0xFF) // 255
        effort = None if (h2 >> 3) % 4 == 0 else (h2 >> 5) % 50_000  # minutes
        purchases = None if (h2 >> 21) % 3 == 0 else money(h2 >> 23, 10_000_000)
        cost_of_effort = None if effort is None else f"{effort * 75 / 60:.2f}"
        total = None if cost_of_effort is None and purchases is None else \
            f"{float(cost_of_effort or 0) + float(purchases or 0):.2f}"
        value = None if (h2 >> 37) % 3 == 0 else money(h2 >> 39, 50_000_000)
        return {
            "id": rid,
            "nodeID": node_id("Project", rid),
            "sourceID": None if (h0 >> 19) & 3 == 0 else f"PRJ-{rid:07d}",
            "source": None if (h0 >> 52) % 10 < 7 else _SOURCES[(h1 >> 58) % 5],
            "subject": self._name(h0, pos, edits),
            "category": _PROJECT_CATEGORIES[(h0 >> 24) % 5],
            "status": status,
            "justification": None if (h0 >> 36) % 5 == 0 else _JUSTIFICATIONS[(h1 >> 41) % 8],
            "completion_reason": _COMPLETION_REASONS[(h1 >> 55) % 5] if completed else None,
            "risk_level": None if (h0 >> 49) % 5 == 0 else _RISK[(h1 >> 52) % 4],
            "program": None if (h0 >> 39) % 5 < 2 else _PROGRAMS[(h1 >> 44) % len(_PROGRAMS)],
            "manager": None if (h0 >> 21) % 7 == 0 else pools.people[(h1 >> 16) % 500],
            "customer": None if (h0 >> 34) % 4 == 0 else self._org(h1 >> 20, 5_000),
            "service": None if (h0 >> 31) % 5 == 0 else pools.services[(h1 >> 34) % 60],
            "work_hours": None if (h0 >> 45) % 10 < 3 else pools.calendars[(h1 >> 49) % 8],
            "time_zone": _TIME_ZONES[(h0 >> 42) % 7],
            "completion_target_at": None if (h0 >> 28) % 5 == 0
            else fmt(created + 86400 * (30 + (h1 >> 26) % 370)),
            "completed_at": fmt(done_at) if completed else None,
            "effort": effort,
            "cost_of_effort": cost_of_effort,
            "cost_of_purchases": purchases,
            "total_cost": total,
            "value": value,
            "value_currency": None if value is None else _CURRENCIES[(h2 >> 47) % 6],
            "roi": None if value is None or total is None else (h2 >> 50) % 400 - 100,
            "resolution_duration": (h2 >> 53) % 200_000 if completed else None,  # minutes
            "ui_extension": None if (h2 >> 58) % 3 else pools.ui_extensions[1],
            "custom_fields": custom_fields(h2 >> 11, pools, "Project"),
            "created_at": fmt(created),
            "updated_at": fmt(updated),
        }


RENDERERS: dict[str, type[Renderer]] = {
    "organizations": OrganizationRenderer,
    "products": ProductRenderer,
    "projects": ProjectRenderer,
}
