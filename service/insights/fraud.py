"""Fraud scores for lenders from verified records: input frames, labels, model versions, scoring.

The model itself lives in :mod:`analytics.fraud` (no service imports); this module feeds it the
two frames of its contract, built with a handful of bulk queries, and every record is verified
against the chain on each call. Values are read from the verified bodies only: the search columns
and terms (``biz_step``, ``cites``, ``party``) are not anchored, so they only *find* candidates,
and an attacker who edits them can hide evidence (raising a score) but never add any.

Everything is computed from the asking party's data (``service.access.viewer``): a lender's own labels and
the records that suppliers shared with it (auditors and admins: every party's). Where a
transaction was recorded by both sides, the seller's copy counts once.

Labels are records of kind ``label``, JCS-hashed and anchored like any record, and enter the ledger
through the same path as every submission. They form an append-only log: repeating a lender's
current label for a transaction is a no-op, changing it stores a new label record, and the latest
verified label per transaction (by ``labelled_at``) is the one training uses.

Models belong to the party that trained them; each party has at most one active model, the one its
scores use. A model whose holdout ROC-AUC is below :data:`MIN_ROC_AUC` is stored but not activated;
one whose quality the holdout cannot measure (one class only) is activated with a warning that every
score repeats (docs/fraud.md).
"""

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
import pandas as pd
from sqlalchemy import union, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from analytics.fraud import FraudModel, build_features, supply_chain_evidence, train
from analytics.fraud.features import SCORED_KINDS
from service.access.viewer import Viewer
from service.ingest.candidates import Submission, candidate, parsed_body
from service.anchor.chain import Chain
from service.errors import Conflict, IntegrityFailure, InvalidRecord, NotFound
from service.hashing.vocabulary import BIZ_STEPS
from service.ingest.indexing import TermName, reference_id, vocabulary
from service.models import FraudModelVersion, Record, RecordKind, RecordTerm
from service.ingest.records import find_record
from service.sealing import is_sealed, seal
from service.timeutil import utcnow
from service.verify.integrity import Derivations
from service.verify.verification import VerificationCache, VerificationStatus
from service.verify.selection import VerifiedSelection, verify_records

SHIPMENT_STEPS = {BIZ_STEPS["shipping"]: "shipping", BIZ_STEPS["receiving"]: "receiving"}
MAX_SCORE_IDS = 1000
"""Most transactions in one batch scoring request (and labels in one bulk labelling)."""
MIN_ROC_AUC = 0.6
"""Holdout ROC-AUC below which a trained model is not activated (0.5 is chance)."""
_CHUNK = 500


@dataclass
class FraudInputs:
    """The model's two input frames (plus ``record_id`` and ``status`` columns) and what was left out."""

    transactions: pd.DataFrame
    shipments: pd.DataFrame
    selections: dict[str, VerifiedSelection] = field(default_factory=dict)

    def summary(self) -> dict:
        """Per record kind: ``records_used`` (verified) and ``records_excluded`` by status."""
        return {kind: selection.summary() for kind, selection in self.selections.items()}


@dataclass(frozen=True)
class TransactionScore:
    """One scored transaction with the supply-chain evidence behind it."""

    id: str
    kind: str
    status: str
    probability: float
    band: str
    reasons: tuple[str, ...]
    evidence: list[dict]


def load_inputs(session: Session, chain: Chain, *, viewer: Viewer, sellers: set[str] | None = None,
                cache: VerificationCache | None = None) -> FraudInputs:
    """Frames of every transaction of ``viewer``'s data (of ``sellers`` only, when given) and the
    shipping and receiving events citing them, each row with its verification status.

    Scoping by seller loses nothing for the seller's invoices: history features look at the same
    seller (or pair) only, and evidence is found through the cited ids.
    """
    cache = VerificationCache() if cache is None else cache
    transactions = select(Record).where(Record.kind == RecordKind.TRANSACTION, viewer.owned())
    if sellers is not None:
        transactions = transactions.where(Record.id.in_(_terms(TermName.PARTY, sorted(sellers))))
    transaction_records = session.exec(transactions.order_by(Record.id)).all()
    events = select(Record).where(Record.kind == RecordKind.EPCIS_EVENT, Record.biz_step.in_(list(SHIPMENT_STEPS)),
                                  viewer.owned())
    if sellers is None:
        events = events.where(Record.id.in_(select(RecordTerm.record_id).where(RecordTerm.name == TermName.CITES)))
    else:
        ids = select(Record.id).where(Record.id.in_([record.id for record in transaction_records]))
        cited = union(select(Record.business_id).where(Record.id.in_(ids)),
                      select(RecordTerm.value).where(RecordTerm.name == TermName.REFERENCE, RecordTerm.record_id.in_(ids)))
        events = events.where(Record.id.in_(select(RecordTerm.record_id).where(
            RecordTerm.name == TermName.CITES, RecordTerm.value.in_(cited))))
    event_records = session.exec(events.order_by(Record.id)).all()
    transaction_status, transaction_selection = verify_records(session, chain, records=transaction_records, cache=cache)
    event_status, event_selection = verify_records(session, chain, records=event_records, cache=cache)
    return FraudInputs(
        transactions=_transaction_frame(transaction_records, transaction_status),
        shipments=_shipment_frame(event_records, event_status),
        selections={"transactions": transaction_selection, "shipments": event_selection},
    )


