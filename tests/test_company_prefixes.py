"""GS1's GCP length table (service.hashing.company_prefixes) and what it gives GS1-EPC-Format:
Always_EPC_URN: Digital Links captured without any URN naming their company come back as EPC URNs."""

import json

import pytest
from hypothesis import given
from test_epc_urns import urns

from service.errors import ConfigurationError
from service.hashing.company_prefixes import SETTING, CompanyPrefixLengths
from service.hashing.identifiers import canonical_identifier
from service.read.documents import epc_urn

CONTEXT = ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"]
ENTRIES = [{"prefix": "0614141", "gcpLength": 7}, {"prefix": "061414199", "gcpLength": 9}, {"prefix": "40", "gcpLength": 7},
           {"prefix": "02", "gcpLength": 0}]


def json_table(path):
    path.write_text(json.dumps({"_disclaimer": ["GS1's table has one; this one is made up"],
                                "GCPPrefixFormatList": {"date": "2026-01-01T00:00:00Z", "entry": ENTRIES}}))
    return path


def xml_table(path):
    entries = "".join(f'<entry prefix="{e["prefix"]}" gcpLength="{e["gcpLength"]}"/>' for e in ENTRIES)
    path.write_text(f'<?xml version="1.0"?><!-- disclaimer --><GCPPrefixFormatList date="2026-01-01T00:00:00Z">{entries}</GCPPrefixFormatList>')
    return path


@pytest.mark.parametrize("write", [json_table, xml_table])
def test_the_longest_matching_prefix_decides(tmp_path, write):
    lengths = CompanyPrefixLengths.load(write(tmp_path / "table"))
    assert lengths.length_of("https://id.gs1.org/01/10614141073464/21/1") == 7  # after the GTIN's indicator
    assert lengths.length_of("urn:epc:id:sgln:0614141.00888.0") == 7  # a GLN from its first digit
    assert lengths.length_of("https://id.gs1.org/00/306141419912345675") == 9  # the longer entry
    assert lengths.length_of("https://id.gs1.org/414/4012345000009") == 7
    assert lengths.length_of("https://id.gs1.org/414/0212345000005") is None  # length 0: no company prefixes there
    assert lengths.length_of("https://id.gs1.org/414/9912345000007") is None  # not in the table
    assert lengths.length_of("https://example.com/not-a-key") is None


@pytest.mark.parametrize("content", ["", "{}", '{"GCPPrefixFormatList": {"entry": [{"prefix": "06", "gcpLength": 13}]}}',
                                     '{"GCPPrefixFormatList": {"entry": [{"prefix": "x6", "gcpLength": 7}]}}', "<notxml"])
def test_a_file_that_is_no_table_is_refused_naming_the_setting(tmp_path, content):
    path = tmp_path / "table"
    path.write_text(content)
    with pytest.raises(ConfigurationError) as refused:
        CompanyPrefixLengths.load(path)
    assert refused.value.field == SETTING
    with pytest.raises(ConfigurationError):
        CompanyPrefixLengths.load(tmp_path / "missing.json")


@given(urns())
def test_with_the_companys_entry_a_digital_link_comes_back_as_its_urn(case):
    urn, length = case
    company_prefix = urn.split(":")[4].split(".")[0]
    assert epc_urn(canonical_identifier(urn), CompanyPrefixLengths({company_prefix: length})) == urn
    assert epc_urn(canonical_identifier(urn), CompanyPrefixLengths()) == canonical_identifier(urn)  # no table: as it is


@pytest.fixture
def settings(settings, tmp_path):
    """The test's settings with a GCP length table."""
    settings.gcp_length_table = json_table(tmp_path / "gcpprefixformatlist.json")
    return settings


def test_always_epc_urn_uses_the_configured_table(api):
    event = {"type": "ObjectEvent", "eventTime": "2026-05-01T10:00:00Z", "eventTimeZoneOffset": "+00:00", "action": "OBSERVE",
             "epcList": ["https://id.gs1.org/01/10614141073464/21/2017", "https://id.gs1.org/01/09912345000007/21/1"],
             "bizLocation": {"id": "https://id.gs1.org/414/4012345000009"}}
    document = {"@context": CONTEXT, "type": "EPCISDocument", "schemaVersion": "2.0", "creationDate": "2026-05-01T00:00:00Z",
                "epcisBody": {"eventList": [event]}}
    assert api.client.post("/v1/events", json=document, headers=api.as_("farm")).status_code == 201
    urn_form = {**api.as_("farm"), "GS1-EPC-Format": "Always_EPC_URN"}
    [found] = api.client.get("/epcis/events", headers=urn_form).json()["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
    assert found["epcList"] == ["urn:epc:id:sgtin:0614141.107346.2017", "https://id.gs1.org/01/09912345000007/21/1"]  # 99...: unlisted
    assert found["bizLocation"]["id"] == "urn:epc:id:sgln:4012345.00000.0"
    listed = api.client.get("/epcis/epcs", headers=urn_form)
    assert listed.headers["GS1-EPC-Format"] == "Always_EPC_URN"
    assert listed.json()["member"] == ["https://id.gs1.org/01/09912345000007/21/1", "urn:epc:id:sgtin:0614141.107346.2017"]
