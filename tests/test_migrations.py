"""The versioned schema: upgrading gives exactly the models' tables, once, even when started twice."""

import json
import threading

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect
from sqlmodel import Session, SQLModel, func, select

from service.errors import SchemaError
from service.migrations import config, downgrade, upgrade
from service.models import CaptureJob, Record, RecordStatus, RecordTerm


@pytest.fixture
def engine(database_url):
    engine = create_engine(database_url)
    yield engine
    engine.dispose()


def schema_differences(engine) -> list:
    with engine.connect() as connection:
        return compare_metadata(MigrationContext.configure(connection), SQLModel.metadata)


def test_upgrading_an_empty_database_gives_exactly_the_models_schema(engine, tmp_path):
    upgrade(engine, lock_file=tmp_path / "lock")
    assert schema_differences(engine) == []


def test_downgrading_to_nothing_and_upgrading_again_round_trips(engine, tmp_path):
    upgrade(engine, lock_file=tmp_path / "lock")
    downgrade(engine, revision="base", lock_file=tmp_path / "lock")
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    upgrade(engine, lock_file=tmp_path / "lock")
    assert schema_differences(engine) == []


def test_processes_starting_together_upgrade_once(engine, tmp_path):
    errors = []

    def start() -> None:
        try:
            upgrade(engine, lock_file=tmp_path / "lock")
        except Exception as error:  # noqa: BLE001 - collected for the assertion
            errors.append(error)

    starters = [threading.Thread(target=start) for _ in range(3)]
    for starter in starters:
        starter.start()
    for starter in starters:
        starter.join(60)
    assert errors == []
    assert schema_differences(engine) == []


def test_tables_of_an_older_unversioned_release_are_refused_not_altered(engine, tmp_path):
    with engine.begin() as connection:  # stop 7's layout: a proof per record, no batch_tree
        connection.exec_driver_sql("CREATE TABLE record (id INTEGER PRIMARY KEY, body TEXT, proof TEXT, leaf_index INTEGER)")
    with pytest.raises(SchemaError, match="older than schema versioning can upgrade"):
        upgrade(engine, lock_file=tmp_path / "lock")
    assert set(inspect(engine).get_table_names()) == {"record"}


LEGACY_ROWS = """
INSERT INTO batch (id, root, leaf_count, status, attempts, created_at, updated_at) VALUES
  (1, '0xaa', 2, 'ANCHORED', 0, '2026-01-01 00:00:00', '2026-01-01 00:00:00'),
  (2, '0xbb', 1, 'SUBMITTED', 0, '2026-01-01 00:00:00', '2026-01-01 00:00:00');
INSERT INTO record (id, kind, record_type, business_id, party, body, content_hash, status, batch_id, tree_index, created_at) VALUES
  (1, 'TRANSACTION', 'order', 'PO-1', 'farm', '{}', '0x01', 'ANCHORED', 1, 1, '2026-01-01 00:00:00'),
  (2, 'TRANSACTION', 'order', 'PO-2', 'farm', '{}', '0x02', 'ANCHORED', 1, 2, '2026-01-01 00:00:00'),
  (3, 'TRANSACTION', 'order', 'PO-3', 'farm', '{}', '0x03', 'PENDING', 2, 0, '2026-01-01 00:00:00'),
  (4, 'TRANSACTION', 'order', 'PO-4', 'farm', '{}', '0x04', 'PENDING', NULL, NULL, '2026-01-01 00:00:00');
INSERT INTO record_term (name, value, record_id) VALUES ('sku', 'A', 1), ('sku', 'B', 2), ('sku', 'C', 3), ('sku', 'D', 4);
"""