def _terms(name: TermName, values: list[str]):
    return select(RecordTerm.record_id).where(RecordTerm.name == name, RecordTerm.value.in_(values))


def _transaction_frame(records: Sequence[Record], statuses: list[VerificationStatus]) -> pd.DataFrame:
    rows = []
    for record, status in zip(records, statuses):
        body = parsed_body(record) or {}
        lines = body.get("lines") if isinstance(body.get("lines"), list) else []
        references = body.get("references") if isinstance(body.get("references"), list) else []
        rows.append({
            "id": record.business_id, "kind": body.get("kind"), "timestamp": body.get("timestamp"),
            "seller": str(body.get("seller")), "buyer": str(body.get("buyer")), "currency": str(body.get("currency")),
            "total": _number(body.get("total")),
            "quantity": sum(_number(line.get("quantity")) for line in lines if isinstance(line, dict)) if lines else np.nan,
            "references": [reference_id(ref) for ref in references if isinstance(reference_id(ref), str)],
            "verified": status == VerificationStatus.VERIFIED, "record_id": record.id, "status": status,
            "by_seller": record.party == body.get("seller"),
        })
    frame = pd.DataFrame(rows, columns=["id", "kind", "timestamp", "seller", "buyer", "currency", "total", "quantity",
                                        "references", "verified", "record_id", "status", "by_seller"])
    frame["timestamp"] = pd.to_datetime(frame["timestamp"], utc=True, errors="coerce", format="ISO8601")
    frame["total"] = frame["total"].astype(float)
    # An edited row may lose its time or amount: it cannot be placed in time, so it is left out. A
    # transaction both sides recorded is one transaction: the seller's copy stands for it.
    frame = frame[frame["timestamp"].notna() & frame["total"].notna()]
    frame = frame.sort_values(["by_seller", "record_id"], ascending=[False, True], kind="stable").drop_duplicates("id")
    return frame.drop(columns="by_seller").sort_values("record_id").reset_index(drop=True)


def _shipment_frame(records: Sequence[Record], statuses: list[VerificationStatus]) -> pd.DataFrame:
    rows = []
    for record, status in zip(records, statuses):
        body = parsed_body(record) or {}
        step = SHIPMENT_STEPS.get(vocabulary(body["bizStep"], BIZ_STEPS) if isinstance(body.get("bizStep"), str) else "")
        if step is None:
            continue
        cited = body.get("bizTransactionList") if isinstance(body.get("bizTransactionList"), list) else []
        rows.append({
            "event_id": record.business_id, "biz_step": step, "event_time": body.get("eventTime"),
            "order_ids": [item["bizTransaction"] for item in cited
                          if isinstance(item, dict) and isinstance(item.get("bizTransaction"), str)],
            "quantity": _event_quantity(body), "verified": status == VerificationStatus.VERIFIED,
            "record_id": record.id, "status": status,
        })
    frame = pd.DataFrame(rows, columns=["event_id", "biz_step", "event_time", "order_ids", "quantity", "verified",
                                        "record_id", "status"])
    frame["event_time"] = pd.to_datetime(frame["event_time"], utc=True, errors="coerce", format="ISO8601")
    frame["quantity"] = frame["quantity"].astype(float)
    return frame[frame["event_time"].notna()].reset_index(drop=True)


