"""EPCIS 2.0 XML answers (``service.read.xml``): every official JSON-LD example and generated events of
all five types, written as XML, are valid against the official XSDs, and the reference implementation
(``epcis_event_hash_generator``, reading our XML) gives each event the hash ID ``service.hashing``
gives the JSON event."""

import json
import logging
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from service.errors import NotAcceptable
from service.hashing import hash_document
from service.ingest.xml.convert import xml_document
from service.read.documents import query_document
from service.read.xml import document_xml
from service.ingest.xml.names import EVENT_SEQUENCE as ORDER

from support import DATA
from support.epcis_events import EVENT_TYPES, epcis_document, epcis_events

EXAMPLES = DATA / "epcis" / "examples"
EXAMPLE_FILES = sorted(EXAMPLES.rglob("*.jsonld"))
XSD = Path(__file__).resolve().parents[1] / "service" / "ingest" / "xml" / "xsd"  # the bundled official XSDs
DOCUMENT_SCHEMA = etree.XMLSchema(etree.parse(str(XSD / "EPCglobal-epcis-2_0.xsd")))
QUERY_SCHEMA = etree.XMLSchema(etree.parse(str(XSD / "EPCglobal-epcis-query-2_0.xsd")))
EPCIS = "urn:epcglobal:epcis:xsd:2"
pytestmark = pytest.mark.filterwarnings("ignore:open_text is deprecated:DeprecationWarning")  # the oracle's

# Where the reference reads our XML differently from how both it and we hash the JSON (docs/event-hash.md).
_COMMENT = "the oracle hashes rdfs:comment in XML (it leaves it out of JSON, as we do)"
_PLACEMENT = "the oracle moves unknown attributes of sensor reports to the end (docs: extensions)"
XML_DISAGREEMENTS = {
    "Example_9.6.1-with-comment.jsonld": _COMMENT,
    "WithSensorData/SensorDataExample8.jsonld": _PLACEMENT,
    "WithSensorData/SensorDataExample12.jsonld": _PLACEMENT,
}
XML_ORACLE_FAILS = {"Example-TransactionEvents-2020_07_03y.jsonld"}  # a bizTransaction without type: the oracle raises


def _load(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def _valid(xml: bytes) -> etree._Element:
    root = etree.fromstring(xml)
    schema = QUERY_SCHEMA if root.tag.endswith("}EPCISQueryDocument") else DOCUMENT_SCHEMA
    assert schema.validate(root), schema.error_log
    return root


def _as_document(document: dict) -> dict:
    """A query document's events in an EPCISDocument (the oracle reads only ``EPCISBody/EventList``)."""
    body = document.get("epcisBody", {})
    if "queryResults" not in body:
        return document
    return {**document, "type": "EPCISDocument", "epcisBody": {"eventList": body["queryResults"]["resultsBody"]["eventList"]}}


def _oracle_hashes(xml: bytes) -> list[str]:
    from epcis_event_hash_generator import hash_generator, xml_to_py

    logging.disable(logging.CRITICAL)
    try:
        events = xml_to_py.event_list_from_epcis_document_str(xml.decode())
        return hash_generator.calculate_hashes_from_pre_hashes(hash_generator.derive_prehashes_from_events(events))
    finally:
        logging.disable(logging.NOTSET)


def _name(path: Path) -> str:
    return path.relative_to(EXAMPLES).as_posix()


# ---- the official examples ----------------------------------------------------------------------

@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=_name)
def test_official_examples_render_valid_against_the_xsd(path):
    document = _load(path)
    root = _valid(document_xml(document))
    events = root.find(".//EventList")
    assert len(events) == len(hash_document(document))


AGREEING = [path for path in EXAMPLE_FILES if _name(path) not in XML_DISAGREEMENTS.keys() | XML_ORACLE_FAILS]


@pytest.mark.parametrize("path", AGREEING, ids=_name)
def test_official_examples_as_xml_hash_like_the_json(path):
    document = _as_document(_load(path))
    assert _oracle_hashes(document_xml(document)) == hash_document(document)


@pytest.mark.parametrize("name", sorted(XML_DISAGREEMENTS))
def test_examples_hash_differently_in_the_oracle_only_where_documented(name):
    """If the oracle comes to agree, this fails and the list must shrink."""
    document = _as_document(_load(EXAMPLES / name))
    ours, oracle = hash_document(document), _oracle_hashes(document_xml(document))
    assert len(ours) == len(oracle) and ours != oracle


# ---- generated events of all five types --------------------------------------------------------

# Derandomized: once in some thousands of random runs the reference dropped one generated event from its
# answer (it logs and skips events it cannot parse) and the example did not replay; CI must not hang on that.
@settings(max_examples=150, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(st.lists(epcis_events(), min_size=1, max_size=4))
def test_generated_events_render_valid_and_hash_like_the_json(events):
    from service.ingest.validation.epcis import validate_document

    document = epcis_document(events)
    validate_document(json.loads(json.dumps(document)), max_events=100)  # the generator makes what capture accepts
    xml = document_xml(document)
    _valid(xml)
    assert _oracle_hashes(xml) == hash_document(document)


@pytest.mark.parametrize("event_type", EVENT_TYPES)
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_children_follow_the_xsd_order_of_each_type(event_type, data):
    event = data.draw(epcis_events(event_type))
    element = etree.fromstring(document_xml(epcis_document([event]))).find(f"EPCISBody/EventList/{event_type}")
    standard = [child.tag for child in element if "}" not in child.tag]
    assert standard == [name for name in ORDER[event_type] if name in standard]
    assert set(standard) == {name for name in ORDER[event_type] if event.get(name) is not None}


# ---- what the XML says ------------------------------------------------------------------------

def _event(**fields) -> dict:
    return {"@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld",
                         {"ex": "https://ns.example.com/epcis/"}],
            "type": "ObjectEvent", "eventTime": "2024-05-01T10:00:00.000Z", "eventTimeZoneOffset": "+00:00",
            "action": "OBSERVE", **fields}


