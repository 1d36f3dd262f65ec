"""The API conventions of SPEC §1 and §7 (docs/rules.md, "API conventions"): the error shape,
authentication and roles on the fleet endpoints; then, over every endpoint the URL resolver knows,
the list conventions (ordering allow-list, unknown parameters, page sizes), the trailing-slash
rule, and money input on the endpoints that take money."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import URLPattern, URLResolver, get_resolver, resolve, reverse
from django.views import View
from rest_framework import viewsets
from rest_framework.decorators import action
from rest_framework.test import APIClient
from rest_framework.views import APIView
from rest_framework.viewsets import ViewSetMixin

from batpay.tests.api_world import REAL_BODIES, World, database_fingerprint
from leases import services
from leases.models import Driver, Lease
from ledger.models import Receipt
from loans.models import Loan
from repairs.models import RepairInvoice

pytestmark = pytest.mark.django_db

ERROR_KEYS = {"code", "message", "fields"}
DRIVER = {"first_name": "Ana", "last_name": "Rivera", "tlc_license_number": "5123456"}


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def finance_api(make_user, api_client_for) -> APIClient:
    return api_client_for(make_user("Finance"))


def assert_error(response, status: int, code: str | None = None) -> dict:
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == ERROR_KEYS
    assert isinstance(body["message"], str) and body["message"]
    assert isinstance(body["fields"], dict)
    if code:
        assert body["code"] == code
    return body


def test_without_credentials_the_api_answers_401_in_the_error_shape():
    client = APIClient()

    assert_error(client.get("/api/drivers/"), 401, "not_authenticated")
    assert_error(client.post("/api/leases/", {}, format="json"), 401, "not_authenticated")
    client.credentials(HTTP_AUTHORIZATION="Bearer not-a-token")
    assert_error(client.get("/api/drivers/"), 401, "authentication_failed")


def test_a_token_from_the_token_endpoint_lists_drivers(make_user):
    user = make_user("Manager", username="mara")
    client = APIClient()

    issued = client.post("/api/auth/token/", {"username": "mara", "password": "pw-for-tests-1"}, format="json")
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {issued.json()['token']}")
    listed = client.get("/api/drivers/")

    assert issued.status_code == 200
    assert listed.status_code == 200
    assert listed.json()["count"] == 0
    assert user.auth_token_set.count() == 1


def test_a_wrong_password_is_a_400_in_the_error_shape(make_user):
    make_user("Manager", username="mara")

    response = APIClient().post("/api/auth/token/", {"username": "mara", "password": "wrong"}, format="json")

    assert_error(response, 400, "invalid")
    assert "token" not in response.json()


def test_a_manager_cannot_create_a_driver_and_finance_can(make_user, api_client_for):
    manager = api_client_for(make_user("Manager"))
    finance = api_client_for(make_user("Finance"))

    refused = manager.post("/api/drivers/", DRIVER, format="json")
    created = finance.post("/api/drivers/", DRIVER, format="json")

    assert_error(refused, 403, "permission_denied")
    assert created.status_code == 201
    assert list(Driver.objects.values_list("tlc_license_number", flat=True)) == ["5123456"]
    assert manager.get(f"/api/drivers/{created.json()['id']}/").status_code == 200


def test_an_empty_body_is_a_400_naming_the_required_fields(finance_api):
    response = finance_api.post("/api/drivers/", {}, format="json")
    no_body = finance_api.post("/api/leases/", content_type="application/json")

    body = assert_error(response, 400, "invalid")
    assert {"first_name", "last_name", "tlc_license_number"} <= set(body["fields"])
    lease_fields = assert_error(no_body, 400, "invalid")["fields"]
    assert {"lease_type", "driver_id", "vehicle_id", "medallion_id", "start_date", "weekly_rate"} <= set(lease_fields)


def test_a_six_digit_tlc_license_is_a_400_naming_the_field(finance_api):
    response = finance_api.post("/api/drivers/", {**DRIVER, "tlc_license_number": "512345"}, format="json")

    assert list(assert_error(response, 400, "invalid")["fields"]) == ["tlc_license_number"]
    assert not Driver.objects.exists()


def test_a_vin_with_an_o_is_a_400_naming_the_field(finance_api):
    vehicle = {"vin": "1HGCM82633AOO4352", "plate_number": "T123456C", "make": "Honda", "model": "Accord", "year": 2022}

    response = finance_api.post("/api/vehicles/", vehicle, format="json")

    assert list(assert_error(response, 400, "invalid")["fields"]) == ["vin"]


def test_a_second_active_lease_on_a_medallion_is_a_400_naming_the_field(finance_api):
    def post(path: str, body: dict) -> int:
        response = finance_api.post(path, body, format="json")
        assert response.status_code == 201, response.json()
        return response.json()["id"]

    medallion = post("/api/medallions/", {"number": "2Y47"})
    lease = {
        "lease_type": "LONG_TERM",
        "medallion_id": medallion,
        "start_date": "2025-09-28",
        "weekly_rate": "800.00",
    }
    for n in (1, 2):
        driver = post("/api/drivers/", {**DRIVER, "tlc_license_number": f"512345{n}"})
        vehicle = post("/api/vehicles/", {"vin": f"1HGCM82633A00435{n}", "plate_number": f"T12345{n}C", "make": "Kia",
                                          "model": "Niro", "year": 2024})  # fmt: skip
        response = finance_api.post(
            "/api/leases/", {**lease, "driver_id": driver, "vehicle_id": vehicle}, format="json"
        )

    body = assert_error(response, 400, "invalid")
    assert list(body["fields"]) == ["medallion_id"]
    assert "2Y47" in body["message"]
    assert Lease.objects.filter(medallion_id=medallion, status="ACTIVE").count() == 1


@pytest.mark.parametrize(
    ("content", "content_type", "status"),
    [
        ("{", "application/json", 400),
        ("[1, 2]", "application/json", 400),
        ("null", "application/json", 400),
        ('"text"', "application/json", 400),
        ("[" * 100_000, "application/json", 400),
        (b"\xff\xfe", "application/json", 400),
        ("first_name=Ana", "text/plain", 415),
    ],
)
def test_malformed_bodies_are_errors_in_the_shape_not_500s(finance_api, content, content_type, status):
    response = finance_api.post("/api/drivers/", content, content_type=content_type)

    assert_error(response, status)


def test_pages_have_a_size_the_client_picks_up_to_1000(finance_api):
    call_command("seed_demo", leases=1001, history_weeks=0, verbosity=0)

    default = finance_api.get("/api/leases/")
    small = finance_api.get("/api/leases/", {"page_size": 2, "page": 3})
    capped = finance_api.get("/api/leases/", {"page_size": 5000})

    assert (default.json()["count"], len(default.json()["results"])) == (1001, 50)
    assert len(small.json()["results"]) == 2
    assert "page=4" in small.json()["next"] and "page=2" in small.json()["previous"]
    assert len(capped.json()["results"]) == 1000
    assert_error(finance_api.get("/api/leases/", {"page": 999}), 404, "not_found")


def test_pages_do_not_overlap_when_the_ordering_has_ties(finance_api):
    call_command("seed_demo", leases=30, history_weeks=0, verbosity=0)

    seen = []
    for page in range(1, 6):
        response = finance_api.get("/api/leases/", {"ordering": "status", "page_size": 7, "page": page})
        seen += [row["id"] for row in response.json()["results"]]

    assert len(seen) == len(set(seen)) == 30


def test_ordering_uses_an_explicit_allow_list(finance_api, make_user):
    for n, last_name in enumerate(["Chen", "Adeyemi", "Baptiste"]):
        services.driver_create(actor=None, first_name="Sam", last_name=last_name, tlc_license_number=f"510000{n}")

    ascending = finance_api.get("/api/drivers/", {"ordering": "last_name"})
    descending = finance_api.get("/api/drivers/", {"ordering": "-tlc_license_number"})
    refused = finance_api.get("/api/drivers/", {"ordering": "email"})

    assert [d["last_name"] for d in ascending.json()["results"]] == ["Adeyemi", "Baptiste", "Chen"]
    assert [d["tlc_license_number"] for d in descending.json()["results"]] == ["5100002", "5100001", "5100000"]
    assert "ordering" in assert_error(refused, 400, "invalid")["fields"]


@pytest.mark.parametrize("path", ["/api/drivers/", "/api/vehicles/", "/api/medallions/", "/api/leases/"])
def test_a_page_costs_the_same_queries_whatever_its_size(finance_api, path, django_assert_max_num_queries):
    call_command("seed_demo", leases=60, history_weeks=0, verbosity=0)

    def queries_for(page_size: int) -> int:
        with CaptureQueriesContext(connection) as captured:
            response = finance_api.get(path, {"page_size": page_size})
        assert len(response.json()["results"]) == page_size
        return len(captured)

    assert queries_for(5) == queries_for(50)
    with django_assert_max_num_queries(6):
        finance_api.get(path, {"page_size": 60, "ordering": "-id"})


def test_metrics_are_prometheus_text(settings):
    settings.METRICS_TOKEN = ""
    call_command("seed_demo", leases=3, history_weeks=0, verbosity=0)

    response = APIClient().get("/metrics")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    text = response.content.decode()
    assert "# TYPE batpay_leases gauge" in text
    assert 'batpay_leases{status="ACTIVE"} 3.0' in text


# --- every endpoint, from the URL resolver -----------------------------------------------------

# A value for each URL parameter, so that every pattern can be turned into a path. A new parameter
# name makes `_sample_path` fail loudly until it gets a sample here.
SAMPLE_KWARGS = {
    "pk": "7",
    "driver_id": "7",
    "repair_id": "RPR-2025-001",
    "loan_id": "DL-2025-0001",
    "dtr_number": "DTR-2025-000001",
    "case_no": "CASE-2025-000001",
    "misc_id": "MISC-2025-00001",
    "credit_id": "MCR-2025-00001",
    "deposit_id": "DEP-2025-0001",
    "export_id": "6f1c2d3e-4b5a-4c6d-8e7f-9a0b1c2d3e4f",
}
# The actions of a collection or an item; their paths end with a slash, every other path does not.
RESOURCE_ACTIONS = {"list", "create", "retrieve", "update", "partial_update", "destroy"}


@dataclass(frozen=True)
class Endpoint:
    route: str  # the full pattern, as resolve() reports it
    name: str  # the URL name, for reverse()
    kwarg_names: tuple[str, ...]  # the URL parameters
    path: str  # a path the pattern matches, in its canonical form
    view: type
    actions: frozenset[str]  # a viewset route's actions (list, create, confirm, …); empty for other views
    methods: frozenset[str]  # the HTTP methods the route declares, lower case
    get_action: str | None  # the viewset action GET runs, if any
    paged: bool

    def __str__(self) -> str:
        return self.path

    @property
    def toggled(self) -> str:
        return self.path[:-1] if self.path.endswith("/") else f"{self.path}/"

    @property
    def ordering_fields(self) -> list[str]:
        return list(getattr(self.view, "ordering_fields", None) or [])


def _patterns(patterns=None, prefix: str = "") -> Iterator[tuple[str, URLPattern]]:
    """Every endpoint pattern with its full route, joined as ResolverMatch.route joins it."""
    for entry in get_resolver().url_patterns if patterns is None else patterns:
        route = prefix + str(entry.pattern).removeprefix("^") if prefix else str(entry.pattern)
        if isinstance(entry, URLResolver):
            if entry.namespace != "admin":  # Django's admin keeps Django's own slash rule
                yield from _patterns(entry.url_patterns, route)
        else:
            yield route, entry


def _sample_path(pattern: URLPattern) -> str:
    names = pattern.pattern.regex.groupindex
    missing = set(names) - set(SAMPLE_KWARGS)
    assert not missing, f"add a sample value for {missing} to SAMPLE_KWARGS"
    return reverse(pattern.name, kwargs={name: SAMPLE_KWARGS[name] for name in names})


def _declared_methods(view: type, actions: dict[str, str]) -> frozenset[str]:
    """What the route declares: a viewset route the methods its router maps to actions, another view
    the handlers it defines. GET brings HEAD; every view answers OPTIONS."""
    if actions:
        methods = set(actions)
    else:
        methods = {method for method in view.http_method_names if method != "options" and hasattr(view, method)}
    if "get" in methods:
        methods.add("head")
    return frozenset(methods | {"options"})


def _endpoint(route: str, pattern: URLPattern) -> Endpoint:
    callback = pattern.callback
    view = getattr(callback, "cls", None) or getattr(callback, "view_class", None)
    actions = getattr(callback, "actions", None) or {}
    action = actions.get("get")
    paged = False
    if action == "list":
        paged = view.pagination_class is not None
    elif action is not None and getattr(getattr(view, action), "detail", True) is False:
        paged = getattr(view, action).kwargs.get("pagination_class", view.pagination_class) is not None
    return Endpoint(
        route=route,
        name=pattern.name,
        kwarg_names=tuple(pattern.pattern.regex.groupindex),
        path=_sample_path(pattern),
        view=view,
        actions=frozenset(actions.values()),
        methods=_declared_methods(view, actions),
        get_action=action,
        paged=paged,
    )


ENDPOINTS = [
    _endpoint(route, pattern) for route, pattern in _patterns() if route.startswith(("api/", "^api/", "metrics"))
]
# A list: GET runs the list action or a collection action that pages (…/installments/unposted).
LISTS = [endpoint for endpoint in ENDPOINTS if endpoint.paged]
# Collection actions that take the list's filters without paging: statistics and exports.
FILTERED = [
    endpoint
    for endpoint in ENDPOINTS
    if not endpoint.paged
    and endpoint.get_action not in (None, "retrieve")
    and getattr(getattr(endpoint.view, endpoint.get_action), "detail", True) is False
]


def test_the_resolver_finds_every_list_of_spec_section_7():
    # A check of the discovery above, not the source of the parametrized tests below.
    spec_lists = {
        "/api/drivers/",
        "/api/vehicles/",
        "/api/medallions/",
        "/api/leases/",
        "/api/ledger/postings/",
        "/api/ledger/balances/",
        "/api/repairs/",
        "/api/repairs/installments/",
        "/api/repairs/installments/unposted",
        "/api/loans/",
        "/api/loans/installments/",
        "/api/loans/installments/unposted",
        "/api/dtrs/",
    }
    assert spec_lists <= {endpoint.path for endpoint in LISTS}
    assert {"/api/repairs/statistics", "/api/repairs/export", "/api/loans/installments/export"} <= {
        endpoint.path for endpoint in FILTERED
    }


def assert_names(response, status: int, *fields: str) -> dict:
    body = assert_error(response, status)
    assert set(fields) <= set(body["fields"]), body
    return body


@pytest.mark.parametrize("endpoint", FILTERED, ids=str)
def test_statistics_and_exports_refuse_what_they_do_not_read(admin_api, endpoint):
    params = {"format": "json"} if endpoint.get_action == "export" else {}

    assert admin_api.get(endpoint.path, params).status_code == 200
    assert_names(admin_api.get(endpoint.path, {**params, "lease": "55"}), 400, "lease")
    assert_names(admin_api.get(endpoint.path, {**params, "page": "2"}), 400, "page")  # not paged
    assert_names(admin_api.get(endpoint.path, {**params, "ordering": "no_such_field"}), 400, "ordering")


def test_the_balances_of_a_driver_refuse_what_they_do_not_read(admin_api, fleet):
    lease = fleet.lease()
    url = f"/api/ledger/drivers/{lease.primary_driver_id}/balances"

    assert admin_api.get(url, {"as_of": "2025-10-04"}).status_code == 200
    assert_names(admin_api.get(url, {"asof": "2025-10-04"}), 400, "asof")


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=str)
def test_every_path_answers_the_same_with_or_without_its_trailing_slash(admin_api, settings, endpoint):
    settings.METRICS_TOKEN = ""
    canonical, other = endpoint.path, endpoint.toggled

    # Both forms reach the same pattern with the same arguments...
    matches = [resolve(path) for path in (canonical, other)]
    assert {match.route for match in matches} == {endpoint.route}
    assert matches[0].kwargs == matches[1].kwargs
    # ...and get the same answer, never a redirect (a redirected POST would lose its body).
    statuses = [admin_api.get(path).status_code for path in (canonical, other)]
    assert statuses[0] == statuses[1] and statuses[0] not in (301, 302, 307, 308), statuses
    # The canonical form: a collection or an item ends with a slash, an action on it does not.
    if endpoint.actions:
        assert canonical.endswith("/") == bool(endpoint.actions & RESOURCE_ACTIONS), canonical


@pytest.mark.parametrize(
    ("name", "kwargs", "path"),
    [
        ("repair-list", {}, "/api/repairs/"),
        ("repair-detail", {"repair_id": "RPR-2025-001"}, "/api/repairs/RPR-2025-001/"),
        ("repair-confirm", {"repair_id": "RPR-2025-001"}, "/api/repairs/RPR-2025-001/confirm"),
        ("repair-change-status", {"repair_id": "RPR-2025-001"}, "/api/repairs/RPR-2025-001/status"),
        ("repair-installments", {"repair_id": "RPR-2025-001"}, "/api/repairs/RPR-2025-001/installments"),
        ("repair-installment-list", {}, "/api/repairs/installments/"),
        ("repair-installment-unposted", {}, "/api/repairs/installments/unposted"),
        ("repair-installment-post", {}, "/api/repairs/installments/post"),
        ("repair-statistics", {}, "/api/repairs/statistics"),
        ("repair-export", {}, "/api/repairs/export"),
        ("loan-detail", {"loan_id": "DL-2025-0001"}, "/api/loans/DL-2025-0001/"),
        ("ledger-posting-void", {"pk": 7}, "/api/ledger/postings/7/void"),
        ("ledger-interim-payment", {}, "/api/ledger/interim-payments/"),
        ("ledger-driver-balances", {"driver_id": 7}, "/api/ledger/drivers/7/balances"),
        ("dtr-list", {}, "/api/dtrs/"),
        ("dtr-detail", {"dtr_number": "DTR-2025-000001"}, "/api/dtrs/DTR-2025-000001/"),
        ("dtr-pdf", {"dtr_number": "DTR-2025-000001"}, "/api/dtrs/DTR-2025-000001/pdf"),
        ("dtr-void", {"dtr_number": "DTR-2025-000001"}, "/api/dtrs/DTR-2025-000001/void"),
        ("driver-list", {}, "/api/drivers/"),
        ("api-token", {}, "/api/auth/token/"),
    ],
)
def test_the_canonical_paths_are_those_spec_section_7_writes(name, kwargs, path):
    assert reverse(name, kwargs=kwargs) == path


def test_a_write_without_the_slash_is_served_not_redirected(finance_api):
    created = finance_api.post("/api/drivers", DRIVER, format="json")
    changed = finance_api.patch(f"/api/drivers/{created.json()['id']}", {"phone": "212-555-0100"}, format="json")

    assert created.status_code == 201, created.content
    assert changed.status_code == 200, changed.content
    assert Driver.objects.get().phone == "212-555-0100"


# --- money typed in -----------------------------------------------------------------------------

BAD_MONEY = ["3e2", "٣٠٠", "３００", "NaN", "1.234", "Infinity", "1e400", " 12 50 "]


@pytest.fixture
def money_endpoints(fleet):
    """path, body without the amount, the amount's field, and what a refused request must not write."""
    lease = fleet.lease()
    ids = {"driver_id": lease.primary_driver_id, "lease_id": lease.pk}
    return {
        "repairs": (
            "/api/repairs/",
            {
                **ids,
                "invoice_number": "INV-1",
                "invoice_date": "2025-09-30",
                "workshop_type": "EXTERNAL",
                "start_week": "NEXT",
            },
            "repair_amount",
            RepairInvoice.objects,
        ),  # fmt: skip
        "loans": ("/api/loans/", {**ids, "start_week": "NEXT"}, "loan_amount", Loan.objects),
        "interim payment": (
            "/api/ledger/interim-payments/",
            {**ids, "payment_method": "CASH"},
            "amount",
            Receipt.objects,
        ),
    }


