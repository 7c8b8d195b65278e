"""Operators' view of the API: a request id on every answer, one access-log line per request, and `/`."""

import logging
import re

import pytest

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # nothing here depends on the database

LINE = re.compile(r"(?P<method>[A-Z]+) (?P<path>\S+) (?P<status>\d{3}) (?P<ms>\d+\.\d) ms request_id=(?P<id>\S+)")


def access_lines(caplog) -> list[dict]:
    return [LINE.fullmatch(r.getMessage()).groupdict() for r in caplog.records if r.name == "service.api.access"]


def test_every_answer_carries_a_request_id_that_its_one_access_log_line_names(api, caplog):
    caplog.set_level(logging.INFO, logger="service.api.access")
    answers = [
        api.client.get("/v1/health"),
        api.client.get("/v1/events/12345", headers=api.as_("auditor")),
        api.client.post("/v1/keys", headers=api.as_("farm"), json={"role": "admin", "party": "me"}),
        # refused by the body limit before any route runs: logged all the same
        api.client.post("/v1/events", headers=api.as_("farm") | {"Content-Length": str(1 << 40)}, content=b"{}"),
    ]
    ids = [answer.headers["X-Request-ID"] for answer in answers]
    assert all(re.fullmatch(r"[0-9a-f]{32}", request_id) for request_id in ids) and len(set(ids)) == 4
    assert [(line["method"], line["path"], int(line["status"]), line["id"]) for line in access_lines(caplog)] == [
        ("GET", "/v1/health", 200, ids[0]), ("GET", "/v1/events/12345", 404, ids[1]),
        ("POST", "/v1/keys", 403, ids[2]), ("POST", "/v1/events", 413, ids[3]),
    ]


@pytest.mark.parametrize(
    "sent, kept",
    [("req-2026.01:abc/42+x=", True), ("0" * 128, True), ("0" * 129, False), ("two words", False),
     ("a;b", False), ("", False), ("é", False)],
)
def test_a_sane_client_request_id_is_echoed_and_anything_else_replaced(api, caplog, sent, kept):
    caplog.set_level(logging.INFO, logger="service.api.access")
    answer = api.client.get("/v1/health", headers={"X-Request-ID": sent.encode()})
    request_id = answer.headers["X-Request-ID"]
    assert (request_id == sent) is kept and (kept or re.fullmatch(r"[0-9a-f]{32}", request_id))
    assert [line["id"] for line in access_lines(caplog)] == [request_id]


def test_a_path_cannot_forge_an_access_log_line(api, caplog):
    caplog.set_level(logging.INFO, logger="service.api.access")
    api.client.get("/v1/events/1%0AGET%20/v1/keys%20200", headers=api.as_("auditor"))
    (record,) = [r for r in caplog.records if r.name == "service.api.access"]
    assert "\n" not in record.getMessage() and "/v1/events/1%0AGET%20/v1/keys%20200 " in record.getMessage()


def test_the_root_leads_to_the_api_docs(api):
    answer = api.client.get("/", follow_redirects=False)
    assert answer.status_code == 307 and answer.headers["location"] == "/docs"
    assert api.client.get("/").status_code == 200  # the docs page itself
    assert "/" not in api.client.get("/openapi.json").json()["paths"]