def _event_quantity(event: dict) -> float:
    """Items an event moved: its EPCs (each one item) plus the quantities of its quantity lists."""
    epcs = sum(len(event[name]) for name in ("epcList", "childEPCs") if isinstance(event.get(name), list))
    amounts = [_number(item.get("quantity")) for name in ("quantityList", "childQuantityList")
               for item in (event.get(name) if isinstance(event.get(name), list) else []) if isinstance(item, dict)]
    return float(epcs + np.nansum(amounts))


def _number(value: object) -> float:
    """A JSON number or decimal string as float; NaN for anything else (booleans included)."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return np.nan
    try:
        return float(value)
    except ValueError:
        return np.nan


@dataclass(frozen=True)
class LabelRequest:
    """A lender's label of one transaction: whose (``submitter``, None: resolve as for reads) and which."""

    transaction: str
    fraud: bool
    submitter: str | None = None


@dataclass(frozen=True)
class PreparedLabels:
    """Labels ready to store: the new ones as a submission, and for each request its transaction,
    and the current label when it already said so (nothing to store)."""

    submission: Submission
    transactions: list[Record]
    unchanged: dict[int, Record]


def prepare_labels(session: Session, *, requests: Sequence[LabelRequest], viewer: Viewer) -> PreparedLabels:
    """Check every request (a visible invoice or payment, once each) and build the label records
    that change something; all or nothing: the first problem raises, naming ``[i].transaction``."""
    transactions, unchanged, candidates, seen = [], {}, [], set()
    labelled_at = utcnow()
    for index, request in enumerate(requests):
        field = f"[{index}].transaction" if len(requests) > 1 else "id"
        record = _transaction_to_score(session, request.transaction, request.submitter, viewer=viewer,
                                       where=f"[{index}]" if len(requests) > 1 else None)
        if record.id in seen:
            raise InvalidRecord(f"{field}: transaction {record.business_id!r} of {record.party!r} is labelled twice", field=field)
        seen.add(record.id)
        transactions.append(record)
        current = current_label(session, transaction=record, lender=viewer.party)
        if current is not None and (parsed_body(current) or {}).get("fraud") is request.fraud:
            unchanged[record.id] = current
            continue
        body = {"transaction": record.business_id, "party": record.party, "fraud": request.fraud, "lender": viewer.party,
                "labelled_at": labelled_at.isoformat().replace("+00:00", "Z")}
        candidates.append(candidate(RecordKind.LABEL, body, field=field))
    return PreparedLabels(Submission(candidates=candidates, party=viewer.party), transactions, unchanged)


def current_label(session: Session, *, transaction: Record, lender: str) -> Record | None:
    """``lender``'s latest label of ``transaction`` (labels from before per-party ids name no submitter)."""
    labels = session.exec(select(Record).where(
        Record.kind == RecordKind.LABEL, Record.party == lender,
        Record.id.in_(_terms(TermName.REFERENCE, [transaction.business_id]))).order_by(Record.id.desc())).all()
    return next((label for label in labels if (parsed_body(label) or {}).get("party", transaction.party) == transaction.party), None)


def labels_of(viewer: Viewer, *, transaction: str | None = None):
    """Statement of the labels of ``viewer``'s data (of one transaction id, when given)."""
    statement = select(Record).where(Record.kind == RecordKind.LABEL, viewer.owned())
    if transaction is not None:
        statement = statement.where(Record.id.in_(_terms(TermName.REFERENCE, [transaction])))
    return statement


def _transaction_to_score(session: Session, transaction: str, submitter: str | None, *, viewer: Viewer,
                          where: str | None) -> Record:
    """The invoice or payment a label or score request names; errors name the item (``where``) of a list."""
    try:
        record = find_record(session, kind=RecordKind.TRANSACTION, business_id=transaction, submitter=submitter, viewer=viewer)
        _require_scored_kind(record)
    except (NotFound, InvalidRecord, Conflict) as error:
        if where is None:
            raise
        field = f"{where}.{'submitter' if error.field == 'submitter' else 'transaction'}"
        raise type(error)(f"{field}: {error.message}", field=field) from error
    return record


def _require_scored_kind(record: Record) -> None:
    if record.record_type not in SCORED_KINDS:
        raise InvalidRecord(f"transaction {record.business_id!r} is an {record.record_type}: fraud labels and scores "
                            f"exist only for {' and '.join(kind + 's' for kind in SCORED_KINDS)}", field="id")


