"""Property: a generated EPCIS XML event of any of the five types, within what GS1's JSON-LD mapping carries (no xsi markup,
extensions in a '/'-terminated namespace, CBV values as URNs or Web URIs: an XML ``<bizStep>shipping``
is kept as given and read as the CBV term, which the reference does not; see docs/epcis-xml.md), is
stored with the Event Hash ID the reference implementation computes from the XML itself."""

from xml.sax.saxutils import escape

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_xml_capture import reference_hashes

from service.hashing.epcis import hash_document
from service.ingest.xml.convert import xml_document
from service.ingest.xml.names import EVENT_SEQUENCE

NAMESPACE = "https://ns.example.com/x/"
#: No "_": the reference reads "0_0" as the number 0 (Python's float() takes digit separators); here it stays text.
TEXT = st.text(alphabet="abcXYZ019 -.", min_size=1, max_size=8).map(str.strip).filter(bool)
NAMES = st.sampled_from(["lot", "grade", "origin", "note", "temp"])


def element(name: str, body: str, **attributes: str) -> str:
    rendered = "".join(f' {key}="{escape(value)}"' for key, value in attributes.items())
    return f"<{name}{rendered}>{body}</{name}>"


@st.composite
def times(draw) -> str:
    hour, minute, second, millis = draw(st.integers(0, 23)), draw(st.integers(0, 59)), draw(st.integers(0, 59)), draw(st.integers(0, 999))
    zone = draw(st.sampled_from(["Z", "+01:00", "-06:00", "+05:30"]))
    return f"2026-09-{draw(st.integers(1, 28)):02d}T{hour:02d}:{minute:02d}:{second:02d}.{millis:03d}{zone}"


@st.composite
def extension(draw, depth: int = 0) -> str:
    name = f"x:{draw(NAMES)}"
    if depth < 2 and draw(st.booleans()):
        return element(name, "".join(draw(st.lists(extension(depth + 1), min_size=1, max_size=3))))
    attributes = draw(st.dictionaries(st.sampled_from(["unit", "x:scale"]), TEXT, max_size=2))
    return element(name, escape(draw(TEXT)), **attributes)


EPCS = st.integers(1, 9999).map(lambda n: f"urn:epc:id:sgtin:0614141.107346.{n}")


def epc_list(name: str, epcs: list[str]) -> str:
    return element(name, "".join(element("epc", epc) for epc in epcs))


@st.composite
def quantity_list(draw, name: str) -> str:
    quantities = draw(st.lists(st.tuples(st.integers(1, 99), st.decimals(0, 10_000, places=2, allow_nan=False)), min_size=1, max_size=2))
    return element(name, "".join(element("quantityElement", element("epcClass", f"urn:epc:class:lgtin:4012345.012345.{lot}")
                                         + element("quantity", str(amount)) + element("uom", "KGM")) for lot, amount in quantities))


@st.composite
def events(draw) -> str:
    """An event of any of the five types, its fields in the order of the XSD's sequence for that type."""
    kind = draw(st.sampled_from(sorted(EVENT_SEQUENCE)))
    fields = {"eventTime": element("eventTime", draw(times())),
              "eventTimeZoneOffset": element("eventTimeZoneOffset", draw(st.sampled_from(["+01:00", "-06:00"])))}
    action = element("action", draw(st.sampled_from(["ADD", "OBSERVE", "DELETE"])))
    parent = element("parentID", "urn:epc:id:sscc:0614141.1234567890")
    if kind == "ObjectEvent":
        fields |= {"epcList": epc_list("epcList", draw(st.lists(EPCS, max_size=3, unique=True))), "action": action}
        if draw(st.booleans()):
            fields["quantityList"] = draw(quantity_list("quantityList"))
        if draw(st.booleans()):
            fields["ilmd"] = element("ilmd", "".join(draw(st.lists(extension(), min_size=1, max_size=2))))
    elif kind in ("AggregationEvent", "AssociationEvent"):
        fields |= {"parentID": parent, "childEPCs": epc_list("childEPCs", draw(st.lists(EPCS, min_size=1, max_size=3, unique=True))),
                   "action": action}
        if draw(st.booleans()):
            fields["childQuantityList"] = draw(quantity_list("childQuantityList"))
    elif kind == "TransactionEvent":
        fields |= {"epcList": epc_list("epcList", draw(st.lists(EPCS, min_size=1, max_size=3, unique=True))), "action": action}
        if draw(st.booleans()):
            fields["parentID"] = parent
    else:
        fields |= {"inputEPCList": epc_list("inputEPCList", draw(st.lists(EPCS, min_size=1, max_size=2, unique=True))),
                   "outputEPCList": epc_list("outputEPCList", draw(st.lists(EPCS, min_size=1, max_size=2, unique=True)))}
        if draw(st.booleans()):
            fields["transformationID"] = element("transformationID", "urn:epc:id:gdti:0614141.12345.400")
        if draw(st.booleans()):
            fields["inputQuantityList"] = draw(quantity_list("inputQuantityList"))
    if draw(st.booleans()):
        fields["bizStep"] = element("bizStep", draw(st.sampled_from(["urn:epcglobal:cbv:bizstep:shipping", "urn:epcglobal:cbv:bizstep:receiving",
                                                                     "https://ref.gs1.org/cbv/BizStep-packing"])))
    if draw(st.booleans()):
        fields["readPoint"] = element("readPoint", element("id", "urn:epc:id:sgln:0614141.00777.0"))
    if kind == "TransactionEvent" or draw(st.booleans()):
        transactions = draw(st.lists(st.tuples(st.sampled_from(["urn:epcglobal:cbv:btt:po", "urn:epcglobal:cbv:btt:inv",
                                                                "https://ref.gs1.org/cbv/BTT-desadv"]), st.integers(1, 99)),
                                     min_size=1, max_size=2, unique=True))
        fields["bizTransactionList"] = element("bizTransactionList", "".join(
            element("bizTransaction", f"urn:epcglobal:cbv:bt:0614141000041:{n}", type=kind) for kind, n in transactions))
    if draw(st.booleans()):
        reports = draw(st.lists(st.decimals(-50, 50, places=1, allow_nan=False), min_size=1, max_size=3))
        fields["sensorElementList"] = element("sensorElementList", element("sensorElement", "".join(
            f'<sensorReport type="gs1:Temperature" value="{value}" uom="CEL"/>' for value in reports)))
    ordered = [fields[name] for name in EVENT_SEQUENCE[kind] if name in fields]
    return element(kind, "".join(ordered + draw(st.lists(extension(), max_size=3))))


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(events(), min_size=1, max_size=3))
def test_generated_xml_events_of_every_type_hash_as_the_reference_hashes_the_xml(generated):
    raw = (f'<epcis:EPCISDocument xmlns:epcis="urn:epcglobal:epcis:xsd:2" xmlns:x="{NAMESPACE}" schemaVersion="2.0" '
           f'creationDate="2026-09-01T00:00:00Z"><EPCISBody><EventList>{"".join(generated)}</EventList></EPCISBody>'
           "</epcis:EPCISDocument>").encode()
    assert hash_document(xml_document(raw, max_events=10)) == reference_hashes(raw)