def _element(event: dict) -> etree._Element:
    return etree.fromstring(document_xml(event)).find("EPCISBody/EventList/ObjectEvent")


def test_each_cbv_term_has_one_spelling_in_xml():
    for spelling in ("shipping", "https://ref.gs1.org/cbv/BizStep-shipping", "cbv:BizStep-shipping",
                     "urn:epcglobal:cbv:bizstep:shipping"):
        assert _element(_event(bizStep=spelling)).findtext("bizStep") == "urn:epcglobal:cbv:bizstep:shipping"
    assert _element(_event(bizStep="https://ref.gs1.org/cbv/Disp-damaged")).findtext("bizStep") == \
        "https://ref.gs1.org/cbv/Disp-damaged"  # not a business step: as it is


def test_vocabulary_is_written_as_urns_and_web_uris():
    element = _element(_event(bizStep="shipping", disposition="in_transit",
                              bizTransactionList=[{"type": "po", "bizTransaction": "urn:epcglobal:cbv:bt:0614141073467:1"}],
                              sensorElementList=[{"sensorReport": [{"type": "Temperature", "value": 20.5, "uom": "CEL"}]}]))
    assert element.findtext("bizStep") == "urn:epcglobal:cbv:bizstep:shipping"
    assert element.findtext("disposition") == "urn:epcglobal:cbv:disp:in_transit"
    assert element.find("bizTransactionList/bizTransaction").get("type") == "urn:epcglobal:cbv:btt:po"
    report = element.find("sensorElementList/sensorElement/sensorReport")
    assert report.attrib == {"type": "https://gs1.org/voc/Temperature", "value": "20.5", "uom": "CEL"}


def test_extensions_keep_their_namespace_and_structure():
    element = _element(_event(**{"ex:batch": {"ex:code": ["A", "B"], "ex:size": 3, "ex:fresh": True, "ex:none": None}}))
    batch = element.find("{https://ns.example.com/epcis/}batch")
    assert [child.text for child in batch.findall("{https://ns.example.com/epcis/}code")] == ["A", "B"]
    assert batch.findtext("{https://ns.example.com/epcis/}size") == "3"
    assert batch.findtext("{https://ns.example.com/epcis/}fresh") == "true"
    assert batch.find("{https://ns.example.com/epcis/}none") is None
    assert batch.prefix == "ex"


def test_an_extension_with_the_text_member_is_an_element_with_attributes():
    element = _element(_event(ilmd={"cbvmda:netWeight": {"measurementUnitCode": "KGM", "ex:basis": "net", "": 3.5}}))
    weight = element.find("ilmd/{urn:epcglobal:cbv:mda:}netWeight")
    assert weight.text == "3.5"
    assert weight.attrib == {"measurementUnitCode": "KGM", "{https://ns.example.com/epcis/}basis": "net"}


def test_quantities_are_decimals_without_exponent():
    element = _element(_event(quantityList=[{"epcClass": "urn:epc:class:lgtin:4012345.012345.998877",
                                             "quantity": 1e-7, "uom": "KGM"}]))
    assert element.findtext("quantityList/quantityElement/quantity") == "0.0000001"


def test_query_document_keeps_query_name_and_subscription():
    document = query_document([], query_name="MyQuery")
    document["epcisBody"]["queryResults"]["subscriptionID"] = "sub-1"
    root = _valid(document_xml(document))
    results = root.find(".//{urn:epcglobal:epcis-query:xsd:2}QueryResults")
    assert [child.tag for child in results] == ["queryName", "subscriptionID", "resultsBody"]
    assert results.findtext("queryName") == "MyQuery" and results.findtext("subscriptionID") == "sub-1"


def test_an_undeclared_prefix_is_refused_naming_the_field():
    with pytest.raises(NotAcceptable) as refused:
        document_xml(_event(**{"nowhere:thing": "x"}))
    assert refused.value.field == "epcisBody.eventList[0].nowhere:thing"


# ---- round trips through the capture side's reader (service.ingest.xml) ----

@pytest.fixture
def read_xml():
    return lambda data: xml_document(data, max_events=sys.maxsize)


def _infoset(element: etree._Element) -> tuple:
    """What an XML element says, prefixes and layout aside: name, attributes, text, children in order."""
    children = tuple(_infoset(child) for child in element if isinstance(child.tag, str))
    return element.tag, tuple(sorted(element.attrib.items())), (element.text or "").strip(), children


def _events_infoset(xml: bytes) -> tuple:
    return _infoset(etree.fromstring(xml).find(".//EventList"))


@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=_name)
def test_official_examples_round_trip_through_xml(read_xml, path):
    """JSON-LD -> XML -> JSON-LD keeps every hash ID; XML -> JSON-LD -> XML keeps the infoset."""
    document = _load(path)
    xml = document_xml(document)
    back = read_xml(xml)
    assert hash_document(back) == hash_document(document)
    again = document_xml(back)
    _valid(again)
    assert _events_infoset(again) == _events_infoset(xml)


@settings(max_examples=100, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.function_scoped_fixture])
@given(st.lists(epcis_events(), min_size=1, max_size=4))
def test_generated_events_round_trip_through_xml(read_xml, events):
    document = epcis_document(events)
    xml = document_xml(document)
    back = read_xml(xml)
    assert hash_document(back) == hash_document(document)
    again = document_xml(back)
    _valid(again)
    assert _events_infoset(again) == _events_infoset(xml)
