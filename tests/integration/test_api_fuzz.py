"""Fuzz every operation of the API from its own OpenAPI schema (schemathesis): never a 5xx."""

from __future__ import annotations

import re

import httpx
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from service_harness import KEY_FUZZ, auth, cancel_all

# no 5xx, and every answer is one the schema documents, with the documented body and type
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


def test_no_operation_answers_5xx(api):
    schema = schemathesis.openapi.from_url(f"{api.url}/openapi.json")
    # /readyz answers 503 on purpose while no worker runs (this test starts none)
    operations = [r.ok() for r in schema.get_all_operations() if r.ok().path != "/readyz"]
    assert len(operations) >= 12

    for op in operations:

        @given(case=op.as_strategy())
        @settings(
            max_examples=25,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def call(case) -> None:
            case.call_and_validate(headers=auth(KEY_FUZZ), checks=CHECKS, timeout=30)

        call()
    # the fuzzer queued valid jobs too; none of them should run in later tests
    with httpx.Client(base_url=api.url, headers=auth(KEY_FUZZ)) as c:
        cancel_all(c)


def test_a_method_a_path_lacks_is_405_naming_the_methods_it_has(api):
    # the web page is mounted at /: it must not answer for API paths (it said "Allow: GET, HEAD")
    spec = httpx.get(f"{api.url}/openapi.json").json()
    with httpx.Client(base_url=api.url, headers=auth(KEY_FUZZ)) as c:
        for path, ops in spec["paths"].items():
            documented = {m.upper() for m in ops}
            url = re.sub(r"\{[^}]+\}", "0" * 32, path)
            for method in sorted({"GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"} - documented):
                r = c.request(method, url)
                assert r.status_code == 405, (method, path, r.status_code, r.text)
                allow = {m.strip() for m in r.headers["allow"].split(",")} - {"HEAD"}
                assert allow == documented, (method, path, r.headers["allow"])
                assert set(r.json()) == {"detail", "errors"}, r.json()
        assert c.get("/").headers["content-type"].startswith("text/html")  # the page still is
