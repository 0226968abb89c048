#!/usr/bin/env python3
"""A walk-through of the Digihjelpen API with a Python client generated from openapi.json.

    pip install openapi-python-client==0.29.1
    openapi-python-client generate --path openapi.json --meta none \
        --output-path client/digihjelpen_client --config clients/python/generator.yaml
    PYTHONPATH=client python clients/python/walkthrough.py http://127.0.0.1:8080 "$TOKEN_0301"

It lists the municipalities page by page, reads Oslo (0301), updates Oslo's contact details as
Oslo with If-Match, reads the change back, and shows a refusal (403) as a typed problem+json
error. Exits non-zero when any step does not behave as described.
"""

import sys
import time

from digihjelpen_client import AuthenticatedClient, Client
from digihjelpen_client.api.municipalities import (
    get_municipality,
    list_municipalities,
    update_municipality,
)
from digihjelpen_client.models import Municipality, MunicipalityChanges, MunicipalityPage, ProblemDetails
from digihjelpen_client.types import UNSET


class ApiProblem(Exception):
    """A problem+json answer, with its fields."""

    def __init__(self, status: int, problem: ProblemDetails):
        super().__init__(f"{status} {problem.title}: {problem.detail}")
        self.status = status
        self.problem = problem


def ok(response, expected_type):
    """The parsed body of a successful answer, or ApiProblem for a problem+json one."""
    if isinstance(response.parsed, ProblemDetails):
        raise ApiProblem(int(response.status_code), response.parsed)
    if not isinstance(response.parsed, expected_type):
        raise RuntimeError(f"unexpected answer {response.status_code}: {response.content[:200]!r}")
    return response.parsed


def main(base: str, token: str) -> None:
    public = Client(base_url=base)
    oslo = AuthenticatedClient(base_url=base, token=token)

    # 1. Every municipality, 100 at a time, following next_cursor until it is null.
    numbers, pages, cursor = [], 0, UNSET
    while True:
        page = ok(list_municipalities.sync_detailed(client=public, limit=100, cursor=cursor), MunicipalityPage)
        numbers += [m.number for m in page.items]
        pages += 1
        if not page.next_cursor:
            break
        cursor = page.next_cursor
    assert len(set(numbers)) == len(numbers), "a municipality came twice"
    assert "0301" in numbers, "Oslo is missing"
    print(f"{len(numbers)} municipalities in {pages} pages")

    # 2. Oslo, with the ETag that a change must send back.
    read = get_municipality.sync_detailed("0301", client=public)
    before = ok(read, Municipality)
    etag = read.headers["ETag"]
    assert etag == f'"{before.version}"', f"ETag {etag} is not the version"
    print(f"read {before.name}, version {before.version}")

    # 3. Oslo updates its own contact details, sending If-Match.
    email = f"digihjelp+{int(time.time())}@oslo.kommune.no"
    changes = MunicipalityChanges(digihjelp_email=email, digihjelp_phone="21 80 21 80")
    updated = ok(update_municipality.sync_detailed("0301", client=oslo, body=changes, if_match=etag), Municipality)
    assert updated.version == before.version + 1, "the version did not move on"

    # 4. The change, read back.
    after = ok(get_municipality.sync_detailed("0301", client=public), Municipality)
    assert after.digihjelp_email == email, "the new e-mail address was not stored"
    print(f"updated: {after.digihjelp_email}, version {after.version}")

    # 5. Oslo may not change Bergen (4601): a 403 with the problem+json fields, typed.
    bergen = ok(get_municipality.sync_detailed("4601", client=public), Municipality)
    try:
        ok(update_municipality.sync_detailed(
            "4601", client=oslo, body=MunicipalityChanges(website="https://example.org"),
            if_match=f'"{bergen.version}"'), Municipality)
    except ApiProblem as refused:
        assert refused.status == 403 and refused.problem.status == 403, refused
        assert refused.problem.type_ == "/problems/forbidden", refused.problem.type_
        print(f"refused as expected: {refused}")
    else:
        raise AssertionError("Oslo was allowed to change Bergen")
    print("Python walk-through: all steps passed")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: walkthrough.py <base url> <token of municipality 0301>")
    main(sys.argv[1], sys.argv[2])
