"""The EPCIS XML vocabulary in one place: namespaces, element order, and how each standard element
maps to its JSON-LD field.

The capture side (``service.ingest.xml.convert``) reads XML through these tables and the answer
side (an XML writer) must invert exactly what they say, so both import them from here rather than
spelling element names twice. Events are stored in their EPCIS 2.0 JSON-LD form; these tables are
the whole of the XML<->JSON-LD mapping besides user extensions, which follow one rule: an element
or attribute ``{uri}local`` is the key ``prefix:local`` where ``prefix`` is bound to ``uri`` in the
``@context`` the converter writes beside the standard context.
"""

EPCIS_2 = "urn:epcglobal:epcis:xsd:2"
EPCIS_QUERY_2 = "urn:epcglobal:epcis-query:xsd:2"
#: EPCIS 1.2 (and 1.0/1.1) namespaces, upgraded to 2.0 on the way in.
EPCIS_1 = "urn:epcglobal:epcis:xsd:1"
EPCIS_QUERY_1 = "urn:epcglobal:epcis-query:xsd:1"
SBDH = "http://www.unece.org/cefact/namespaces/StandardBusinessDocumentHeader"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
XSI_TYPE = f"{{{XSI}}}type"
XSI_NIL = f"{{{XSI}}}nil"
#: The standard JSON-LD context every converted document names first.
EPCIS_CONTEXT = "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"

DOCUMENT = "EPCISDocument"
QUERY_DOCUMENT = "EPCISQueryDocument"
EVENT_TYPES = ("ObjectEvent", "AggregationEvent", "TransactionEvent", "TransformationEvent", "AssociationEvent")

#: The wrapper elements of 1.x (and the 2.0 XSD's leftover extension points) whose children belong
#: to their parent: GS1's 1.2 -> 2.0 mapping moves them up, and the CBV event hash ignores them.
WRAPPERS = frozenset({"extension", "baseExtension"})

#: Fields of every event, in the XSD's order (EPCISEventType).
_BASE = ("eventTime", "recordTime", "eventTimeZoneOffset", "eventID", "errorDeclaration", "certificationInfo")
_TAIL = ("sensorElementList", "persistentDisposition")
#: Each event type's standard child elements, in the order the EPCIS 2.0 XSD fixes; user extensions
#: (elements of any other namespace) follow them.
EVENT_SEQUENCE: dict[str, tuple[str, ...]] = {
    "ObjectEvent": (*_BASE, "epcList", "action", "bizStep", "disposition", "readPoint", "bizLocation",
                    "bizTransactionList", "quantityList", "sourceList", "destinationList", *_TAIL, "ilmd"),
    "AggregationEvent": (*_BASE, "parentID", "childEPCs", "action", "bizStep", "disposition", "readPoint", "bizLocation",
                         "bizTransactionList", "childQuantityList", "sourceList", "destinationList", *_TAIL),
    "TransactionEvent": (*_BASE, "bizTransactionList", "parentID", "epcList", "action", "bizStep", "disposition",
                         "readPoint", "bizLocation", "quantityList", "sourceList", "destinationList", *_TAIL),
    "TransformationEvent": (*_BASE, "inputEPCList", "inputQuantityList", "outputEPCList", "outputQuantityList",
                            "transformationID", "bizStep", "disposition", "readPoint", "bizLocation",
                            "bizTransactionList", "sourceList", "destinationList", *_TAIL, "ilmd"),
    "AssociationEvent": (*_BASE, "parentID", "childEPCs", "childQuantityList", "action", "bizStep", "disposition",
                         "readPoint", "bizLocation", "bizTransactionList", "sourceList", "destinationList", *_TAIL),
}

#: Lists of EPCs: the JSON field is an array of the ``<epc>`` texts.
EPC_LISTS = frozenset({"epcList", "childEPCs", "inputEPCList", "outputEPCList"})
EPC = "epc"
#: Lists of quantities: the JSON field is an array of ``{"epcClass", "quantity", "uom"}`` objects.
QUANTITY_LISTS = frozenset({"quantityList", "childQuantityList", "inputQuantityList", "outputQuantityList"})
QUANTITY_ELEMENT = "quantityElement"
QUANTITY_FIELDS = ("epcClass", "quantity", "uom")
#: Typed lists: ``<bizTransaction type="t">v</bizTransaction>`` is ``{"type": "t", "bizTransaction": "v"}``.
TYPED_LISTS = {"bizTransactionList": "bizTransaction", "sourceList": "source", "destinationList": "destination"}
#: readPoint and bizLocation: ``<id>`` is ``{"id": ...}``, extensions beside it.
LOCATIONS = frozenset({"readPoint", "bizLocation"})
#: persistentDisposition: repeated ``<set>``/``<unset>`` are arrays, in this order.
PERSISTENT_DISPOSITION_FIELD = "persistentDisposition"
PERSISTENT_DISPOSITION = ("unset", "set")
ERROR_DECLARATION = "errorDeclaration"
#: errorDeclaration: ``<correctiveEventIDs><correctiveEventID>`` is an array under ``correctiveEventIDs``.
CORRECTIVE_EVENT_IDS = ("correctiveEventIDs", "correctiveEventID")
ERROR_DECLARATION_FIELDS = ("declarationTime", "reason", "correctiveEventIDs")
ILMD = "ilmd"
SENSOR_ELEMENT_LIST = "sensorElementList"
SENSOR_ELEMENT = "sensorElement"
SENSOR_METADATA = "sensorMetadata"
#: sensorReport is an array of objects in JSON, a repeated element in XML.
SENSOR_REPORT = "sensorReport"

#: Attributes of sensorMetadata and sensorReport whose XSD type is not a string: their JSON value is
#: a number (xsd:double) or a boolean; every other standard attribute stays the string given.
SENSOR_DOUBLES = frozenset({"value", "minValue", "maxValue", "meanValue", "sDev", "percRank", "percValue"})
SENSOR_BOOLEANS = frozenset({"booleanValue"})
SENSOR_METADATA_ATTRIBUTES = ("time", "startTime", "endTime", "deviceID", "deviceMetadata", "rawData",
                              "dataProcessingMethod", "bizRules")
SENSOR_REPORT_ATTRIBUTES = ("type", "exception", "deviceID", "deviceMetadata", "rawData", "dataProcessingMethod", "time",
                            "microorganism", "chemicalSubstance", "value", "component", "stringValue", "booleanValue",
                            "hexBinaryValue", "uriValue", "minValue", "maxValue", "meanValue", "sDev", "percRank",
                            "percValue", "uom", "coordinateReferenceSystem")

#: The member holding the text of a user extension element that also has attributes
#: (``<cbvmda:netWeight measurementUnitCode="KGM">3.5</cbvmda:netWeight>`` is
#: ``{"measurementUnitCode": "KGM", "": 3.5}``). The empty name is no JSON-LD term (processors drop it,
#: as they drop every other rendering of XML text beside attributes), and the CBV hash renders it as
#: ``=3.5`` before the attributes, which is exactly how the reference hashes the XML element.
TEXT_KEY = ""

#: ``xsi:type`` of a user extension element -> the JSON type of its value (others stay strings).
XSD_INTEGERS = frozenset({"integer", "int", "long", "short", "byte", "nonNegativeInteger", "positiveInteger",
                          "negativeInteger", "nonPositiveInteger", "unsignedLong", "unsignedInt", "unsignedShort",
                          "unsignedByte"})
XSD_NUMBERS = frozenset({"decimal", "double", "float"})
XSD_BOOLEAN = "boolean"
