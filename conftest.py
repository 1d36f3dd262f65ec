import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.test.utils import override_settings
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from knox.models import AuthToken
from rest_framework.test import APIClient

from leases.testing import FleetFactory

hypothesis_settings.register_profile(
    "batpay",
    deadline=None,
    max_examples=60,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
hypothesis_settings.load_profile("batpay")


@pytest.fixture(autouse=True, scope="session")
def _media_of_this_run(tmp_path_factory):
    """Files the tests store (DTR PDFs, receipt scans, exports) go to a folder of this run — of this
    worker, when the suite runs in parallel (pytest-xdist) — never to the machine's .data/media."""
    with override_settings(MEDIA_ROOT=tmp_path_factory.mktemp("media")):
        yield


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """Test users need no key stretching; the real hasher costs ~0.3 s per user."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _no_shard_helpers(settings):
    """Sharded steps enqueue no helper tasks: a test has no worker to run them (the worker tests
    start their own, whose settings come from the environment)."""
    settings.CLOSE_HELPER_TASKS = 0


@pytest.fixture
def make_user(db):
    """make_user("Finance") → a user in that role group; make_user(superuser=True) → a superuser."""
    counter = {"n": 0}

    def make(role: str | None = None, *, superuser: bool = False, username: str | None = None):
        counter["n"] += 1
        name = username or f"{(role or 'super' if superuser else role or 'user').lower()}{counter['n']}"
        User = get_user_model()
        if superuser:
            return User.objects.create_superuser(name, f"{name}@example.com", "pw-for-tests-1")
        user = User.objects.create_user(name, f"{name}@example.com", "pw-for-tests-1")
        if role:
            user.groups.add(Group.objects.get(name=role))
        return user

    return make


@pytest.fixture
def api_client_for(db):
    """api_client_for(user) → an APIClient that sends a new Bearer token of the user (knox's, as
    POST /api/auth/token/ issues)."""

    def client_for(user) -> APIClient:
        client = APIClient()
        _, token = AuthToken.objects.create(user=user)
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
        return client

    return client_for


@pytest.fixture
def admin_api(make_user, api_client_for) -> APIClient:
    return api_client_for(make_user(superuser=True))


@pytest.fixture(autouse=True)
def _ledger_invariants_hold_after_each_scenario(request):
    """Every test that touches the database ends with the ledger invariants (check_ledger)."""
    uses_db = request.node.get_closest_marker("django_db") or {"db", "transactional_db"} & set(request.fixturenames)
    if not uses_db:
        yield
        return
    request.getfixturevalue("transactional_db" if "transactional_db" in request.fixturenames else "db")
    yield
    from ledger.invariants import violations

    found = violations()
    assert not found, "ledger invariants broken:\n" + "\n".join(found)


@pytest.fixture
def finance(make_user):
    return make_user("Finance")


@pytest.fixture
def fleet(finance):
    """The fleet factory (`leases.testing`): fleet.driver(), fleet.vehicle(), fleet.medallion(), fleet.lease()."""
    return FleetFactory(actor=finance)
