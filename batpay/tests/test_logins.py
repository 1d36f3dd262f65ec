"""Logins and tokens (docs/rules.md, "Logins and tokens"): the login guard on the API's token and the
admin's login form, and API tokens that expire, can be revoked and are stored hashed.

Time travels by moving the stored times back (failed attempts, token expiry), never by sleeping."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.conf import settings as django_settings
from django.db import connection
from django.db.models import F
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from knox.models import AuthToken
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db

PASSWORD = "pw-for-tests-1"  # conftest's make_user
TOKEN_URL = "/api/auth/token/"
ERROR_KEYS = {"code", "message", "fields"}


def assert_error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == ERROR_KEYS
    assert body["code"] == code
    assert body["message"]
    return body


def log_in(client: APIClient, username: str, password: str, **extra):
    return client.post(TOKEN_URL, {"username": username, "password": password}, format="json", **extra)


def travel_past_cool_off(seconds: float | None = None) -> None:
    """Every failed attempt happened `seconds` (default: the cool-off and one second) earlier."""
    back = django_settings.AXES_COOLOFF_TIME + timedelta(seconds=1) if seconds is None else timedelta(seconds=seconds)
    AccessAttempt.objects.update(attempt_time=F("attempt_time") - back)


@pytest.fixture
def mara(make_user):
    return make_user("Manager", username="mara")


# --- the login guard: API ------------------------------------------------------------------------


def test_the_defaults_are_ten_failures_and_a_fifteen_minute_cool_off():
    assert (django_settings.LOGIN_FAILURE_LIMIT, django_settings.AXES_FAILURE_LIMIT) == (10, 11)
    assert django_settings.AXES_COOLOFF_TIME.total_seconds() == 15 * 60


def test_the_11th_wrong_password_within_a_minute_is_refused_then_even_the_right_one_until_the_cool_off(mara):
    client = APIClient()

    answers = [log_in(client, "mara", f"wrong-{n}") for n in range(1, 12)]
    right_while_locked = log_in(client, "mara", PASSWORD)

    for answer in answers[:10]:
        assert_error(answer, 400, "invalid")
    # Ten wrong passwords are each told so; the 11th is refused, and from then on nothing is checked.
    for answer in [*answers[10:], right_while_locked]:
        body = assert_error(answer, 429, "throttled")
        assert "token" not in body
        assert "Too many failed logins" in body["message"]
        assert 0 < int(answer["Retry-After"]) <= 15 * 60
    assert not AuthToken.objects.exists()
    assert AccessAttempt.objects.get().failures_since_start == 11  # attempts refused later are not counted

    travel_past_cool_off()
    after = log_in(client, "mara", PASSWORD)

    assert after.status_code == 200, after.content
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {after.json()['token']}")
    assert client.get("/api/drivers/").status_code == 200
    assert not AccessAttempt.objects.exists()  # a login clears that user's failures


def test_retry_after_counts_down_from_the_last_counted_failure(mara):
    client = APIClient()
    for n in range(11):
        log_in(client, "mara", f"wrong-{n}")

    travel_past_cool_off(seconds=10 * 60)
    refused = log_in(client, "mara", PASSWORD)

    assert_error(refused, 429, "throttled")
    assert 4 * 60 < int(refused["Retry-After"]) <= 5 * 60
    assert "Try again in" in refused.json()["message"]


def test_the_limit_and_the_cool_off_are_settings(mara, settings):
    settings.AXES_FAILURE_LIMIT = 3 + 1  # what LOGIN_FAILURE_LIMIT=3 sets
    settings.AXES_COOLOFF_TIME = timedelta(minutes=2)
    client = APIClient()

    answers = [log_in(client, "mara", "wrong").status_code for _ in range(5)]
    locked = log_in(client, "mara", PASSWORD)

    assert answers == [400, 400, 400, 429, 429]
    assert_error(locked, 429, "throttled")
    assert int(locked["Retry-After"]) <= 120
    travel_past_cool_off()
    assert log_in(client, "mara", PASSWORD).status_code == 200


def test_the_lock_is_for_that_username_from_that_address(mara, make_user):
    make_user("Manager", username="otto")
    attacker = APIClient(REMOTE_ADDR="203.0.113.9")
    for _ in range(11):
        log_in(attacker, "mara", "wrong")

    assert_error(log_in(attacker, "mara", PASSWORD), 429, "throttled")
    assert log_in(attacker, "otto", PASSWORD).status_code == 200
    assert log_in(APIClient(REMOTE_ADDR="198.51.100.7"), "mara", PASSWORD).status_code == 200


def test_failures_further_apart_than_the_cool_off_do_not_add_up(mara):
    client = APIClient()
    for _ in range(9):
        log_in(client, "mara", "wrong")
    travel_past_cool_off()

    later = [log_in(client, "mara", "wrong").status_code for _ in range(9)]

    assert later == [400] * 9
    assert log_in(client, "mara", PASSWORD).status_code == 200


def test_a_successful_login_clears_the_failures(mara):
    client = APIClient()
    for _ in range(9):
        log_in(client, "mara", "wrong")
    assert log_in(client, "mara", PASSWORD).status_code == 200

    again = [log_in(client, "mara", "wrong").status_code for _ in range(9)]

    assert again == [400] * 9


def test_behind_the_proxy_the_address_is_the_one_the_proxy_appended(mara, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    client = APIClient(REMOTE_ADDR="10.0.0.2")  # the proxy
    for n in range(11):
        # A client may prepend anything; the proxy appends the address it saw.
        log_in(client, "mara", "wrong", HTTP_X_FORWARDED_FOR=f"192.0.2.{n}, 203.0.113.9")

    assert_error(log_in(client, "mara", PASSWORD, HTTP_X_FORWARDED_FOR="203.0.113.9"), 429, "throttled")
    assert log_in(client, "mara", PASSWORD, HTTP_X_FORWARDED_FOR="198.51.100.7").status_code == 200
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {"203.0.113.9"}


def test_a_garbled_forwarded_address_counts_as_the_connections(mara, settings):
    settings.TRUSTED_PROXY_COUNT = 1

    answer = log_in(APIClient(REMOTE_ADDR="10.0.0.2"), "mara", "wrong", HTTP_X_FORWARDED_FOR="not-an-address")

    assert_error(answer, 400, "invalid")
    assert AccessAttempt.objects.get().ip_address == "10.0.0.2"


def test_a_login_without_a_field_or_with_an_overlong_username_is_a_400_naming_it(mara):
    missing = APIClient().post(TOKEN_URL, {"username": "mara"}, format="json")
    overlong = log_in(APIClient(), "m" * 151, PASSWORD)

    assert "password" in assert_error(missing, 400, "invalid")["fields"]
    assert "username" in assert_error(overlong, 400, "invalid")["fields"]
    assert not AccessAttempt.objects.exists()


@pytest.mark.parametrize("field", ["username", "password"])
@pytest.mark.parametrize("text", ["ma\\u0000ra", "ma\\ud800ra"], ids=["nul", "lone-surrogate"])
def test_a_nul_or_a_lone_surrogate_in_a_login_is_a_400_naming_the_field(mara, field, text):
    body = {"username": '"mara"', "password": f'"{PASSWORD}"', field: f'"{text}"'}
    raw = "{" + ", ".join(f'"{name}": {value}' for name, value in body.items()) + "}"

    answer = APIClient().post(TOKEN_URL, raw, content_type="application/json")

    assert field in assert_error(answer, 400, "invalid")["fields"]
    assert not AccessAttempt.objects.exists()


# --- the login guard: admin ----------------------------------------------------------------------


def admin_login(client, username: str, password: str):
    return client.post("/admin/login/?next=/admin/", {"username": username, "password": password})


def test_the_admin_login_locks_out_after_ten_failures_even_the_right_password(client, make_user):
    make_user(superuser=True, username="boss")

    answers = [admin_login(client, "boss", f"wrong-{n}") for n in range(11)]
    right_while_locked = admin_login(client, "boss", PASSWORD)

    for answer in answers[:10]:
        assert answer.status_code == 200  # the form again, with its error
        assert b"Please enter the correct username and password" in answer.content
    for answer in [*answers[10:], right_while_locked]:
        assert answer.status_code == 429
        assert b"Login locked" in answer.content
        assert 0 < int(answer["Retry-After"]) <= 15 * 60
    assert "_auth_user_id" not in client.session

    travel_past_cool_off()
    after = admin_login(client, "boss", PASSWORD)

    assert after.status_code == 302
    assert after["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200


def test_api_and_admin_failures_share_one_count(client, mara):
    for _ in range(6):
        admin_login(client, "mara", "wrong")
    for _ in range(5):
        log_in(APIClient(), "mara", "wrong")

    assert_error(log_in(APIClient(), "mara", PASSWORD), 429, "throttled")
    assert admin_login(client, "mara", PASSWORD).status_code == 429


# --- tokens ----------------------------------------------------------------------------------------


def test_a_token_is_stored_only_as_its_digest_and_expires_in_twelve_hours(mara):
    before = timezone.now()
    issued = log_in(APIClient(), "mara", PASSWORD)

    assert issued.status_code == 200, issued.content
    token = issued.json()["token"]
    expires = parse_datetime(issued.json()["expires"])
    stored = AuthToken.objects.get()
    assert stored.user == mara
    assert stored.digest == hashlib.sha512(token.encode()).hexdigest()
    assert stored.expiry == expires
    assert before + timedelta(hours=12) <= expires <= timezone.now() + timedelta(hours=12)
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM knox_authtoken")
        row = cursor.fetchone()
    assert token not in [str(value) for value in row]


def test_the_lifetime_is_a_setting(mara, settings):
    settings.REST_KNOX = {**django_settings.REST_KNOX, "TOKEN_TTL": timedelta(minutes=30)}

    issued = log_in(APIClient(), "mara", PASSWORD)

    expires = parse_datetime(issued.json()["expires"])
    assert timezone.now() + timedelta(minutes=29) < expires <= timezone.now() + timedelta(minutes=30)


def test_an_expired_token_is_a_401_and_is_deleted(mara):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {log_in(client, 'mara', PASSWORD).json()['token']}")
    assert client.get("/api/drivers/").status_code == 200

    AuthToken.objects.update(expiry=timezone.now() - timedelta(seconds=1))
    refused = client.get("/api/drivers/")

    body = assert_error(refused, 401, "authentication_failed")
    assert "expired" in body["message"]
    assert refused["WWW-Authenticate"] == "Bearer"
    assert not AuthToken.objects.exists()


def test_delete_revokes_the_token_that_authenticated_the_request_only(mara):
    first, second = APIClient(), APIClient()
    first.credentials(HTTP_AUTHORIZATION=f"Bearer {log_in(first, 'mara', PASSWORD).json()['token']}")
    second.credentials(HTTP_AUTHORIZATION=f"Bearer {log_in(second, 'mara', PASSWORD).json()['token']}")

    revoked = first.delete(TOKEN_URL)

    assert revoked.status_code == 204
    assert AuthToken.objects.count() == 1
    assert_error(first.get("/api/drivers/"), 401, "authentication_failed")
    assert_error(first.delete(TOKEN_URL), 401, "authentication_failed")
    assert second.get("/api/drivers/").status_code == 200


def test_delete_needs_a_bearer_token(client, mara):
    assert_error(APIClient().delete(TOKEN_URL), 401, "not_authenticated")
    client.force_login(mara)  # an admin session is not a token to revoke
    assert_error(client.delete(TOKEN_URL), 401, "not_authenticated")


def test_a_stale_token_in_the_header_does_not_stop_a_login(mara):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Bearer " + "0" * 64)

    assert log_in(client, "mara", PASSWORD).status_code == 200


@pytest.mark.parametrize(
    "header",
    ["Bearer not-a-token", "Bearer " + "A" * 64, "Bearer " + "0" * 63 + "\x00", "Bearer é" + "0" * 63, "Bearer a b"],
    ids=["word", "upper-case", "nul", "latin-1", "two-parts"],
)
def test_a_malformed_token_is_a_401_in_the_error_shape(mara, header):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=header)

    assert_error(client.get("/api/drivers/"), 401, "authentication_failed")


def test_an_inactive_users_token_is_refused(mara):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {log_in(client, 'mara', PASSWORD).json()['token']}")
    mara.is_active = False
    mara.save()

    assert_error(client.get("/api/drivers/"), 401, "authentication_failed")


def test_a_login_deletes_every_expired_token(mara, make_user):
    otto = make_user("Manager", username="otto")
    AuthToken.objects.create(user=otto, expiry=timedelta(seconds=-1))
    AuthToken.objects.create(user=mara, expiry=timedelta(seconds=-1))
    kept, _ = AuthToken.objects.create(user=otto)

    log_in(APIClient(), "mara", PASSWORD)

    assert set(AuthToken.objects.values_list("user__username", flat=True)) == {"mara", "otto"}
    assert AuthToken.objects.filter(user=otto).get() == kept


def test_the_plain_text_tokens_are_gone():
    assert "rest_framework.authtoken" not in django_settings.INSTALLED_APPS
    assert "authtoken_token" not in connection.introspection.table_names()


def test_the_schema_documents_login_and_logout():
    schema = APIClient().get("/api/schema/", HTTP_ACCEPT="application/json").json()
    operations = schema["paths"]["/api/auth/token/"]

    # batpay.schema adds what every operation of the kind can answer (413/415 for a body, …) to these.
    assert {"200", "400", "429"} <= set(operations["post"]["responses"])
    assert {"204", "401"} <= set(operations["delete"]["responses"])
    assert "500" not in operations["post"]["responses"]
    assert operations["delete"]["security"] == [{"tokenAuth": []}]
    assert set(schema["components"]["schemas"]["Token"]["properties"]) == {"token", "expires"}
    assert schema["components"]["securitySchemes"]["tokenAuth"] == {"type": "http", "scheme": "bearer"}
