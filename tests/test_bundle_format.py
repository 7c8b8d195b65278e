"""The proof bundle's fields are defined once (service.verify.bundle_format): the exporter, the
offline checker, the API's schema and docs/proof-bundle.md all name exactly those."""

import re

import pytest

from support.records import fill
from service.api.app import create_app
from service.api.schemas.verification import ProofBundlePublic
from service.models import Record
from service.settings import Settings
from service.verify.bundle import check_bundle
from service.verify.bundle_format import BUNDLE_FIELDS, DEPRECATED_NAMES, REQUIRED_FIELDS
from service.verify.verification import proof_bundle
from support import ROOT


def documented_fields() -> list[str]:
    """The field names of docs/proof-bundle.md's table, in order."""
    text = (ROOT / "docs" / "proof-bundle.md").read_text(encoding="utf-8")
    table = text.split("| field | meaning |", 1)[1].split("\n\n", 1)[0]
    return re.findall(r"^\| `(\w+)` \|", table, flags=re.MULTILINE)


def test_the_doc_and_the_api_schema_name_exactly_the_bundle_fields():
    assert documented_fields() == list(BUNDLE_FIELDS)
    assert list(ProofBundlePublic.model_fields) == list(BUNDLE_FIELDS)
    published = create_app(Settings()).openapi()["components"]["schemas"]["ProofBundlePublic"]
    assert list(published["properties"]) == list(BUNDLE_FIELDS)
    assert set(REQUIRED_FIELDS) < set(BUNDLE_FIELDS) and set(REQUIRED_FIELDS) <= set(published["required"])


@pytest.fixture
def bundle(ledger) -> dict:
    (record_id,) = fill(ledger, 1)
    ledger.anchoring.anchor_now()
    with ledger.session() as session:
        return proof_bundle(session, ledger.chain, session.get(Record, record_id)).as_json()


def test_an_exported_bundle_has_the_fields_and_checks(ledger, bundle):
    assert set(bundle) == set(BUNDLE_FIELDS) - {"event_hash_id", "submission"}  # a transaction, unsigned: no event hash id
    assert bundle["record_kind"] == "transaction" and "kind" not in bundle
    assert check_bundle(bundle, w3=ledger.chain.w3).valid


@pytest.mark.parametrize("name", REQUIRED_FIELDS)
def test_the_checker_requires_every_required_field(ledger, bundle, name):
    del bundle[name]
    result = check_bundle(bundle, w3=ledger.chain.w3)
    assert result.checks[0][:2] == ("fields", False) and name in result.checks[0][2]


def test_a_bundle_of_the_release_before_still_checks_under_its_old_names(ledger, bundle):
    for old, new in DEPRECATED_NAMES.items():
        bundle[old] = bundle.pop(new)
    assert "kind" in bundle and check_bundle(bundle, w3=ledger.chain.w3).valid
