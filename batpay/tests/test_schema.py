"""The OpenAPI schema at /api/schema/ is valid and generates without a single warning."""

import pytest
import yaml
from django.core.management import call_command
from rest_framework.test import APIClient

from batpay.errors import ErrorCode


def test_the_schema_validates_with_no_warnings(tmp_path):
    target = tmp_path / "schema.yml"

    # --fail-on-warn turns any warning or error of the generator into an exception.
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(target))

    schema = yaml.safe_load(target.read_text())
    paths = schema["paths"]
    assert {"/api/drivers/", "/api/vehicles/", "/api/medallions/", "/api/leases/", "/api/auth/token/"} <= set(paths)
    assert {"get", "post"} <= set(paths["/api/leases/"])
    assert {"get", "patch", "delete"} <= set(paths["/api/leases/{id}/"])
    lease_filters = {parameter["name"] for parameter in paths["/api/leases/"]["get"]["parameters"]}
    assert {"driver_id", "medallion_id", "start_date_after", "ordering", "page_size", "search"} <= lease_filters
    lease_input = schema["components"]["schemas"]["LeaseInputRequest"]
    assert {"driver_id", "additional_driver_ids", "vehicle_id", "medallion_id"} <= set(lease_input["properties"])


@pytest.mark.django_db
def test_the_schema_and_the_docs_are_served():
    client = APIClient()

    assert client.get("/api/schema/").status_code == 200
    docs = client.get("/api/docs/")
    assert docs.status_code == 200
    assert b"swagger" in docs.content.lower()


@pytest.mark.django_db
def test_every_operation_documents_its_errors_in_the_one_error_shape():
    schema = APIClient().get("/api/schema/?format=json").json()
    error = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    write_methods = {"post", "put", "patch", "delete"}

    operations = 0
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            operations += 1
            responses = operation["responses"]
            errors = {int(status) for status in responses if status.startswith("4")}
            for status in errors:
                assert responses[str(status)]["content"] == error, (method, path, status)
                assert responses[str(status)]["description"], (method, path, status)
            locations = {parameter["in"] for parameter in operation.get("parameters", [])}
            open_to_anyone = not operation.get("security") or {} in operation["security"]
            expected = set() if open_to_anyone else {401, 403}
            if "requestBody" in operation:
                expected |= {400, 413, 415}
            if locations & {"query", "header"}:
                expected.add(400)
            if "path" in locations or "page" in {parameter["name"] for parameter in operation.get("parameters", [])}:
                expected.add(404)
            if method in write_methods:
                expected.add(409)
            # and 429 where the view throttles (batpay.schema.AutoSchema reads its throttles)
            assert errors - {429} == expected, (method, path)
            assert not any(status.startswith("5") for status in responses), (method, path)
    assert operations > 70

    components = schema["components"]["schemas"]
    assert set(components["Error"]["required"]) == {"code", "message", "fields"}
    assert set(components["ErrorCodeEnum"]["enum"]) == {code.value for code in ErrorCode}
    nested = components["FieldErrors"]["additionalProperties"]["anyOf"]
    assert {"$ref": "#/components/schemas/FieldErrors"} in nested
