"""Fuzz every operation of the API from its own OpenAPI schema (schemathesis): never a 5xx."""

from __future__ import annotations

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
