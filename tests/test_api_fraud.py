"""Fraud scores through HTTP: generated trades submitted as real records, labels, models, scores,
evidence that stops counting once its row is edited, 4xx cases and roles."""

import pickle
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score
from sqlalchemy import text

from analytics.fraud import build_features
from support.synthetic_fraud import SyntheticData
from service.demo.supply_chain import supply_chain
from support.finance import epcis_document, generate_book, transaction_json
from service.insights.fraud import load_inputs, verified_labels
from service.access.viewer import Viewer
from service.models import Role

EVERYONE = Viewer(party="auditor", everything=True)

SQLITE_ONLY = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


def submit(api, data: SyntheticData) -> dict[str, str]:
    """Submit every record (sellers submit their transactions), anchor, then edit the rows the
    generator marks unverified. Returns event id -> event hash id."""
    api.ledger.settings.batch_size = 4096
    share_with_bank(api, "distributor")
    for seller, rows in data.transactions.groupby("seller"):
        api.key(seller, role=Role.SUPPLIER)
        share_with_bank(api, seller)
        body = [transaction_json(row) for row in rows.itertuples()]
        assert api.client.post("/v1/transactions", json=body, headers=api.as_(seller)).status_code == 201
    captured = api.client.post("/v1/events", json=epcis_document(data.shipments), headers=api.as_("distributor"))
    assert captured.status_code == 201, captured.text
    hash_ids = dict(zip(data.shipments["event_id"], (e["event_hash_id"] for e in captured.json()["events"])))
    assert api.client.post("/v1/anchors", headers=api.as_("admin")).status_code == 200
    for event_id in data.shipments.loc[~data.shipments["verified"], "event_id"]:
        tamper_quantity(api, hash_ids[event_id])
    return hash_ids


def share_with_bank(api, owner: str, *, lenders: tuple[str, ...] = ("bank",)) -> None:
    """The supplier lets its lenders read its records (a grant), as it would to be financed."""
    for lender in lenders:
        assert api.client.post("/v1/grants", json={"grantee": lender}, headers=api.as_(owner)).status_code == 201


def tamper_quantity(api, event_hash_id: str) -> None:
    with api.ledger.engine.begin() as connection:
        connection.execute(text("UPDATE record SET body = replace(body, :old, :new) WHERE business_id = :id"),
                           {"old": '"quantity":', "new": '"quantity":1', "id": event_hash_id})


def label(api, transaction_id: str, fraud: bool, who: str = "bank"):
    return api.client.post(f"/v1/transactions/{transaction_id}/labels", json={"fraud": fraud}, headers=api.as_(who))


def demo_invoice(api, run: int = 41) -> tuple[str, str]:
    """The demo chain's order and invoice, with their shipping and receiving events; all anchored."""
    data = supply_chain(run=run)
    for who, document in data["documents"].items():
        share_with_bank(api, who, lenders=("bank", "bank2"))
        assert api.client.post("/v1/events", json=document, headers=api.as_(who)).status_code == 201
    order, invoice = data["transactions"]["processor"]
    assert api.client.post("/v1/transactions", json=[order, invoice], headers=api.as_("processor")).status_code == 201
    assert api.client.post("/v1/anchors", headers=api.as_("admin")).status_code == 200
    return order["id"], invoice["id"]


@SQLITE_ONLY
def test_service_frames_give_the_generators_features(api):
    """Records in, frames out: features from the service's extraction equal those from the generator's
    own frames (tolerance 1e-9), with edited shipment rows flagged unverified in both."""
    data = generate_book(n_trades=60, fraud_rate=0.2, tamper_rate=1.0, seed=3)
    assert (~data.shipments["verified"]).sum() >= 3
    hash_ids = submit(api, data)
    with api.ledger.session() as session:
        inputs = load_inputs(session, api.ledger.chain, viewer=EVERYONE)
    expected_shipments = data.shipments.assign(event_id=data.shipments["event_id"].map(hash_ids))
    got = build_features(transactions=inputs.transactions, shipments=inputs.shipments).sort_index()
    want = build_features(transactions=data.transactions, shipments=expected_shipments).sort_index()
    pd.testing.assert_frame_equal(got.drop(columns="timestamp"), want.drop(columns="timestamp"),
                                  check_dtype=False, check_categorical=False, rtol=1e-9)
    verified = inputs.shipments.set_index("event_id")["verified"].sort_index()
    assert verified.equals(expected_shipments.set_index("event_id")["verified"].sort_index())
    assert inputs.summary()["shipments"]["records_excluded"]["by_status"] == {"tampered": int((~verified).sum())}