@pytest.mark.parametrize("value", BAD_MONEY)
@pytest.mark.parametrize("endpoint", ["repairs", "loans", "interim payment"])
def test_money_that_is_not_a_plain_decimal_is_a_400_naming_the_field(admin_api, money_endpoints, endpoint, value):
    path, body, field, written = money_endpoints[endpoint]

    response = admin_api.post(path, {**body, field: value}, format="json")

    assert list(assert_error(response, 400, "invalid")["fields"]) == [field]
    assert not written.exists()


@pytest.mark.parametrize("number", ["3e2", "3E+2", "1.234", "1.500", "1e-2"])
@pytest.mark.parametrize("endpoint", ["repairs", "loans", "interim payment"])
def test_a_json_number_with_an_exponent_or_three_decimals_is_a_400_naming_the_field(
    admin_api, money_endpoints, endpoint, number
):
    path, body, field, written = money_endpoints[endpoint]
    raw = json.dumps(body)[:-1] + f', "{field}": {number}}}'

    response = admin_api.post(path, raw, content_type="application/json")

    assert list(assert_error(response, 400, "invalid")["fields"]) == [field]
    assert not written.exists()


@pytest.mark.parametrize("endpoint", ["repairs", "loans", "interim payment"])
def test_money_as_a_string_or_a_json_number_is_accepted(admin_api, money_endpoints, endpoint):
    path, body, field, written = money_endpoints[endpoint]

    as_string = admin_api.post(path, {**body, field: "300.50"}, format="json")
    if "invoice_number" in body:
        body = {**body, "invoice_number": "INV-2"}
    as_number = admin_api.post(path, json.dumps({**body, field: 300.5}), content_type="application/json")

    assert as_string.status_code == 201, as_string.json()
    assert as_number.status_code == 201, as_number.json()
    assert written.count() == 2


