"""The EPCIS 2.0 query parameters on classes, quantities, transformations, persistent dispositions and
sensor data, through HTTP with the GS1 examples: ``GET /epcis/events`` (query documents validated
against the official schema) and ``GET /v1/events`` parse and run one query language."""

import pytest
from test_epcis_query import EXAMPLES, capture, get_document

OBJECT = "urn:uuid:374d95fc-9457-4a51-bd6a-0bba133845a8"  # all possible fields: class 4012345.012345.998877 x 200
TRANSFORMATION = "ni:///sha-256;0bf4271d60ed65fb687e95f7216c4c0a4c1181c070f657d41385b6fbd93e97ef?ver=CBV2.0"  # 10, 30, 220
INPUTS_ONLY = "ni:///sha-256;e65c3a997e77f34b58306da7a82ab0fc91c7820013287700f0b50345e5795b97?ver=CBV2.0"  # Example 9.6.4
SENSORS = "ni:///sha-256;74f1dc48ee22289bc40ddd9f1d0ecae0dd09a2f4c3dfa66fdbca16cb2d8a4e77?ver=CBV2.0"  # 26.0, 26.1, 26.2 CEL
INFERRED = "ni:///sha-256;56ba4f355c57456b41c3fb60b22d8342e759de503e3e618940ca3b6ad1bf9b00?ver=CBV2.0"  # sets completeness_inferred
VERIFIED = "ni:///sha-256;dae7b481207bb87f1d981c5f169b8138368ae152a41b002eaf36eca1f67d56f5?ver=CBV2.0"  # and unsets it
FULL_SENSORS = {OBJECT, TRANSFORMATION}  # the all-possible-fields examples share one sensorElement


@pytest.fixture
def examples(api):
    for name in ("WithFullCombinationOfFields/object_event_all_possible_fields.jsonld",
                 "WithFullCombinationOfFields/transformation_event_all_possible_fields.jsonld",
                 "Example_9.6.4-TransformationEvent.jsonld", "WithSensorData/SensorDataExample1.jsonld",
                 "PersistentDisposition-example.jsonld"):
        capture(api, name)
    return api


def found(api, **params) -> set[str]:
    """The eventIDs /epcis/events answers, checked to be what /v1/events answers for the same query."""
    _, events = get_document(api, "/epcis/events", perPage="1000", **params)
    v1 = api.client.get("/v1/events", params={**params, "perPage": "1000"}, headers=api.as_("farm"))
    assert v1.status_code == 200, v1.text
    assert {e["event"].get("eventID", e["event_hash_id"]) for e in v1.json()["events"]} == {e["eventID"] for e in events}
    return {e["eventID"] for e in events}


def test_classes_are_matched_by_their_role_in_the_event(examples):
    lot = "urn:epc:class:lgtin:4012345.011111.4444"
    assert found(examples, MATCH_epcClass="urn:epc:class:lgtin:4012345.012345.998877") == {OBJECT}
    assert found(examples, MATCH_epcClass="https://id.gs1.org/01/04012345123456/10/998877") == {OBJECT}
    assert found(examples, MATCH_epcClass=lot) == set()  # only in input and output lists
    assert found(examples, MATCH_inputEPCClass=lot) == {TRANSFORMATION, INPUTS_ONLY}
    assert found(examples, MATCH_outputEPCClass=lot) == {TRANSFORMATION}
    assert found(examples, MATCH_anyEPCClass=f"{lot}|urn:epc:class:lgtin:4012345.012345.998877") == {OBJECT, TRANSFORMATION, INPUTS_ONLY}


def test_class_patterns_match_the_product_and_its_batches(examples):
    assert found(examples, MATCH_epcClass="urn:epc:idpat:sgtin:4012345.012345.*") == {OBJECT}
    assert found(examples, MATCH_epcClass="https://id.gs1.org/01/04012345123456/*") == {OBJECT}
    # the quantity list names the product itself by that pattern
    assert found(examples, MATCH_outputEPCClass="urn:epc:idpat:sgtin:4012345.066666.*") == {TRANSFORMATION}
    assert found(examples, MATCH_inputEPCClass="urn:epc:idpat:sgtin:4012345.011111.*") == {TRANSFORMATION, INPUTS_ONLY}