def test_the_last_unversioned_release_is_upgraded_keeping_batches_positions_and_statuses(engine, tmp_path):
    """A database of the release before versioning (revision 0001's layout, no version table) is
    adopted and upgraded; the table rebuild on SQLite must not cascade-delete the terms."""
    with engine.begin() as connection:
        command.upgrade(config(connection), "0001")
        connection.exec_driver_sql("DROP TABLE alembic_version")
        for statement in filter(str.strip, LEGACY_ROWS.split(";")):
            connection.exec_driver_sql(statement)
    upgrade(engine, lock_file=tmp_path / "lock")
    assert schema_differences(engine) == []
    with Session(engine) as session:
        records = session.exec(select(Record).order_by(Record.id)).all()
        assert [(r.batch_id, r.tree_index, r.status) for r in records] == [
            (1, 1, RecordStatus.ANCHORED), (1, 2, RecordStatus.ANCHORED), (2, 0, RecordStatus.PENDING), (None, None, RecordStatus.PENDING)]
        assert session.exec(select(func.count()).select_from(RecordTerm)).one() == 4
    downgrade(engine, revision="0001", lock_file=tmp_path / "lock")  # and back: columns filled from the leaves
    with engine.begin() as connection:
        rows = connection.exec_driver_sql("SELECT id, status, batch_id, tree_index FROM record ORDER BY id").all()
        assert [tuple(row) for row in rows] == [(1, "ANCHORED", 1, 1), (2, "ANCHORED", 1, 2), (3, "PENDING", 2, 0), (4, "PENDING", None, None)]
        assert connection.exec_driver_sql("SELECT count(*) FROM record_term").scalar() == 4


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # PostgreSQL enforces foreign keys all along
def test_rows_orphaned_by_hand_do_not_stop_an_upgrade_but_orphans_a_migration_makes_roll_it_back(engine, tmp_path):
    """A record deleted in the sqlite3 shell (foreign keys off) leaves its terms pointing nowhere:
    upgrading, which rebuilds tables on SQLite, must go through and keep them for the audit to see;
    a migration step that orphans rows itself is refused and changes nothing."""
    from service.migrations import _no_new_dangling_keys

    with engine.begin() as connection:
        command.upgrade(config(connection), "0001")
        connection.exec_driver_sql("DROP TABLE alembic_version")
        for statement in filter(str.strip, LEGACY_ROWS.split(";")):
            connection.exec_driver_sql(statement)
        connection.exec_driver_sql("DELETE FROM record WHERE id = 1")  # foreign keys are off on a plain SQLite connection
    upgrade(engine, lock_file=tmp_path / "lock")
    assert schema_differences(engine) == []
    with engine.connect() as connection:
        assert connection.exec_driver_sql("SELECT record_id FROM record_term ORDER BY record_id").scalars().all() == [1, 2, 3, 4]

    with engine.connect() as connection:
        connection.exec_driver_sql("PRAGMA foreign_keys=OFF")  # as while migrating
        connection.commit()
        with pytest.raises(SchemaError, match=r"1 in record_leaf \(to record\), 1 in record_term \(to record\)"):
            with connection.begin(), _no_new_dangling_keys(connection):
                connection.exec_driver_sql("DELETE FROM record WHERE id = 2")
        connection.exec_driver_sql("PRAGMA foreign_keys=ON")
        connection.commit()
    with Session(engine) as session:
        assert session.get(Record, 2) is not None


@pytest.mark.parametrize("example", ["Example_9.6.1-ObjectEvent.jsonld", "Example-Type-sourceOrDestination,measurement,bizTransaction.jsonld"])
def test_event_terms_are_added_to_stored_events_so_their_rows_still_check(settings, tmp_path, example):
    """0005 derives the ``event_id``, ``action``, ``source`` and ``destination`` terms of events stored
    before it, as capture derives them now."""
    from support import DATA
    from support.records import store_events

    from service.verify.integrity import Derivations, stored_terms

    document = json.loads((DATA / "epcis" / "examples" / example).read_text())
    engine = create_engine(settings.database_url)
    try:
        with Session(engine) as session:
            ids = [stored.record.id for stored in store_events(session, document=document, party="farm")]
            session.commit()
        downgrade(engine, revision="0004", lock_file=tmp_path / "lock")
        upgrade(engine, lock_file=tmp_path / "lock")
        with Session(engine) as session:
            terms = stored_terms(session, ids)
            records = [session.get(Record, record_id) for record_id in ids]
            new = {name for record_id in ids for name, _ in terms[record_id]} & {"event_id", "action", "source", "destination"}
            assert new == ({"event_id", "action"} if "9.6.1" in example else {"event_id", "action", "source", "destination"})
            derivations = Derivations()
            for record in records:
                derivations.checked_content_hash(record, terms[record.id])  # RowMismatch if a term were missing
    finally:
        engine.dispose()


def test_capture_jobs_come_and_go_with_0006(engine, tmp_path):
    """0006 adds ``capture_job`` (exactly the model's table) and its downgrade removes it, leaving 0005's schema."""
    upgrade(engine, lock_file=tmp_path / "lock")
    with Session(engine) as session:
        session.add(CaptureJob(capture_id="c1", party="farm", error_behaviour="rollback", document=b"{}"))
        session.commit()
    downgrade(engine, revision="0005", lock_file=tmp_path / "lock")
    assert "capture_job" not in inspect(engine).get_table_names()
    assert {diff[0] for diff in schema_differences(engine)} == {"add_table", "add_index"}
    upgrade(engine, lock_file=tmp_path / "lock")
    assert schema_differences(engine) == []
    with Session(engine) as session:
        assert session.exec(select(CaptureJob)).all() == []