# --- every method a route does not declare --------------------------------------------------------

HTTP_VERBS = ("get", "post", "put", "patch", "delete", "head", "options", "trace")


def verb_named_methods(view: type) -> list[str]:
    """A viewset's methods (actions included) named after an HTTP verb, but OPTIONS from APIView: on a
    viewset such a method is the handler of that verb on every one of its routes."""
    if not issubclass(view, ViewSetMixin):
        return []  # a plain view's get() and post() are how it declares its methods
    found = []
    for verb in HTTP_VERBS:
        owner = next((cls for cls in view.__mro__ if verb in vars(cls)), None)
        if owner is not None and owner not in (APIView, View):
            found.append(f"{view.__name__}.{verb} (defined on {owner.__qualname__})")
    return found


def test_no_viewset_names_a_method_after_an_http_verb():
    found = [name for view in {endpoint.view for endpoint in ENDPOINTS} for name in verb_named_methods(view)]

    assert not found, found


def test_the_check_for_verb_named_methods_finds_an_action_named_post():
    class Shadowing(viewsets.GenericViewSet):
        @action(detail=False, methods=["post"])
        def post(self, request):
            raise AssertionError("never called")

    assert [name.split(" ")[0] for name in verb_named_methods(Shadowing)] == ["Shadowing.post"]