@pytest.mark.parametrize("params, expected", [
    ({"EQ_quantity": "200"}, {OBJECT}),
    ({"EQ_quantity": "200.0|30"}, {OBJECT, TRANSFORMATION, INPUTS_ONLY}),
    ({"GT_quantity": "200"}, {TRANSFORMATION, INPUTS_ONLY}),
    ({"GE_quantity": "2e2"}, {OBJECT, TRANSFORMATION, INPUTS_ONLY}),
    ({"GT_quantity": "220"}, set()),
    ({"LT_quantity": "10"}, set()),
    ({"LE_quantity": "10"}, {TRANSFORMATION, INPUTS_ONLY}),
    ({"LT_quantity": "-1"}, set()),
    ({"GT_quantity": "-1e300"}, {OBJECT, TRANSFORMATION, INPUTS_ONLY}),
    ({"GE_quantity_KGM": "10"}, {OBJECT, TRANSFORMATION, INPUTS_ONLY}),  # 200 KGM and 10 KGM
    ({"GT_quantity_KGM": "10"}, {OBJECT}),
    ({"EQ_quantity_KGM": "30|220"}, set()),  # given without a unit
    ({"EQ_quantity_KGM": "10"}, {TRANSFORMATION, INPUTS_ONLY}),
    ({"LT_quantity_KGM": "1000"}, {OBJECT, TRANSFORMATION, INPUTS_ONLY}),
    ({"LT_quantity_LTR": "1000"}, set()),
])
def test_quantities_compare_as_numbers(examples, params, expected):
    assert found(examples, **params) == expected


def test_transformation_id_and_persistent_dispositions(examples):
    assert found(examples, EQ_transformationID="urn:epc:id:gdti:0614141.12345.400") == {TRANSFORMATION}
    assert found(examples, EQ_transformationID="urn:epc:id:gdti:0614141.12345.401") == set()
    assert found(examples, EQ_persistentDisposition_set="completeness_inferred") == {INFERRED}
    verified = {VERIFIED, OBJECT, TRANSFORMATION}
    for spelling in ("completeness_verified", "urn:epcglobal:cbv:disp:completeness_verified",
                     "https://ref.gs1.org/cbv/Disp-completeness_verified"):
        assert found(examples, EQ_persistentDisposition_set=spelling) == verified
    assert found(examples, EQ_persistentDisposition_unset="completeness_inferred") == verified
    assert found(examples, EQ_persistentDisposition_set="completeness_inferred|completeness_verified") == verified | {INFERRED}


def test_measurement_types_match_however_spelt(examples):
    for spelling in ("Temperature", "gs1:Temperature", "https://gs1.org/voc/Temperature"):
        assert found(examples, EQ_type=spelling) == FULL_SENSORS | {SENSORS}
    assert found(examples, EQ_type="Speed|Illuminance") == {SENSORS}
    assert found(examples, EQ_type="Pressure") == set()


@pytest.mark.parametrize("params, expected", [
    ({"EQ_deviceID": "urn:epc:id:giai:4000001.111"}, FULL_SENSORS | {SENSORS}),
    ({"EQ_deviceID": "https://id.gs1.org/8004/4000001111"}, FULL_SENSORS | {SENSORS}),
    ({"EQ_deviceID": "urn:epc:id:giai:4000001.112"}, set()),
    ({"EQ_dataProcessingMethod": "https://example.com/253/4012345000054987"}, FULL_SENSORS),
    ({"EQ_bizRules": "https://example.com/253/4012345000054987"}, FULL_SENSORS),
    ({"EQ_microorganism": "https://www.ncbi.nlm.nih.gov/taxonomy/1126011"}, FULL_SENSORS),
    ({"EQ_chemicalSubstance": "https://identifiers.org/inchikey:CZMRCDWAGMRECN-UGDNZRGBSA-N"}, FULL_SENSORS),
    ({"EQ_stringValue": "SomeString"}, FULL_SENSORS),
    ({"EQ_stringValue": "somestring"}, set()),
    ({"EQ_hexBinaryValue": "f0f0f0"}, FULL_SENSORS),
    ({"EQ_hexBinaryValue": "F0F0F0|00"}, FULL_SENSORS),
    ({"EQ_uriValue": "https://id.gs1.org/8004/4000001111"}, FULL_SENSORS),
    ({"EQ_booleanValue": "true"}, FULL_SENSORS),
    ({"EQ_booleanValue": "false"}, set()),
    ({"GE_startTime": "2019-04-02T12:55:01Z"}, FULL_SENSORS),
    ({"GE_startTime": "2019-04-02T14:55:02+02:00"}, set()),
    ({"LT_startTime": "2019-04-02T12:55:01.001Z"}, FULL_SENSORS),
    ({"LT_startTime": "2019-04-02T12:55:01Z"}, set()),
    ({"GE_endTime": "2019-04-02T13:55:00Z", "LT_endTime": "2019-04-02T13:55:01Z"}, FULL_SENSORS),
    ({"LT_endTime": "2019-04-02T13:55:00Z"}, set()),
    ({"GE_time": "2019-04-02T13:50:00Z"}, FULL_SENSORS | {SENSORS}),  # reports of July; metadata at 13:55
    ({"LT_time": "2019-04-02T14:06:00+01:00"}, FULL_SENSORS | {SENSORS}),  # metadata at 13:05
    ({"LT_time": "2019-04-02T13:05:00Z"}, set()),
    ({"GE_time": "2019-07-19T13:00:00Z"}, FULL_SENSORS),
    ({"GE_time": "2019-07-19T13:00:00.001Z"}, set()),
])
def test_sensor_metadata_and_report_fields(examples, params, expected):
    assert found(examples, **params) == expected


