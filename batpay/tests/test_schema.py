"""The OpenAPI schema at /api/schema/ is valid and generates without a single warning."""

import pytest
import yaml
from django.core.management import call_command
from rest_framework.test import APIClient


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