def test_class_quantity_and_sensor_terms_are_derived_for_stored_events_by_0008(settings, tmp_path):
    """0008 splits ``epc_class`` by role and derives the quantity, transformation, persistent disposition
    and sensor terms of events stored before it: they are found by the new parameters and still check;
    its downgrade gives back 0007's terms (one ``epc_class`` for every quantity list)."""
    from support import DATA
    from support.records import store_events

    from service.access.viewer import Viewer
    from service.read.pagination import PageTokens
    from service.read.parameters import parse_event_query
    from service.read.queries import query_events
    from service.verify.integrity import Derivations, stored_terms

    examples = DATA / "epcis" / "examples" / "WithFullCombinationOfFields"
    engine = create_engine(settings.database_url)
    try:
        with Session(engine) as session:
            ids = [stored.record.id for name in ("transformation_event_all_possible_fields.jsonld", "object_event_all_possible_fields.jsonld")
                   for stored in store_events(session, document=json.loads((examples / name).read_text()), party="farm")]
            session.commit()
        transformation, _ = ids
        downgrade(engine, revision="0007", lock_file=tmp_path / "lock")
        with Session(engine) as session:
            old = stored_terms(session, ids)[transformation]
        assert ("epc_class", "https://id.gs1.org/01/04012345111118/10/4444") in old
        assert not {name for name, _ in old} & {"input_class", "output_class", "quantity", "sensor_type", "transformation_id"}
        upgrade(engine, lock_file=tmp_path / "lock")
        with Session(engine) as session:
            terms = stored_terms(session, ids)
            derivations = Derivations()
            for record_id in ids:
                derivations.checked_content_hash(session.get(Record, record_id), terms[record_id])  # RowMismatch if a term were off
            for params, expected in (({"MATCH_inputEPCClass": "urn:epc:class:lgtin:4012345.011111.4444"}, [transformation]),
                                     ({"MATCH_epcClass": "urn:epc:class:lgtin:4012345.011111.4444"}, []),
                                     ({"GT_quantity": "200"}, [transformation]),
                                     ({"EQ_transformationID": "urn:epc:id:gdti:0614141.12345.400"}, [transformation]),
                                     ({"EQ_persistentDisposition_set": "completeness_verified", "GE_value_CEL": "26"}, ids),
                                     ({"EQ_type": "Temperature", "EQ_deviceID": "urn:epc:id:giai:4000001.111"}, ids)):
                page = query_events(session, query=parse_event_query(params), viewer=Viewer(party="farm"), tokens=PageTokens(b"k"))
                assert sorted(record.id for record in page.items) == sorted(expected), params
    finally:
        engine.dispose()


def test_0008_derives_its_terms_as_indexing_does_for_every_gs1_example():
    """0008 keeps its own copy of the derivation; at its revision it must agree with indexing on every example event."""
    import importlib

    from support import DATA

    from service.ingest.indexing import event_terms

    migration = importlib.import_module("service.migrations.versions.0008_quantity_and_sensor_terms")
    compared = 0
    for path in sorted((DATA / "epcis" / "examples").rglob("*.jsonld")):
        document = json.loads(path.read_text())
        body = document.get("epcisBody", {})
        for event in body.get("eventList") or body.get("queryResults", {}).get("resultsBody", {}).get("eventList") or []:
            expected = {(str(name), value) for name, value in event_terms(event) if name in migration._NAMES}
            assert migration._new_terms(json.dumps(event)) == expected, path.name
            compared += bool(expected)
    assert compared > 20


def test_source_documents_come_and_go_with_0010(engine, tmp_path):
    """0010 adds ``source_document``, ``record_source`` and ``capture_job.media_type`` (exactly the models');
    its downgrade removes them and keeps the capture jobs."""
    from service.models import RecordSource, SourceDocument

    upgrade(engine, lock_file=tmp_path / "lock")
    with Session(engine) as session:
        session.add(CaptureJob(capture_id="c1", party="farm", error_behaviour="rollback", document=b"<x/>", media_type="text/xml"))
        session.add(SourceDocument(party="farm", media_type="text/xml", sha256="0" * 64, content=b"<x/>"))
        session.commit()
    downgrade(engine, revision="0007", lock_file=tmp_path / "lock")
    tables = inspect(engine).get_table_names()
    assert "source_document" not in tables and "record_source" not in tables
    assert "media_type" not in {column["name"] for column in inspect(engine).get_columns("capture_job")}
    upgrade(engine, lock_file=tmp_path / "lock")
    assert schema_differences(engine) == []
    with Session(engine) as session:
        assert session.exec(select(SourceDocument)).all() == [] and session.exec(select(RecordSource)).all() == []
        [job] = session.exec(select(CaptureJob)).all()
        assert job.capture_id == "c1" and job.media_type is None


