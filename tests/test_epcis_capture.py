"""Capture through the standard EPCIS 2.0 binding, through HTTP on SQLite and PostgreSQL: one event
at once (``POST /epcis/events``) and durable capture jobs (``POST /epcis/capture``), with the GS1
examples."""

import json
import os
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from functools import cache
from urllib.parse import quote, unquote

import jsonschema
import yaml
from api_helpers import Api
from fastapi.testclient import TestClient
from sqlmodel import Session, select
from support import DATA, ROOT

from service.api.app import create_app
from service.db import make_engine
from service.hashing.epcis import events_of
from service.ingest.candidates import derive
from service.ingest.capture_jobs import MAX_ATTEMPTS, CaptureJobRunner, accept_job, run_job
from service.models import CaptureJob, Record, RecordKind, Role
from service.runtime import Runtime

EXAMPLES = DATA / "epcis" / "examples"
JSON = {"Content-Type": "application/json"}


@cache
def capture_job_schema() -> dict:
    """The standard's CaptureJob schema, from GS1's OpenAPI document (its problems resolved too). Its
    ``oneOf`` of ``errors`` and ``errorFile`` requires neither property, so both branches match every
    job and the ``oneOf`` never holds: the ``errors`` branch, which this server answers, is checked."""
    schemas = yaml.safe_load((DATA / "epcis" / "rest" / "openapi.yaml").read_text())["components"]["schemas"]
    job = schemas["CaptureJob"]
    errors_branch = job["allOf"][1]["oneOf"][0]
    assert "errors" in errors_branch["properties"]
    return {**job, "allOf": [job["allOf"][0], errors_branch],
            "components": {"schemas": {"RFC7807ProblemResponseBody": schemas["RFC7807ProblemResponseBody"]}}}


def job_schema_errors(job: dict) -> list[str]:
    return [error.message for error in jsonschema.Draft7Validator(capture_job_schema()).iter_errors(job)]


def example_events(name: str) -> list[dict]:
    """The events of a GS1 example, each with the document's @context (as a bare event needs)."""
    document = json.loads((EXAMPLES / name).read_text())
    return [{"@context": document["@context"], **event} for event in document["epcisBody"]["eventList"]]


def post_event(api, event: dict, who: str = "farm"):
    return api.client.post("/epcis/events", content=json.dumps(event), headers={**api.as_(who), **JSON})