@SQLITE_ONLY
def test_label_train_and_score_a_generated_book(api):
    data = generate_book(n_trades=150, fraud_rate=0.4, seed=7)
    hash_ids = submit(api, data)
    invoices = data.labels.index
    for invoice_id in invoices:
        assert label(api, invoice_id, bool(data.labels[invoice_id])).status_code == 201
    assert api.client.post("/v1/anchors", headers=api.as_("admin")).status_code == 200

    trained = api.client.post("/v1/analytics/fraud/models", headers=api.as_("bank"))
    assert trained.status_code == 201, trained.text
    model = trained.json()
    assert model["method"] == "logistic_regression" and model["probability_meaning"].startswith("calibrated")
    assert model["metrics"]["labels_per_class"] == [int((data.labels == 0).sum()), int(data.labels.sum())]
    assert model["inputs"]["labels"]["labels_used"] == len(invoices)
    assert model["metrics"]["roc_auc"] > 0.85  # planted patterns are strong; 0.5 would be chance
    assert api.client.get(f"/v1/analytics/fraud/models/{model['version']}", headers=api.as_("auditor")).json() == model

    scored = api.client.post("/v1/analytics/fraud/scores", json={"ids": list(invoices)}, headers=api.as_("auditor"))
    assert scored.status_code == 200
    scores = pd.DataFrame(scored.json()["scores"]).set_index("id")
    assert roc_auc_score(data.labels, scores.loc[invoices, "probability"]) > 0.9  # in-sample

    payment = data.transactions.loc[data.transactions["kind"] == "payment", "id"].iloc[0]
    paid = api.client.get(f"/v1/transactions/{payment}/fraud-score", headers=api.as_("admin")).json()
    assert paid["kind"] == "payment" and 0 <= paid["probability"] <= 1

    phantom = data.patterns.index[data.patterns == "phantom"][0]
    one = api.client.get(f"/v1/transactions/{phantom}/fraud-score", headers=api.as_("bank")).json()
    assert one["evidence"] == [] and one["band"] == "high"
    assert "no verified shipment references this invoice's order" in one["reasons"]
    assert one["model"]["version"] == model["version"] and one["inputs"]["transactions"]["records_used"] > 0

    honest = scores[(scores["band"] == "low") & data.patterns.reindex(scores.index).eq("honest")].index[0]
    before = api.client.get(f"/v1/transactions/{honest}/fraud-score", headers=api.as_("bank")).json()
    assert {item["biz_step"] for item in before["evidence"]} == {"shipping", "receiving"}
    assert all(item["verified"] for item in before["evidence"])
    shipping = next(item for item in before["evidence"] if item["biz_step"] == "shipping")
    tamper_quantity(api, shipping["event_hash_id"])
    after = api.client.get(f"/v1/transactions/{honest}/fraud-score", headers=api.as_("bank")).json()
    flags = {item["event_hash_id"]: (item["verified"], item["status"]) for item in after["evidence"]}
    assert flags[shipping["event_hash_id"]] == (False, "tampered")
    assert after["probability"] > before["probability"]
    assert "no verified shipment references this invoice's order" in after["reasons"]
    assert hash_ids  # events were submitted through the API

    again = api.client.post("/v1/analytics/fraud/models", headers=api.as_("bank"))
    assert again.status_code == 200 and again.json()["version"] == model["version"] and again.json()["active"]
    others = api.client.post("/v1/analytics/fraud/models", headers=api.as_("admin"))  # the admin's own model
    assert others.status_code == 201 and others.json()["created_by"] == "admin" and others.json()["version"] == model["version"]


def test_few_labels_train_an_isolation_forest(api):
    data = generate_book(n_trades=40, fraud_rate=0.1, seed=5)
    submit(api, data)
    chosen = list(data.labels.index[:12])
    for invoice_id in chosen:
        assert label(api, invoice_id, bool(data.labels[invoice_id])).status_code == 201
    api.client.post("/v1/anchors", headers=api.as_("admin"))
    model = api.client.post("/v1/analytics/fraud/models", headers=api.as_("admin")).json()
    assert model["method"] == "isolation_forest" and "not a probability" in model["probability_meaning"]
    assert model["metrics"]["brier"] is None and model["created_by"] == "admin"
    score = api.client.get(f"/v1/transactions/{chosen[0]}/fraud-score", headers=api.as_("auditor")).json()
    assert 0 < score["probability"] <= 1 and score["band"] in {"low", "medium", "high"}
    assert score["model"]["method"] == "isolation_forest"