def verified_labels(session: Session, chain: Chain, *, viewer: Viewer,
                    cache: VerificationCache | None = None) -> tuple[pd.Series, VerifiedSelection]:
    """The latest verified label per transaction (1 fraud, 0 legitimate), indexed by transaction id."""
    records = session.exec(select(Record).where(Record.kind == RecordKind.LABEL, viewer.owned()).order_by(Record.id)).all()
    _, selection = verify_records(session, chain, records=records, cache=VerificationCache() if cache is None else cache)
    bodies = [parsed_body(record) or {} for record in selection.records]
    frame = pd.DataFrame({
        "transaction": [body.get("transaction") for body in bodies],
        "fraud": [body.get("fraud") for body in bodies],
        "labelled_at": pd.to_datetime([body.get("labelled_at") for body in bodies], utc=True, format="ISO8601"),
    })
    latest = frame.sort_values("labelled_at", kind="stable").drop_duplicates("transaction", keep="last")
    return pd.Series(latest["fraud"].astype(int).to_numpy(), index=latest["transaction"].to_numpy(), name="fraud"), selection


def train_model(session: Session, chain: Chain, *, viewer: Viewer, key: bytes,
                derivations: Derivations | None = None) -> tuple[FraudModelVersion, bool]:
    """Train on the verified labels of verified invoices and payments of ``viewer``'s data; store the
    version as the viewer's party's, active unless its holdout says it is worse than the floor.
    ``derivations``: the process's memo of what bodies derive to (none: derive afresh).

    Returns the stored row and whether the version is new (False: same labelled set, refreshed).
    """
    cache = VerificationCache(derivations=derivations or Derivations())
    inputs = load_inputs(session, chain, viewer=viewer, cache=cache)
    labels, label_selection = verified_labels(session, chain, viewer=viewer, cache=cache)
    features = build_features(transactions=inputs.transactions, shipments=inputs.shipments)
    verified_ids = inputs.transactions.loc[inputs.transactions["verified"], "id"]
    usable = labels[labels.index.isin(verified_ids) & labels.index.isin(features.index)]
    if len(usable) < 2:
        raise Conflict(f"{len(usable)} verified label(s) of verified invoices or payments; at least 2 are needed "
                       "(labels and transactions count once anchored)")
    model = train(features=features, labels=usable)
    summary = {**inputs.summary(), "labels": {**label_selection.summary(), "labels_used": len(usable),
                                              "labels_of_unverified_transactions": int(len(labels) - len(usable))},
               "data_scope": viewer.scope}
    row = session.exec(select(FraudModelVersion).where(FraudModelVersion.version == model.version,
                                                       FraudModelVersion.created_by == viewer.party)).first()
    created = row is None
    row = row or FraudModelVersion(version=model.version, fingerprint=model.fingerprint, method=model.method,
                                   metrics={}, inputs={}, model=b"", seal="", created_by=viewer.party)
    row.metrics, row.inputs, row.model = model.metrics, summary, model.to_bytes()
    row.seal = seal(key, label=row.version, data=row.model)
    row.created_at = utcnow()
    row.active, row.warning = _activation(model.metrics)
    try:
        if row.active:
            session.execute(update(FraudModelVersion).where(FraudModelVersion.created_by == viewer.party,
                                                            FraudModelVersion.version != model.version).values(active=False))
        session.add(row)
        session.flush()
    except IntegrityError as error:
        raise Conflict(f"fraud model {model.version} was being trained at the same time; retry") from error
    return row, created


def _activation(metrics: dict) -> tuple[bool, str | None]:
    """Whether a model with these holdout metrics becomes active, and the warning it carries."""
    roc_auc = metrics.get("roc_auc")
    if roc_auc is None:
        return True, ("holdout quality unknown: its labels are all of one class, so ROC-AUC is undefined; "
                      "treat scores with caution")
    if roc_auc < MIN_ROC_AUC:
        return False, f"not activated: holdout ROC-AUC {roc_auc:.3f} is below the floor of {MIN_ROC_AUC}"
    return True, None


def models_of(viewer: Viewer):
    """Statement of the fraud models ``viewer`` may read: its party's (every party's for auditors and admins)."""
    statement = select(FraudModelVersion)
    return statement if viewer.everything else statement.where(FraudModelVersion.created_by == viewer.party)