@pytest.mark.parametrize("params, expected", [
    ({"GT_value_CEL": "26"}, {SENSORS}),
    ({"GE_value_CEL": "26"}, FULL_SENSORS | {SENSORS}),
    ({"EQ_value_CEL": "26.1"}, {SENSORS}),
    ({"EQ_value_CEL": "26.05|26.15"}, set()),
    ({"LT_value_CEL": "26"}, set()),
    ({"LE_value_CEL": "26.0"}, FULL_SENSORS | {SENSORS}),
    ({"GT_value_KMH": "161.5"}, {SENSORS}),
    ({"GT_value_FAH": "0"}, set()),  # no unit is converted: nothing was reported in Fahrenheit
    ({"GT_maxValue_CEL": "26.1"}, FULL_SENSORS),
    ({"LT_minValue_CEL": "26"}, set()),
    ({"LE_sDev_CEL": "0.1"}, FULL_SENSORS),
    ({"GE_percRank": "50", "LE_percRank": "50"}, FULL_SENSORS),
    ({"GT_percRank": "50"}, set()),
])
def test_sensor_values_compare_in_their_unit(examples, params, expected):
    assert found(examples, **params) == expected


def test_pipes_separate_values_and_commas_stay_in_free_text(api):
    event = {"@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"], "type": "ObjectEvent",
             "eventTime": "2026-09-01T07:55:00Z", "eventTimeZoneOffset": "+00:00", "action": "OBSERVE", "bizStep": "shipping",
             "epcList": ["urn:epc:id:sgtin:0614141.107346.1"],
             "sensorElementList": [{"sensorReport": [{"type": "Temperature", "stringValue": "dry, cool"}]}]}
    response = api.client.post("/v1/events", json=event, headers=api.as_("farm"))
    assert response.status_code == 201, response.text
    hash_id = response.json()["events"][0]["event_hash_id"]
    assert found(api, EQ_stringValue="dry, cool") == {hash_id}
    assert found(api, EQ_stringValue="dry|cool") == set()
    assert found(api, EQ_stringValue="wet|dry, cool") == {hash_id}
    assert found(api, EQ_bizStep="receiving|shipping") == found(api, EQ_bizStep="receiving,shipping") == {hash_id}


@pytest.mark.parametrize("params, field", [
    ({"GT_quantity": "many"}, "GT_quantity"), ({"EQ_quantity": "1|x"}, "EQ_quantity"), ({"LE_quantity": "NaN"}, "LE_quantity"),
    ({"GT_Temperature": "5"}, "GT_Temperature"), ({"GT_value_cel": "5"}, "GT_value_cel"), ({"GE_value_CEL": ""}, "GE_value_CEL"),
    ({"EQ_booleanValue": "1"}, "EQ_booleanValue"), ({"EQ_hexBinaryValue": "xyz"}, "EQ_hexBinaryValue"),
    ({"GE_startTime": "noon"}, "GE_startTime"), ({"MATCH_inputEPCClass": "urn:epc:class:lgtin:40*"}, "MATCH_inputEPCClass"),
    ({"EQ_persistentDisposition_set": "a||b"}, "EQ_persistentDisposition_set"), ({"EQ_quantity_kgm": "1"}, "EQ_quantity_kgm"),
    ({"GT_quantity_KGM": "heavy"}, "GT_quantity_KGM"), ({"LT_time": "later"}, "LT_time"),
])
def test_malformed_values_are_refused_naming_the_parameter(api, params, field):
    problem = api.client.get("/epcis/events", params=params, headers=api.as_("farm"))
    assert problem.status_code == 400, problem.text
    assert problem.json()["type"] == "epcisException:QueryParameterException" and problem.json()["field"] == field
    v1 = api.client.get("/v1/events", params=params, headers=api.as_("farm"))
    assert v1.status_code == 422 and v1.json()["field"] == field


@pytest.mark.parametrize("field", ["stringValue", "uom", "deviceID"])
def test_indexed_sensor_values_are_held_to_the_identifier_limit(api, field):
    """A sensor value that becomes a search term is at most 250 characters, like every identifier."""
    value = "urn:x:" + "x" * 244  # 250 characters
    report = {"type": "Temperature", "value": 1.5, "uom": "CEL", field: value}
    event = {"@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"], "type": "ObjectEvent",
             "eventTime": "2026-09-01T07:55:00Z", "eventTimeZoneOffset": "+00:00", "action": "OBSERVE", "epcList": [],
             "sensorElementList": [{"sensorReport": [report]}]}
    accepted = api.client.post("/v1/events", json=event, headers=api.as_("farm"))
    assert accepted.status_code == 201, accepted.text
    report[field] = value + "x"
    refused = api.client.post("/v1/events", json=event, headers=api.as_("farm"))
    assert refused.status_code == 422 and refused.json()["field"].endswith(f"sensorReport[0].{field}"), refused.text
