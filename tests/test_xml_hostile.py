"""Hostile XML (issue 15): entity expansion, external entities and DTDs, deep nesting, huge values and
very many elements are each refused with a 4xx at once, nothing is fetched or stored, and the server
stays up and answers the next request."""

import os
import socket
import threading
import time
from pathlib import Path

import pytest
from support import DATA
from support.servers import free_loopback_port
from test_serve import _bearer, _cli, serving

from service.ingest.xml.convert import xml_document
from service.ingest.xml.parser import MAX_DEPTH, MAX_ELEMENTS, MAX_VALUE_CHARS, XmlInvalid, parse_xml

ROOT = Path(__file__).resolve().parents[1]
VALID = (DATA / "epcis" / "xml" / "Example-PersistentDisposition.xml").read_bytes()
PROLOG = b'<?xml version="1.0" encoding="UTF-8"?>\n'
ROOT_OPEN = b'<epcis:EPCISDocument xmlns:epcis="urn:epcglobal:epcis:xsd:2" schemaVersion="2.0" creationDate="2026-09-01T00:00:00Z">'
ROOT_CLOSE = b"</epcis:EPCISDocument>"
#: How long a refusal may take, on a machine shared with other work.
QUICK_SECONDS = 2.0


def billion_laughs() -> bytes:
    entities = b'<!ENTITY lol0 "lol">' + b"".join(b'<!ENTITY lol%d "%s">' % (n, (b"&lol%d;" % (n - 1)) * 10) for n in range(1, 10))
    return PROLOG + b"<!DOCTYPE epcis:EPCISDocument [" + entities + b"]>" + ROOT_OPEN + b"<EPCISBody>&lol9;</EPCISBody>" + ROOT_CLOSE


def external_entity(url: str) -> bytes:
    return (PROLOG + b'<!DOCTYPE epcis:EPCISDocument [<!ENTITY xxe SYSTEM "' + url.encode() + b'">]>'
            + ROOT_OPEN + b"<EPCISBody>&xxe;</EPCISBody>" + ROOT_CLOSE)


def with_doctype(declaration: bytes) -> bytes:
    return PROLOG + declaration + VALID[VALID.index(b"<epcis:EPCISDocument"):]


def deep(levels: int) -> bytes:
    return ROOT_OPEN + b"<EPCISBody>" + b"<x:a xmlns:x='urn:x'>" * levels + b"</x:a>" * levels + b"</EPCISBody>" + ROOT_CLOSE


def huge_attribute(size: int) -> bytes:
    return VALID.replace(b'schemaVersion="2.0"', b'schemaVersion="2.0" x:big="' + b"A" * size + b'" xmlns:x="urn:x"', 1)


def many_elements(count: int) -> bytes:
    return ROOT_OPEN + b"<EPCISBody>" + b"<x:a xmlns:x='urn:x'/>" * count + b"</EPCISBody>" + ROOT_CLOSE


class Listener:
    """A loopback TCP listener that records whether anyone connected (an external entity or DTD fetched)."""

    def __init__(self) -> None:
        self.port = free_loopback_port()
        self.connections = 0
        self.socket = socket.create_server(("127.0.0.1", self.port))
        self.socket.settimeout(0.1)
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self) -> None:
        while not self.stopped.is_set():
            try:
                connection, _ = self.socket.accept()
            except TimeoutError:
                continue
            self.connections += 1
            connection.close()

    def close(self) -> None:
        self.stopped.set()
        self.thread.join()
        self.socket.close()


@pytest.fixture
def listener():
    listener = Listener()
    yield listener
    listener.close()