def find_model(session: Session, *, viewer: Viewer, version: str | None = None) -> FraudModelVersion:
    """A stored version the viewer may read, or (``version`` None) the active one: its party's, or
    for auditors and admins the most recently trained active one; NotFound / Conflict otherwise."""
    statement = models_of(viewer).order_by(FraudModelVersion.created_at.desc(), FraudModelVersion.id.desc())
    if version is not None:
        row = session.exec(statement.where(FraudModelVersion.version == version)).first()
        if row is None:
            raise NotFound(f"no fraud model version {version!r}", field="version")
        return row
    row = session.exec(statement.where(FraudModelVersion.active)).first()
    if row is None:
        raise Conflict("no active fraud model: label transactions, anchor, then POST /v1/analytics/fraud/models")
    return row


class LoadedModels:
    """The fraud model a process last unpickled, kept by its stored training (version, time, seal):
    a model is megabytes of pickle, and scoring requests use the same one again and again. One per
    process container (``Runtime.fraud_models``)."""

    def __init__(self) -> None:
        self._loaded: tuple[tuple[str, datetime, str], FraudModel] | None = None
        self._lock = threading.Lock()

    def model_of(self, row: FraudModelVersion, *, key: bytes) -> FraudModel:
        """``row``'s model, unpickled once per stored training, and only if its seal holds (the bytes
        come from the database)."""
        if not is_sealed(key, label=row.version, data=row.model, claimed=row.seal):
            raise IntegrityFailure(f"fraud model {row.version} fails its integrity seal: it was changed outside the "
                                   "service (or the server key changed); retrain it")
        training = (row.version, row.created_at, row.seal)
        with self._lock:
            if self._loaded is None or self._loaded[0] != training:
                self._loaded = (training, FraudModel.from_bytes(row.model))
            return self._loaded[1]


@dataclass(frozen=True)
class ScoreRequest:
    """One transaction to score: which id, and whose record (None: resolve as for reads)."""

    transaction: str
    submitter: str | None = None


def score_transactions(session: Session, chain: Chain, *, requests: Sequence[ScoreRequest], viewer: Viewer,
                       key: bytes, models: LoadedModels,
                       derivations: Derivations | None = None) -> tuple[list[TransactionScore], FraudModelVersion, FraudInputs]:
    """Scores of invoices and payments of ``viewer``'s data (in the given order, each once), with the
    viewer's active model (loaded through ``models``); ``derivations`` as for :func:`train_model`."""
    records: dict[int, Record] = {}
    for index, request in enumerate(requests):
        record = _transaction_to_score(session, request.transaction, request.submitter, viewer=viewer,
                                       where=f"ids[{index}]" if len(requests) > 1 else None)
        records.setdefault(record.id, record)
    row = find_model(session, viewer=viewer)
    sellers = {str((parsed_body(record) or {}).get("seller")) for record in records.values()}
    inputs = load_inputs(session, chain, viewer=viewer, sellers=sellers,
                         cache=VerificationCache(derivations=derivations or Derivations()))
    features = build_features(transactions=inputs.transactions, shipments=inputs.shipments)
    wanted = list(dict.fromkeys(record.business_id for record in records.values()))
    unreadable = [i for i in wanted if i not in features.index]
    if unreadable:
        raise Conflict(f"stored transaction {unreadable[0]!r} was edited and can no longer be read", field="id")
    scores = models.model_of(row, key=key).score(features.loc[wanted])
    evidence = supply_chain_evidence(transactions=inputs.transactions, shipments=inputs.shipments)
    evidence = evidence.merge(inputs.shipments[["event_id", "record_id", "status"]], on="event_id", how="left")
    evidence = evidence[evidence["transaction_id"].isin(wanted)].sort_values(["transaction_id", "event_time"])
    items = {key: group.drop(columns="transaction_id") for key, group in evidence.groupby("transaction_id")}
    status = inputs.transactions.set_index("id")["status"]
    kinds = {record.business_id: record.record_type for record in records.values()}
    return [
        TransactionScore(id=i, kind=kinds[i], status=str(status[i]), probability=s.probability,
                         band=s.band, reasons=s.reasons, evidence=_evidence_items(items.get(i)))
        for i, s in zip(wanted, scores)
    ], row, inputs


def _evidence_items(frame: pd.DataFrame | None) -> list[dict]:
    if frame is None:
        return []
    return [{"event_hash_id": r.event_id, "record_id": int(r.record_id), "biz_step": r.biz_step,
             "event_time": r.event_time.to_pydatetime(), "quantity": float(r.quantity), "verified": bool(r.verified),
             "status": r.status} for r in frame.itertuples(index=False)]