def test_signed_submissions_come_and_go_with_0011(engine, tmp_path):
    """0011 adds ``signed_submission``, ``record_signature`` and ``capture_job.signature`` (exactly the
    models'); its downgrade removes them, and the signing-key records the older release cannot read."""
    from service.ingest.candidates import candidate
    from service.ingest.records import store_candidates
    from service.models import Record, RecordKind, SignedSubmission

    upgrade(engine, lock_file=tmp_path / "lock")
    with Session(engine) as session:
        body = {"party": "farm", "key": "0x" + "11" * 20, "revoked_at": "2026-12-01T00:00:00Z"}
        store_candidates(session, candidates=[candidate(RecordKind.SIGNING_KEY, body, field="key")], party="farm")
        session.add(SignedSubmission(party="farm", signer="0x" + "11" * 20, signature="0x" + "22" * 65, typed_data="{}",
                                     root="0x" + "33" * 32, count=1, content_hashes=["0x" + "44" * 32]))
        session.add(CaptureJob(capture_id="c1", party="farm", error_behaviour="rollback", document=b"{}", signature={"signer": "x"}))
        session.commit()
    downgrade(engine, revision="0010", lock_file=tmp_path / "lock")
    tables = inspect(engine).get_table_names()
    assert "signed_submission" not in tables and "record_signature" not in tables
    assert "signature" not in {column["name"] for column in inspect(engine).get_columns("capture_job")}
    upgrade(engine, lock_file=tmp_path / "lock")
    assert schema_differences(engine) == []
    with Session(engine) as session:
        assert session.exec(select(SignedSubmission)).all() == [] and session.exec(select(Record)).all() == []
        [job] = session.exec(select(CaptureJob)).all()
        assert job.capture_id == "c1" and job.signature is None


def test_signed_submissions_keep_their_leaves_from_0013(engine, tmp_path):
    """0013 gives each signed submission the content hashes of its records, in position order, from the
    records still there (none left: an empty list); its downgrade drops the column."""
    from service.ingest.candidates import candidate
    from service.ingest.records import store_candidates
    from service.ingest.validation.transactions import ORDER_EXAMPLE
    from service.models import RecordKind, SignedSubmission

    upgrade(engine, lock_file=tmp_path / "lock")
    downgrade(engine, revision="0012", lock_file=tmp_path / "lock")
    with Session(engine) as session:
        bodies = [{**ORDER_EXAMPLE, "id": f"PO-{n}"} for n in range(2)]
        stored = store_candidates(session, candidates=[candidate(RecordKind.TRANSACTION, body, field="id") for body in bodies], party="farm")
        session.commit()
        connection = session.connection()
        for submission_id in (1, 2):
            connection.exec_driver_sql(
                "INSERT INTO signed_submission (id, party, signer, signature, typed_data, root, count, received_at) "
                f"VALUES ({submission_id}, 'farm', '0x{'11' * 20}', '0x{'22' * 65}', '{{}}', '0x{'33' * 32}', 2, '2026-12-01 00:00:00')")
        connection.exec_driver_sql(f"INSERT INTO record_signature (submission_id, position, record_id) VALUES "
                                   f"(1, 0, {stored[1].record.id}), (1, 1, {stored[0].record.id})")
        session.commit()
    upgrade(engine, lock_file=tmp_path / "lock")
    with Session(engine) as session:
        leaves = {signed.id: signed.content_hashes for signed in session.exec(select(SignedSubmission))}
        hashes = {item.record.id: session.get(Record, item.record.id).content_hash for item in stored}
    assert leaves == {1: [hashes[stored[1].record.id], hashes[stored[0].record.id]], 2: []}
    assert schema_differences(engine) == []


def test_receipts_come_and_go_with_0012(engine, tmp_path):
    """0012 adds ``receipt`` (exactly the model's, its JSON lists read back as lists); its downgrade removes it."""
    from service.models import Receipt

    upgrade(engine, lock_file=tmp_path / "lock")
    with Session(engine) as session:
        session.add(Receipt(party="farm", root="0x" + "11" * 32, count=2, received_at=1, anchor_by=2**40, chain_id=2**40,
                            contract="0x" + "22" * 20, signer="0x" + "33" * 20, signature="0x" + "44" * 65, record_ids=[7, 9],
                            content_hashes=["0x" + "55" * 32, "0x" + "66" * 32]))
        session.commit()
        [receipt] = session.exec(select(Receipt)).all()
        assert (receipt.record_ids, receipt.anchor_by, receipt.chain_id) == ([7, 9], 2**40, 2**40)
    downgrade(engine, revision="0011", lock_file=tmp_path / "lock")
    assert "receipt" not in inspect(engine).get_table_names()
    upgrade(engine, lock_file=tmp_path / "lock")
    assert schema_differences(engine) == []