def attacks(port: int) -> dict[str, bytes]:
    return {
        "billion laughs": billion_laughs(),
        "external entity file://": external_entity("file:///etc/passwd"),
        "external entity http://127.0.0.1": external_entity(f"http://127.0.0.1:{port}/secret"),
        "external DTD": with_doctype(f'<!DOCTYPE epcis:EPCISDocument SYSTEM "http://127.0.0.1:{port}/epcis.dtd">'.encode()),
        "parameter entity": with_doctype(f'<!DOCTYPE epcis:EPCISDocument [<!ENTITY % p SYSTEM "http://127.0.0.1:{port}/p"> %p;]>'.encode()),
        "internal DTD with attribute defaults": with_doctype(
            b'<!DOCTYPE epcis:EPCISDocument [<!ATTLIST ObjectEvent x:injected CDATA "yes">]>'),
        "nesting beyond the bound": deep(MAX_DEPTH + 1),
        "nesting beyond libxml2's own bound": deep(100_000),
        "huge attribute value": huge_attribute(MAX_VALUE_CHARS + 1),
        "attribute beyond libxml2's own bound": huge_attribute(12 * 1024 * 1024),
        "many elements": many_elements(MAX_ELEMENTS + 1),
        "UTF-16": VALID.decode().replace('encoding="UTF-8"', 'encoding="UTF-16"').encode("utf-16"),
    }


ATTACK_NAMES = list(attacks(0))


@pytest.mark.parametrize("name", ATTACK_NAMES)
def test_each_attack_is_refused_quickly_without_fetching_anything(name, listener):
    raw = attacks(listener.port)[name]
    started = time.perf_counter()
    with pytest.raises(XmlInvalid) as refused:
        xml_document(raw, max_events=10_000)
    assert time.perf_counter() - started < QUICK_SECONDS
    assert refused.value.errors and refused.value.errors[0].field
    assert b"root:" not in str(refused.value).encode()  # nothing of /etc/passwd is echoed
    assert listener.connections == 0


def test_the_bounds_are_exact():
    parse_xml(deep(MAX_DEPTH - 2))  # the root and EPCISBody are two levels
    with pytest.raises(XmlInvalid, match="deeper"):
        parse_xml(deep(MAX_DEPTH - 1))
    parse_xml(huge_attribute(MAX_VALUE_CHARS))
    with pytest.raises(XmlInvalid, match="longer"):
        parse_xml(huge_attribute(MAX_VALUE_CHARS + 1))


def test_a_bare_doctype_as_in_gs1s_examples_is_read(listener):
    document = xml_document(with_doctype(b"<!DOCTYPE project>"), max_events=10)
    assert len(document["epcisBody"]["eventList"]) == 2


ENDPOINTS = {"/v1/events": 201, "/epcis/capture": 202, "/epcis/events": None}


@pytest.mark.parametrize("path", list(ENDPOINTS))
def test_every_capture_endpoint_refuses_each_attack_stores_nothing_and_then_captures(api, listener, path):
    headers = {**api.as_("farm"), "Content-Type": "application/xml"}
    for name, raw in attacks(listener.port).items():
        started = time.perf_counter()
        response = api.client.post(path, content=raw, headers=headers)
        assert 400 <= response.status_code < 500, (name, response.status_code, response.text[:300])
        assert time.perf_counter() - started < QUICK_SECONDS + 1, name
    assert listener.connections == 0
    assert api.client.get("/v1/events", headers=api.as_("auditor")).json()["events"] == []
    assert api.client.get("/epcis/capture", headers=api.as_("farm")).json() == []
    valid = VALID if ENDPOINTS[path] else (DATA / "epcis" / "xml" / "Mimasu" / "Example2.xml").read_bytes()
    assert api.client.post(path, content=valid, headers=headers).status_code == (ENDPOINTS[path] or 201)


@pytest.mark.slow
def test_a_real_server_survives_every_attack_and_answers_the_next_request(tmp_path, listener):
    env = {name: value for name, value in os.environ.items() if not name.startswith("TRACEANCHOR_")}
    env.update(PYTHONPATH=str(ROOT), TRACEANCHOR_DATA_DIR=str(tmp_path / "data"))
    _cli(env, "migrate")
    supplier = {**_bearer(env, role="supplier", party="farm"), "Content-Type": "application/xml"}
    with serving(env, log=tmp_path / "serve.log") as (process, client):
        for name, raw in attacks(listener.port).items():
            response = client.post("/v1/events", content=raw, headers=supplier)
            assert 400 <= response.status_code < 500, (name, response.status_code)
            assert process.poll() is None, f"server died after {name}"
            assert client.get("/v1/health").status_code == 200
        assert client.post("/v1/events", content=VALID, headers=supplier).status_code == 201
    assert listener.connections == 0