def _bodies(world: World, endpoint: Endpoint, method: str) -> list[dict | None]:
    """The real bodies of the routes of the same view that do declare `method` — what a method
    shadowed by one of that view's handlers would act on — else none."""
    siblings = [
        REAL_BODIES[(other.name, method)](world)
        for other in ENDPOINTS
        if other.view is endpoint.view and method in other.methods and (other.name, method) in REAL_BODIES
    ]
    return siblings or [None]


def test_every_method_a_route_does_not_declare_is_a_405_that_writes_nothing(world, settings):
    settings.METRICS_TOKEN = ""
    methods = ("get", "post", "put", "patch", "delete")
    # Read before any request: a request that wrote would change what the next ones are sent.
    bodies = {(endpoint, method): _bodies(world, endpoint, method) for endpoint in ENDPOINTS for method in methods}
    before = database_fingerprint()
    wrong = []
    tried = 0

    for endpoint in ENDPOINTS:
        path = reverse(endpoint.name, kwargs=world.kwargs(endpoint.name, endpoint.kwarg_names))
        for method in methods:
            if method in endpoint.methods:
                continue
            for body in bodies[endpoint, method]:
                tried += 1
                response = getattr(world.api, method)(path, body, format="json")
                allowed = {name.strip().lower() for name in response.get("Allow", "").split(",")}
                if response.status_code != 405 or response.json()["code"] != "method_not_allowed":
                    wrong.append(f"{method.upper()} {path}: {response.status_code} {response.content[:200]!r}")
                elif allowed != endpoint.methods:
                    wrong.append(
                        f"{method.upper()} {path}: Allow {sorted(allowed)}, declared {sorted(endpoint.methods)}"
                    )

    assert not wrong, "\n".join(wrong)
    assert tried > 100
    assert database_fingerprint() == before
    call_command("check_ledger")