class _Planted:
    """A pickle that would create a file when unpickled: the attacker's payload."""

    def __init__(self, path):
        self.path = str(path)

    def __reduce__(self):
        return (open, (self.path, "w"))


def test_model_bytes_edited_in_the_database_are_refused_not_unpickled(api, tmp_path):
    data = generate_book(n_trades=40, fraud_rate=0.1, seed=5)
    submit(api, data)
    chosen = list(data.labels.index[:12])
    for invoice_id in chosen:
        label(api, invoice_id, bool(data.labels[invoice_id]))
    api.client.post("/v1/anchors", headers=api.as_("admin"))
    assert api.client.post("/v1/analytics/fraud/models", headers=api.as_("bank")).status_code == 201
    planted = tmp_path / "pwned"
    with api.ledger.engine.begin() as connection:
        connection.execute(text("UPDATE fraud_model SET model = :payload"), {"payload": pickle.dumps(_Planted(planted))})
    response = api.client.get(f"/v1/transactions/{chosen[0]}/fraud-score", headers=api.as_("bank"))
    assert response.status_code == 409 and "integrity seal" in response.json()["detail"]
    assert not planted.exists(), "the payload must never be unpickled"


def test_labels_are_anchored_records_and_the_latest_counts(api):
    api.key("bank2", role=Role.LENDER)
    _, invoice = demo_invoice(api)
    first = label(api, invoice, True)
    assert first.status_code == 201 and first.json()["status"] == "pending"
    repeated = label(api, invoice, True)
    assert repeated.status_code == 200 and repeated.json()["id"] == first.json()["id"]
    changed = label(api, invoice, False)
    assert changed.status_code == 201 and changed.json()["id"] != first.json()["id"]
    assert label(api, invoice, True, who="bank2").status_code == 201
    too_few = api.client.post("/v1/analytics/fraud/models", headers=api.as_("bank"))
    assert too_few.status_code == 409 and "anchored" in too_few.json()["detail"]  # labels still pending
    api.client.post("/v1/anchors", headers=api.as_("admin"))
    with api.ledger.session() as session:
        labels, selection = verified_labels(session, api.ledger.chain, viewer=EVERYONE)
        assert labels.to_dict() == {invoice: 1} and selection.summary()["records_used"] == 3
        labels, selection = verified_labels(session, api.ledger.chain, viewer=Viewer(party="bank"))  # the bank's own
        assert labels.to_dict() == {invoice: 0} and selection.summary()["records_used"] == 2
    with api.ledger.engine.begin() as connection:  # the second lender's label is edited: it stops counting
        connection.execute(text("UPDATE record SET body = replace(body, 'true', 'false') WHERE party = 'bank2'"))
    with api.ledger.session() as session:
        labels, selection = verified_labels(session, api.ledger.chain, viewer=EVERYONE)
        assert labels.to_dict() == {invoice: 0} and dict(selection.excluded) == {"tampered": 1}


def test_clear_errors(api):
    api.key("bank2", role=Role.LENDER)
    order, invoice = demo_invoice(api)
    bank = api.as_("bank")
    for response in (label(api, "nope", True), api.client.get("/v1/transactions/nope/fraud-score", headers=bank),
                     api.client.post("/v1/analytics/fraud/scores", json={"ids": [invoice, "nope"]}, headers=bank)):
        assert response.status_code == 404 and "nope" in response.json()["detail"]
    for response in (label(api, order, True), api.client.get(f"/v1/transactions/{order}/fraud-score", headers=bank)):
        assert response.status_code == 422 and "is an order" in response.json()["detail"]
    no_model = api.client.get(f"/v1/transactions/{invoice}/fraud-score", headers=bank)
    assert no_model.status_code == 409 and "no active fraud model" in no_model.json()["detail"]
    assert api.client.get("/v1/analytics/fraud/models/isolation_forest-0", headers=bank).status_code == 404
    for ids in ([], [invoice] * 1001, [""]):
        assert api.client.post("/v1/analytics/fraud/scores", json={"ids": ids}, headers=bank).status_code == 422
    assert api.client.post(f"/v1/transactions/{invoice}/labels", json={"fraud": "maybe"}, headers=bank).status_code == 422


