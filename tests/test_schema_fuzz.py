"""Schemathesis over the whole ``/openapi.json``: zero 5xx, responses that keep the schema.

Every operation of the OpenAPI document, valid and invalid requests generated from its
schema (fixed seed: ``derandomize``; bounded budget: ``EXAMPLES`` per operation and mode),
each request sent with the token of one role in turn (every role of ``layers/users.py``
and no token at all), on both engines. A 5xx, or a response that breaks the documented
schema, fails the test with the request that caused it. Runs under ``CI=true`` like every
other test (issue 12: 19 of 13,776 requests answered 500 before the input bounds).
"""

from __future__ import annotations

import itertools
from typing import Any

import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from blueprint.layers.store import Store
from blueprint.layers.users import ROLES, create_user
from blueprint.service.app import create_app
from blueprint.service.settings import Settings

EXAMPLES = 4  # per operation and generation mode: about 400 requests per engine
CHECKS = [not_a_server_error, response_schema_conformance]


def _tokens(store: Store) -> list[dict[str, str]]:
    headers: list[dict[str, str]] = [{}]  # anonymous
    for role in ROLES:
        token = create_user(f"fuzz-{role}", role, "371502" if role.startswith("county_")
                            else None, department="ee" if role == "department" else None,
                            store=store, actor="fuzz")
        headers.append({"Authorization": f"Bearer {token}"})
    return headers


def _fuzz(op: Any, mode: GenerationMode, client: TestClient, roles: Any,
          failures: list[str]) -> int:
    sent = 0

    @settings(max_examples=EXAMPLES, derandomize=True, database=None, deadline=None,
              suppress_health_check=list(HealthCheck), print_blob=False)
    @given(case=op.as_strategy(generation_mode=mode))
    def run(case: Any) -> None:
        nonlocal sent
        kwargs = case.as_transport_kwargs(base_url="http://testserver", headers=next(roles))
        kwargs.pop("cookies", None)
        try:
            request = client.build_request(**kwargs)
            request.read()  # a multipart body stays readable for the checks
        except (UnicodeEncodeError, TypeError, AttributeError):
            return  # nothing an HTTP client can send: a non-ASCII header, a number as a file
        response = client.send(request)
        sent += 1
        try:
            case.validate_response(response, checks=CHECKS)
        except Exception as exc:  # schemathesis' failure groups: keep the first line
            failures.append(f"{op.label} [{mode.value}] {response.status_code}: "
                            f"{str(exc).strip().splitlines()[0][:200]} — "
                            f"{case.as_curl_command()[:300]}")

    try:
        run()
    except Unsatisfiable:  # nothing invalid to generate (an operation without inputs)
        pass
    return sent


def test_no_5xx_and_schema_kept_under_fuzzing(store: Store) -> None:
    app = create_app(Settings(data_dir=store.data_dir, database_url=store.database_url))
    failures: list[str] = []
    sent = 0
    with TestClient(app, raise_server_exceptions=False) as client:
        roles = itertools.cycle(_tokens(store))
        schema = schemathesis.openapi.from_asgi("/openapi.json", app)
        operations = [result.ok() for result in schema.get_all_operations()]
        assert len(operations) > 40
        for op in operations:
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
                sent += _fuzz(op, mode, client, roles, failures)
    print(f"schemathesis: {sent} requests over {len(operations)} operations, "
          f"{len(failures)} failures ({store.engine_name})")
    assert sent > 250
    assert not failures, "\n".join(failures[:20])