def test_one_event_is_captured_at_its_location_and_a_second_capture_conflicts(api):
    with_id, without_id = example_events("Example_9.6.1-ObjectEvent.jsonld")[:2]
    with_id["eventID"] = "urn:uuid:5b1c6a4e-37b7-4d3c-9d62-6d1c1d0b3c01"
    without_id.pop("eventID", None)
    for event in (with_id, without_id):
        response = post_event(api, event)
        assert response.status_code == 201, response.text
        location = response.headers["Location"]
        assert location.startswith("/epcis/events/")
        found = api.client.get(location, headers=api.as_("farm"))
        assert found.status_code == 200, found.text
        [stored] = found.json()["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
        assert stored["eventID"] == unquote(location.removeprefix("/epcis/events/"))
    again = post_event(api, with_id)
    assert again.status_code == 409
    assert again.headers["content-type"] == "application/problem+json"
    assert again.json()["type"] == "epcisException:ResourceAlreadyExistsException"
    assert api.client.post("/v1/events", content=json.dumps(with_id), headers={**api.as_("farm"), **JSON}).status_code == 200
    assert post_event(api, with_id, who="processor").status_code == 201  # another party's capture is its own
    location = "/epcis/events/" + quote(with_id["eventID"], safe="")
    assert len(api.client.get(location, headers=api.as_("auditor")).json()["epcisBody"]["queryResults"]["resultsBody"]["eventList"]) == 2


def test_events_without_an_id_are_found_by_their_hash_id(api):
    event = example_events("Example_9.6.3-AggregationEvent.jsonld")[0]
    event.pop("eventID", None)
    location = post_event(api, event).headers["Location"]
    assert unquote(location).startswith("/epcis/events/ni:///sha-256;")
    v1 = api.client.get("/v1/events", headers=api.as_("farm")).json()["events"]
    assert [e["event_hash_id"] for e in v1] == [unquote(location.removeprefix("/epcis/events/"))]


def test_a_document_or_an_invalid_event_is_refused_as_a_problem(api):
    document = (EXAMPLES / "Example_9.6.1-ObjectEvent.jsonld").read_bytes()
    refused = api.client.post("/epcis/events", content=document, headers={**api.as_("farm"), **JSON})
    assert refused.status_code == 400 and refused.json()["type"] == "epcisException:ValidationException"
    event = example_events("Example_9.6.1-ObjectEvent.jsonld")[0]
    event["action"] = "SHOUT"
    refused = post_event(api, event)
    assert refused.status_code == 400 and "action" in refused.json()["detail"]
    assert post_event(api, example_events("Example_9.6.1-ObjectEvent.jsonld")[0], who="auditor").status_code == 403


def post_document(api, document: bytes | dict, who: str = "farm", behaviour: str | None = None):
    body = document if isinstance(document, bytes) else json.dumps(document).encode()
    headers = {**api.as_(who), **JSON, **({"GS1-Capture-Error-Behaviour": behaviour} if behaviour else {})}
    return api.client.post("/epcis/capture", content=body, headers=headers)


def finished_job(api, location: str, who: str = "farm") -> dict:
    """The job at ``location`` once it is no longer running (the worker thread of the app runs it)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        response = api.client.get(location, headers=api.as_(who))
        assert response.status_code == 200, response.text
        job = response.json()
        assert not job_schema_errors(job), job_schema_errors(job)
        if not job["running"]:
            return job
        time.sleep(0.05)
    raise AssertionError(f"{location} still running")


def captured_job(api, document, who: str = "farm", behaviour: str | None = None) -> dict:
    response = post_document(api, document, who=who, behaviour=behaviour)
    assert response.status_code == 202, response.text
    assert response.headers["Location"].startswith("/epcis/capture/")
    return finished_job(api, response.headers["Location"], who=who)


def business_ids(events: list[dict]) -> set[str]:
    """The ids the events are stored under (their hash IDs; an error declaration's says it is one)."""
    return {derive(RecordKind.EPCIS_EVENT, event).business_id for event in events}


def hash_ids(document: dict) -> set[str]:
    return business_ids(events_of(document))


def stored_hash_ids(api, party: str = "farm") -> list[str]:
    """The business ids of the party's stored events, one per record."""
    with api.ledger.session() as session:
        return list(session.exec(select(Record.business_id).where(Record.kind == RecordKind.EPCIS_EVENT, Record.party == party)))


def test_every_gs1_example_document_is_captured_by_a_job(api):
    expected: set[str] = set()
    for path in sorted(EXAMPLES.rglob("*.jsonld")):
        job = captured_job(api, path.read_bytes())
        assert job["success"] and job["errors"] == [] and job["captureErrorBehaviour"] == "rollback", (path.name, job)
        assert job["finishedAt"] >= job["createdAt"]
        expected |= hash_ids(json.loads(path.read_text()))
    stored = stored_hash_ids(api)
    assert sorted(stored) == sorted(expected)  # each once, though some examples repeat events of others


def broken_example() -> tuple[dict, int]:
    document = json.loads((EXAMPLES / "Example_9.6.1-ObjectEvent.jsonld").read_text())
    events = document["epcisBody"]["eventList"]
    third = {key: value for key, value in events[0].items() if key != "eventID"}
    events.append({**third, "eventTime": "2026-12-01T10:00:00Z"})
    events[1]["action"] = "SHOUT"
    return document, len(events)


def test_rollback_stores_nothing_of_a_document_with_an_invalid_event(api):
    document, _ = broken_example()
    job = captured_job(api, document)
    assert job["success"] is False and job["running"] is False and job["captureErrorBehaviour"] == "rollback"
    assert {error["index"] for error in job["errors"]} == {1}
    [error] = job["errors"]
    assert error["type"] == "epcisException:ValidationException" and error["status"] == 400
    assert error["field"].startswith("epcisBody.eventList[1]") and error["detail"]
    assert stored_hash_ids(api) == []


def test_proceed_stores_every_valid_event_and_lists_the_invalid_ones(api):
    document, count = broken_example()
    job = captured_job(api, document, behaviour="proceed")
    assert job["success"] is False and job["captureErrorBehaviour"] == "proceed"
    assert {error["index"] for error in job["errors"]} == {1}
    assert all(error["field"].startswith("epcisBody.eventList[1]") for error in job["errors"])
    valid = [event for index, event in enumerate(events_of(document)) if index != 1]
    assert sorted(stored_hash_ids(api)) == sorted(business_ids(valid)) and len(valid) == count - 1
    fine = json.loads((EXAMPLES / "Example_9.6.3-AggregationEvent.jsonld").read_text())
    assert captured_job(api, fine, behaviour="proceed")["success"] is True


def test_proceed_keeps_every_event_but_one_that_conflicts_with_what_the_party_stored(api):
    """An error declaration the party already stored (same event, same declarationTime) with another
    reason is listed; rollback keeps nothing of such a document, proceed keeps the rest."""
    first, second = example_events("Example_9.6.1-ObjectEvent.jsonld")[:2]
    declaration = {"declarationTime": "2026-03-01T00:00:00Z", "reason": "incorrect_data"}
    assert post_event(api, {**first, "errorDeclaration": declaration}).status_code == 201
    before = sorted(stored_hash_ids(api))
    clash = {**first, "errorDeclaration": {**declaration, "reason": "did_not_occur"}}
    document = json.loads((EXAMPLES / "Example_9.6.1-ObjectEvent.jsonld").read_text())
    document["epcisBody"]["eventList"] = [second, clash]
    job = captured_job(api, document)
    assert job["success"] is False and sorted(stored_hash_ids(api)) == before
    job = captured_job(api, document, behaviour="proceed")
    assert job["success"] is False and [error["index"] for error in job["errors"]] == [1], job
    assert "different content" in job["errors"][0]["detail"]
    assert sorted(stored_hash_ids(api)) == sorted(set(before) | business_ids([second]))


def test_a_document_level_fault_rejects_every_event_even_with_proceed(api):
    document, _ = broken_example()
    document["schemaVersion"] = 2  # not a string: the document itself is at fault
    job = captured_job(api, document, behaviour="proceed")
    assert job["success"] is False and any("index" not in error for error in job["errors"])
    assert stored_hash_ids(api) == []


def test_what_is_not_a_document_within_the_limits_is_refused_at_once(api):
    event = example_events("Example_9.6.1-ObjectEvent.jsonld")[0]
    refused = post_document(api, event)
    assert refused.status_code == 400 and refused.json()["field"] == "type"
    refused = post_document(api, b"{not json")
    assert refused.status_code == 400 and refused.headers["content-type"] == "application/problem+json"
    bad = post_document(api, (EXAMPLES / "Example_9.6.1-ObjectEvent.jsonld").read_bytes(), behaviour="all")
    assert bad.status_code == 400 and bad.json()["field"] == "GS1-Capture-Error-Behaviour"
    document, count = broken_example()
    api.ledger.settings.max_events = count - 1
    too_many = post_document(api, document)
    assert too_many.status_code == 413
    assert too_many.json()["type"] == "epcisException:CaptureLimitExceededException"
    assert post_document(api, document, who="auditor").status_code == 403
    assert api.client.get("/epcis/capture", headers=api.as_("auditor")).json() == []


def test_options_advertise_the_capture_limits(api):
    response = api.client.options("/epcis/capture")
    assert response.status_code == 204
    assert response.headers["GS1-EPCIS-Capture-Limit"] == str(api.ledger.settings.max_events)
    assert response.headers["GS1-EPCIS-Capture-File-Size-Limit"] == str(api.ledger.settings.max_body_bytes)
    assert set(response.headers["Allow"].split(", ")) == {"GET", "POST", "OPTIONS"}
    assert "POST" in api.client.options("/epcis/events").headers["Allow"]
    assert "capture" in api.client.get("/epcis/", headers=api.as_("farm")).json()["member"]


def test_jobs_are_seen_by_their_party_auditors_and_admins_only_and_paged(api):
    farm = [post_document(api, (EXAMPLES / "Example_9.6.1-ObjectEvent.jsonld").read_bytes()).headers["Location"] for _ in range(3)]
    processor = post_document(api, (EXAMPLES / "Example_9.6.3-AggregationEvent.jsonld").read_bytes(), who="processor").headers["Location"]
    for location in farm:
        finished_job(api, location)
    finished_job(api, processor, who="processor")
    ids = lambda locations: [location.rsplit("/", 1)[1] for location in locations]  # noqa: E731
    listed = api.client.get("/epcis/capture", headers=api.as_("farm")).json()
    assert [job["captureID"] for job in listed] == ids(farm)
    assert [job["captureID"] for job in api.client.get("/epcis/capture", headers=api.as_("processor")).json()] == ids([processor])
    for who in ("auditor", "admin"):
        assert [job["captureID"] for job in api.client.get("/epcis/capture", headers=api.as_(who)).json()] == ids(farm + [processor])
        assert api.client.get(processor, headers=api.as_(who)).status_code == 200
    hidden = api.client.get(processor, headers=api.as_("farm"))
    assert hidden.status_code == 404 and hidden.json()["type"] == "epcisException:NoSuchNameException"
    assert api.client.get("/epcis/capture", headers=api.as_("shop")).status_code == 403
    seen, url = [], "/epcis/capture?perPage=2"
    while url:
        response = api.client.get(url, headers=api.as_("farm"))
        seen += [job["captureID"] for job in response.json()]
        link = response.headers.get("Link")
        url = link[1 : link.index(">")] if link else None
    assert seen == ids(farm)


def accepted(settings, documents: list[bytes], *, party: str = "farm") -> list[str]:
    """Jobs accepted by a process that stopped before running them (its app never started)."""
    ledger = Runtime(settings)
    try:
        with ledger.session() as session:
            return [accept_job(session, raw, party=party, behaviour="rollback", max_events=settings.max_events).capture_id
                    for raw in documents]
    finally:
        ledger.close()


def test_a_job_left_unfinished_by_a_stopped_process_finishes_once_after_the_restart(settings):
    raw = (EXAMPLES / "Example_9.6.1-ObjectEvent.jsonld").read_bytes()
    [capture_id] = accepted(settings, [raw])
    with Session(make_engine(settings)) as session:
        assert session.exec(select(CaptureJob)).one().finished_at is None
    ledger = Runtime(settings)
    settings.anchor_in_background = False
    try:
        with TestClient(create_app(runtime=ledger)) as client:
            api = Api(client=client, ledger=ledger, headers={})
            api.key("farm", role=Role.SUPPLIER)
            job = finished_job(api, f"/epcis/capture/{capture_id}")
            assert job["success"] is True
            assert sorted(stored_hash_ids(api)) == sorted(hash_ids(json.loads(raw)))
    finally:
        ledger.close()
    with Session(make_engine(settings)) as session:
        [row] = session.exec(select(CaptureJob)).all()
        assert row.document is None and row.attempts == 1 and row.captured == len(hash_ids(json.loads(raw)))


def test_workers_racing_for_the_same_jobs_apply_each_once(settings):
    documents = [path.read_bytes() for path in sorted(EXAMPLES.glob("*.jsonld"))]
    captures = accepted(settings, documents)
    ledgers = [Runtime(settings) for _ in range(MAX_ATTEMPTS + 2)]  # more than a job's attempts: none fails for the race
    try:
        with ThreadPoolExecutor(len(ledgers)) as pool:
            finished = list(pool.map(lambda ledger: ledger.capture_jobs.run_pending(), ledgers))
    finally:
        for ledger in ledgers:
            ledger.close()
    assert sum(finished) == len(captures)
    engine = make_engine(settings)
    with Session(engine) as session:
        jobs = session.exec(select(CaptureJob)).all()
        assert all(job.finished_at is not None and job.success for job in jobs)
        events = session.exec(select(Record.business_id).where(Record.kind == RecordKind.EPCIS_EVENT)).all()
    assert sorted(events) == sorted(set().union(*(hash_ids(json.loads(raw)) for raw in documents)))


def test_a_job_that_keeps_stopping_its_worker_fails_saying_so(settings):
    [capture_id] = accepted(settings, [(EXAMPLES / "Example_9.6.1-ObjectEvent.jsonld").read_bytes()])
    engine = make_engine(settings)
    with Session(engine) as session:
        job = session.exec(select(CaptureJob)).one()
        job.attempts = MAX_ATTEMPTS
        session.add(job)
        session.commit()
        job_id = job.id
    assert run_job(engine, job_id, max_events=settings.max_events)
    assert not run_job(engine, job_id, max_events=settings.max_events)  # finished: not run again
    with Session(engine) as session:
        job = session.get(CaptureJob, job_id)
        assert job.success is False and job.errors[0]["exception"] == "ImplementationException"
        assert "stopped its worker" in job.errors[0]["message"]
        assert session.exec(select(Record)).all() == []


def test_a_body_over_the_file_size_limit_is_a_413_problem(api):
    document, _ = broken_example()
    raw = json.dumps(document).encode()
    raw = raw + b" " * (api.ledger.settings.max_body_bytes + 1 - len(raw))
    refused = post_document(api, raw)
    assert refused.status_code == 413 and refused.json()["type"] == "epcisException:CaptureLimitExceededException"
    assert api.client.post("/v1/events", content=raw, headers={**api.as_("farm"), **JSON}).json()["error"] == "BodyTooLarge"


def test_a_worker_killed_while_storing_a_job_leaves_it_to_the_next_worker_which_applies_it_once(settings):
    """A real SIGKILL between a job's record inserts and its commit (``tests/crash_child.py``)."""
    raw = (EXAMPLES / "Example_9.6.1-ObjectEvent.jsonld").read_bytes()
    accepted(settings, [raw])
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TRACEANCHOR_DATA_DIR": str(settings.data_dir),
           "TRACEANCHOR_DATABASE_URL": settings.database_url}
    killed = subprocess.run([sys.executable, str(ROOT / "tests" / "crash_child.py"), "kill-capture-job"], env=env,
                            capture_output=True, text=True, timeout=120)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    engine = make_engine(settings)
    with Session(engine) as session:
        job = session.exec(select(CaptureJob)).one()
        assert job.finished_at is None and job.attempts == 1 and job.document == raw
        assert session.exec(select(Record)).all() == []
    ledger = Runtime(settings)
    try:
        assert ledger.capture_jobs.run_pending() == 0  # the dead worker's lease is not over yet
    finally:
        ledger.close()
    assert CaptureJobRunner(engine, max_events=settings.max_events, lease_seconds=0).run_pending() == 1
    with Session(engine) as session:
        job = session.exec(select(CaptureJob)).one()
        assert job.success and job.attempts == 2 and job.document is None
        events = session.exec(select(Record.business_id)).all()
    assert sorted(events) == sorted(hash_ids(json.loads(raw)))