def test_roles(api):
    api.key("bank2", role=Role.LENDER)
    _, invoice = demo_invoice(api)
    score_path = f"/v1/transactions/{invoice}/fraud-score"
    for who in ("processor", "shop", "auditor", "admin"):
        assert label(api, invoice, True, who=who).status_code == 403
    for who in ("processor", "shop"):
        assert api.client.get(score_path, headers=api.as_(who)).status_code == 403
        assert api.client.post("/v1/analytics/fraud/models", headers=api.as_(who)).status_code == 403
    assert api.client.post("/v1/analytics/fraud/models", headers=api.as_("auditor")).status_code == 403
    for who in ("bank", "auditor", "admin"):  # may read: refused only because no model exists yet
        assert api.client.get(score_path, headers=api.as_(who)).status_code == 409
    assert api.client.get(score_path).status_code == 401


@SQLITE_ONLY
def test_a_model_worse_than_the_floor_is_stored_but_not_activated(api):
    """Labels whose meaning flips for the newest invoices (the holdout): the model learnt the old meaning,
    so its holdout ROC-AUC is far below chance and it must not replace the active model."""
    data = generate_book(n_trades=150, fraud_rate=0.4, seed=7)
    submit(api, data)
    invoices = data.transactions.set_index("id").loc[data.labels.index].sort_values("timestamp")
    newest = set(invoices.index[-int(len(invoices) * 0.2):])
    labels = api.client.post("/v1/analytics/fraud/labels", headers=api.as_("bank"), json={"labels": [
        {"transaction": invoice_id, "fraud": bool(data.labels[invoice_id])} for invoice_id in invoices.index if invoice_id not in newest]})
    assert labels.status_code == 201
    api.client.post("/v1/anchors", headers=api.as_("admin"))
    good = api.client.post("/v1/analytics/fraud/models", headers=api.as_("bank")).json()
    assert good["active"] and good["warning"] is None and good["metrics"]["roc_auc"] >= 0.6
    flipped = api.client.post("/v1/analytics/fraud/labels", headers=api.as_("bank"), json={"labels": [
        {"transaction": invoice_id, "fraud": not data.labels[invoice_id]} for invoice_id in newest]})
    assert flipped.status_code == 201
    api.client.post("/v1/anchors", headers=api.as_("admin"))
    bad = api.client.post("/v1/analytics/fraud/models", headers=api.as_("bank"))
    assert bad.status_code == 201, bad.text
    assert bad.json()["metrics"]["roc_auc"] < 0.6 and not bad.json()["active"] and "below the floor" in bad.json()["warning"]
    assert api.client.get("/v1/analytics/fraud/models/active", headers=api.as_("bank")).json()["version"] == good["version"]
    listed = api.client.get("/v1/analytics/fraud/models", headers=api.as_("bank")).json()["models"]
    assert [(m["version"], m["active"]) for m in listed] == [(bad.json()["version"], False), (good["version"], True)]
    score = api.client.get(f"/v1/transactions/{invoices.index[0]}/fraud-score", headers=api.as_("bank")).json()
    assert score["model"]["version"] == good["version"]
    assert api.client.get("/v1/analytics/fraud/models", headers=api.as_("processor")).status_code == 403


def test_high_scores_always_come_with_reasons(monkeypatch):
    """Even where no feature passes the reporting minimum, a high score names what pushed it most."""
    from analytics.fraud import build_features, model as fraud_model, train
    from analytics.fraud.reasons import PHRASES
    from support.synthetic_fraud import generate

    data = generate(n_trades=400, fraud_rate=0.3, seed=11)
    features = build_features(transactions=data.transactions, shipments=data.shipments)
    trained = train(features=features, labels=data.labels)
    monkeypatch.setattr(fraud_model, "MIN_REASON_LOG_ODDS", 1e9)  # no contribution is large enough to report
    high = [score for score in trained.score(features) if score.band == "high"]
    assert high and all(len(score.reasons) == 1 for score in high)
    assert {reason for score in high for reason in score.reasons} <= {
        phrase for pair in PHRASES.values() for phrase in pair} | {fraud_model.NO_SINGLE_REASON}
