"""The command line, end to end: hash, anchor, audit, demo with exported bundles, offline verify, deploy."""

import json
import os
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from support import DATA

from service.cli import main

ROOT = Path(__file__).resolve().parents[1]


def test_hash_prints_one_hash_id_per_event_in_document_order(capsys):
    vector = DATA / "epcis" / "hash-vectors" / "ReferenceEventHashAlgorithm.jsonld"
    assert main(["hash", str(vector)]) == 0
    expected = vector.with_suffix(".hashes").read_text().split()
    assert capsys.readouterr().out.split() == expected


def test_hash_reads_xml_documents_too(capsys):
    vector = DATA / "epcis" / "hash-vectors" / "epcisDocWithVariousEventTypes.xml"
    assert main(["hash", str(vector)]) == 0
    assert capsys.readouterr().out.split() == vector.with_suffix(".hashes").read_text().split()


EXAMPLES = DATA / "epcis" / "examples"
CONVERTED = ["Example_9.6.1-ObjectEvent.jsonld", "EPCISQueryDocument.jsonld", "PersistentDisposition-example.jsonld",
             "WithFullCombinationOfFields/transformation_event_all_possible_fields.jsonld",
             "WithSensorData/SensorDataExample1.jsonld", "AssociationEvent/AssociationEvent-a.jsonld"]


@pytest.mark.parametrize("name", CONVERTED)
def test_convert_writes_xsd_valid_xml_that_hashes_like_the_json(tmp_path, capsys, name):
    from lxml import etree
    from test_xml_answers import DOCUMENT_SCHEMA, QUERY_SCHEMA, _as_document, _oracle_hashes

    source = EXAMPLES / name
    assert main(["convert", str(source), str(tmp_path / "out.xml")]) == 0
    written = (tmp_path / "out.xml").read_bytes()
    root = etree.fromstring(written)
    schema = QUERY_SCHEMA if root.tag.endswith("}EPCISQueryDocument") else DOCUMENT_SCHEMA
    assert schema.validate(root), schema.error_log
    assert main(["hash", str(source)]) == 0
    json_hashes = capsys.readouterr().out.split()
    assert main(["convert", str(_write(tmp_path / "flat.json", json.dumps(_as_document(json.loads(source.read_bytes()))).encode())),
                 "-", "--to", "xml"]) == 0
    assert _oracle_hashes(capsys.readouterr().out.encode()) == json_hashes


def test_convert_names_the_output_syntax_and_refuses_what_capture_would(tmp_path, capsys):
    source = EXAMPLES / "Example_9.6.1-ObjectEvent.jsonld"
    assert main(["convert", str(source), str(tmp_path / "out.txt")]) == 2
    assert "--to" in capsys.readouterr().err
    assert main(["convert", str(source), str(tmp_path / "out.txt"), "--to", "xml"]) == 0
    assert (tmp_path / "out.txt").read_bytes().startswith(b"<?xml")
    bad = _write(tmp_path / "bad.json", b'{"type": "EPCISDocument", "epcisBody": {"eventList": [{"type": "ObjectEvent"}]}}')
    assert main(["convert", str(bad), str(tmp_path / "bad.xml")]) == 2
    error = capsys.readouterr().err
    assert error.startswith(f"error: {bad}: ") and error.count("\n") == 1
    assert not (tmp_path / "bad.xml").exists()


@pytest.mark.parametrize("name", CONVERTED)
def test_convert_both_ways_and_hash_xml_keep_the_hash_ids(tmp_path, capsys, name):
    """JSON-LD -> XML -> JSON-LD, and ``hash`` of the XML: the hash IDs of the JSON input."""
    source = EXAMPLES / name
    assert main(["hash", str(source)]) == 0
    expected = capsys.readouterr().out.split()
    assert main(["convert", str(source), str(tmp_path / "doc.xml")]) == 0
    assert main(["hash", str(tmp_path / "doc.xml")]) == 0
    assert capsys.readouterr().out.split() == expected
    assert main(["convert", str(tmp_path / "doc.xml"), str(tmp_path / "back.jsonld")]) == 0
    assert main(["hash", str(tmp_path / "back.jsonld")]) == 0
    assert capsys.readouterr().out.split() == expected


@pytest.fixture
def bare_env(monkeypatch, tmp_path):
    """The environment of a fresh installation: a data directory of its own, no database yet."""
    monkeypatch.setenv("TRACEANCHOR_DATA_DIR", str(tmp_path / "data"))
    for name in ("TRACEANCHOR_DATABASE_URL", "TRACEANCHOR_CHAIN_URL", "TRACEANCHOR_CONTRACT_ADDRESS", "TRACEANCHOR_PRIVATE_KEY"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


@pytest.fixture
def env(bare_env):
    """A fresh installation after `traceanchor migrate`."""
    from service.db import migrate
    from service.settings import Settings

    migrate(Settings())
    return bare_env


@pytest.mark.parametrize("argv", [["keys", "list"], ["anchor"], ["audit"]])
def test_commands_on_an_unmigrated_database_say_to_migrate_and_change_nothing(bare_env, tmp_path, capsys, argv):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no traceanchor schema yet: run `traceanchor migrate`" in err, err
    with sqlite3.connect(tmp_path / "data" / "traceanchor.db") as connection:
        assert connection.execute("SELECT name FROM sqlite_master").fetchall() == [], "opening must not migrate"
    assert main(["migrate"]) == 0
    assert "is at this release's schema" in capsys.readouterr().out
    assert main(["keys", "list"]) == 0
    assert main(["migrate"]) == 0, "migrating a migrated database changes nothing and succeeds"


def test_commands_on_a_database_of_an_older_release_say_to_migrate(env, capsys):
    from sqlalchemy import text

    from service.db import make_engine
    from service.settings import Settings

    engine = make_engine(Settings())
    with engine.begin() as connection:  # as a database last migrated by a release one revision older
        connection.execute(text("UPDATE alembic_version SET version_num = '0001'"))
    engine.dispose()
    assert main(["keys", "list"]) == 2
    assert "at revision 0001, this release needs" in capsys.readouterr().err


def test_demo_on_the_embedded_chain_exports_valid_bundles(env, tmp_path, capsys):
    assert main(["demo", "--export", str(tmp_path / "proofs")]) == 0
    out = capsys.readouterr().out
    assert "tampered" in out and "Demo passed" in out
    bundles = sorted((tmp_path / "proofs").glob("*.json"))
    assert len(bundles) == 10  # 8 events and 2 transactions
    assert all(json.loads(path.read_text())["proof"] is not None for path in bundles)


def _without_run_details(output: str) -> str:
    """Demo output less what differs between runs: hashes, serial numbers, ports, capture job ids, tree positions, a receipt's anchorBy, and gas
    (salted roots differ per run, and calldata costs more for non-zero bytes)."""
    output = re.sub(r"0x[0-9a-fA-F]+|sha-256;[0-9a-f]+|\d{12,}|127\.0\.0\.1:\d+|\d+ gas|/epcis/capture/[0-9a-f]+", "#", output)
    output = re.sub(r"anchor by \S+", "anchor by #", output)
    return re.sub(r"(proof of|tree position) \d+", r"\1 #", output)


@pytest.mark.slow
def test_the_demo_twice_in_a_row_shows_the_same_and_no_warning(tmp_path):
    """As `make demo` twice: the default data dir, a fresh process each time."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("TRACEANCHOR_")} | {"PYTHONPATH": str(ROOT)}
    runs = [subprocess.run([sys.executable, "-m", "service.cli", "demo"], cwd=tmp_path, env=env, capture_output=True, text=True,
                           timeout=300) for _ in range(2)]
    for run in runs:
        assert run.returncode == 0 and run.stderr == "", run.stderr
    first, second = (_without_run_details(run.stdout) for run in runs)
    assert first == second
    assert first.startswith("traceanchor at http://#: database sqlite")
    record_ids = [int(n) for n in re.findall(r"^   record +(\d+)  ", runs[1].stdout, re.MULTILINE)]
    assert record_ids == list(range(1, 11)), "ids in order, and the second run starts afresh"
    assert "batch 1: tampered: 2 records no longer match their leaves; 1 anchored record is gone" in second
    assert second.count("36 verified sales") == 3 and "80 % interval" in second and "95 % interval" in second
    assert "reads declared erroneous: reason incorrect_data" in second and "EQ_correctiveEventID=...: 1 event" in second
    assert "the webhook got an EPCISQueryDocument: 1 event, receiving, GS1-Signature checks: True" in second
    assert "unsigned: refused" in second and "receipt and its 3 bundles: in_time (3 anchored by anchorBy, 0 missing)" in second
    assert "its receipt and the 2 bundles left: missing (1 missing, 0 anchored after anchorBy)" in second
    assert (tmp_path / ".traceanchor" / "demo" / "traceanchor.db").is_file()


def test_the_demo_empties_only_a_directory_it_made(env, tmp_path, capsys):
    (tmp_path / "data" / "demo").mkdir(parents=True)
    (tmp_path / "data" / "demo" / "precious.txt").write_text("mine")
    assert main(["demo"]) == 2
    assert "was not made by the demo" in capsys.readouterr().err
    assert (tmp_path / "data" / "demo" / "precious.txt").read_text() == "mine"


def test_anchor_command_anchors_pending_records(env, capsys):
    from support.records import fill
    from service.runtime import Runtime

    ledger = Runtime()
    fill(ledger, 3)
    ledger.close()
    assert main(["anchor"]) == 0
    assert "anchored batch 1" in capsys.readouterr().out


def test_anchor_follow_anchors_as_records_arrive_and_stops_on_sigterm(env, tmp_path):
    import signal
    import subprocess
    import sys
    import time

    from support.records import fill
    from service.anchor.anchoring import pending_record_count
    from service.runtime import Runtime

    env.setenv("TRACEANCHOR_BATCH_AGE", "0.1")
    env.setenv("TRACEANCHOR_ANCHOR_INTERVAL", "0.1")
    follower = subprocess.Popen([sys.executable, "-m", "service.cli", "anchor", "--follow"])
    ledger = Runtime()  # stores records only: the follower owns the embedded chain
    try:
        for round_ in range(2):
            fill(ledger, 3, start=3 * round_)
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                with ledger.session() as session:
                    if pending_record_count(session) == 0 and ledger.anchoring.unfinished_batches() == 0:
                        break
                time.sleep(0.1)
            else:
                pytest.fail(f"round {round_}: records not anchored within 30 s")
        follower.send_signal(signal.SIGTERM)
        assert follower.wait(timeout=10) == 0
    finally:
        follower.kill()
        ledger.close()


def test_audit_command_finds_a_deleted_record_and_exits_1(env, tmp_path, capsys):
    from sqlalchemy import text

    from support.records import fill
    from service.db import make_engine
    from service.runtime import Runtime
    from service.settings import Settings

    for start, anchor in ((0, True), (4, True), (8, False)):  # two anchored batches, one record left pending
        ledger = Runtime()
        fill(ledger, 4 if anchor else 1, start=start)
        ledger.close()
        assert not anchor or main(["anchor"]) == 0
    assert main(["audit"]) == 0
    assert "2 batches audited: 2 complete" in capsys.readouterr().out

    engine = make_engine(Settings())
    with engine.begin() as connection:
        victim = connection.execute(text("SELECT record_id FROM record_leaf WHERE batch_id = 2 AND tree_index = 4")).scalar_one()
        for table, column in (("record_term", "record_id"), ("record_leaf", "record_id"), ("record", "id")):
            connection.execute(text(f"DELETE FROM {table} WHERE {column} = :id"), {"id": victim})
    engine.dispose()
    output = tmp_path / "audits.json"
    assert main(["audit", "--output", str(output)]) == 1
    printed = capsys.readouterr().out
    assert "batch 2: incomplete: 1 anchored record is gone" in printed and "tree position 4" in printed
    assert "2 batches audited: 1 complete, 1 incomplete" in printed
    audits = json.loads(output.read_text())
    assert [a["status"] for a in audits] == ["complete", "incomplete"] and audits[1]["missing_leaves"][0]["tree_index"] == 4
    assert main(["audit", "--batch", "1"]) == 0


@pytest.mark.anvil
def test_demo_on_anvil_then_verify_offline_and_catch_a_doctored_bundle(env, anvil_url, tmp_path, capsys):
    env.setenv("TRACEANCHOR_CHAIN_URL", anvil_url)
    assert main(["demo", "--export", str(tmp_path / "proofs")]) == 0
    bundle_path = sorted((tmp_path / "proofs").glob("*.json"))[0]
    capsys.readouterr()
    assert main(["verify", str(bundle_path), "--rpc", anvil_url]) == 0
    assert capsys.readouterr().out.strip().endswith("VALID")
    bundle = json.loads(bundle_path.read_text())
    assert main(["verify", str(bundle_path), "--rpc", anvil_url, "--contract", bundle["contract"]]) == 0
    assert main(["deploy", "--rpc", anvil_url]) == 0
    other = capsys.readouterr().out.strip().splitlines()[-1]
    assert main(["verify", str(bundle_path), "--rpc", anvil_url, "--contract", other]) == 1
    assert "FAIL trusted_contract" in capsys.readouterr().out
    bundle["record"]["eventTime"] = "2020-01-01T00:00:00Z"
    bundle_path.write_text(json.dumps(bundle))
    assert main(["verify", str(bundle_path), "--rpc", anvil_url]) == 1
    assert capsys.readouterr().out.strip().endswith("INVALID")


def test_anchorers_are_granted_listed_and_revoked_by_the_admin_only(env, capsys):
    admin, other = "0x7E5F4552091A69125d5DfCb7b8C2659029395Bdf", "0x2B5AD5c4795c026514f8317c7a215E218DcCD6cF"  # keys 1, 2
    assert main(["anchorers", "list"]) == 0
    assert capsys.readouterr().out.split() == [admin]  # the embedded chain's first key deployed the contract
    assert main(["anchorers", "grant", other.lower()]) == 0
    assert capsys.readouterr().out.startswith(f"{other} may anchor on TraceAnchor 0x")
    assert main(["anchorers", "list"]) == 0
    assert capsys.readouterr().out.split() == [admin, other]
    env.setenv("TRACEANCHOR_PRIVATE_KEY", "0x" + "00" * 31 + "02")  # an anchorer, not the admin
    assert main(["anchorers", "revoke", admin]) == 2
    assert "AccessControlUnauthorizedAccount" in capsys.readouterr().err
    env.delenv("TRACEANCHOR_PRIVATE_KEY")
    assert main(["anchorers", "revoke", other]) == 0
    assert capsys.readouterr().out.startswith(f"{other} may no longer anchor")
    assert main(["anchorers", "list"]) == 0
    assert capsys.readouterr().out.split() == [admin]


@pytest.mark.anvil
def test_deploy_prints_a_contract_address(env, anvil_url, capsys):
    assert main(["deploy", "--rpc", anvil_url]) == 0
    address = capsys.readouterr().out.strip().splitlines()[-1]
    assert address.startswith("0x") and len(address) == 42


def test_forecast_all_skus_in_parallel(env, tmp_path, capsys):
    from service.runtime import Runtime
    from support.records import store_transactions

    ledger = Runtime()
    sales = [
        {"id": f"urn:x:sale-{sku}-{t}", "kind": "sale", "timestamp": f"{2024 + t // 12}-{t % 12 + 1:02d}-10T09:00:00Z",
         "seller": "shop", "buyer": "consumer", "currency": "EUR",
         "lines": [{"sku": sku, "quantity": 10 + (t * k) % 7, "unit_price": "1.00"}], "total": f"{10 + (t * k) % 7}.00",
         "references": []}
        for k, sku in enumerate(["SKU-1", "SKU-2"], start=2) for t in range(24)
    ]
    with ledger.session() as session:
        store_transactions(session, transactions=sales, party="shop")
    ledger.close()
    assert main(["anchor"]) == 0
    output = tmp_path / "forecasts.json"
    assert main(["forecast", "--all", "--freq", "M", "--horizon", "3", "--workers", "2", "--output", str(output)]) == 0
    printed = capsys.readouterr().out
    assert "SKU-1" in printed and "SKU-2" in printed
    results = json.loads(output.read_text())
    assert sorted(results) == ["SKU-1", "SKU-2"]
    assert all(r["records_used"] == 24 and len(r["forecast"]) == 3 for r in results.values())


@pytest.fixture
def bundle_file(env, tmp_path):
    """A proof bundle of an anchored payment, written to a file; the embedded chain is no node to ask."""
    from support.records import fill
    from service.runtime import Runtime
    from service.models import Record
    from service.verify.verification import proof_bundle

    ledger = Runtime()
    try:
        (record_id,) = fill(ledger, 1)
        ledger.anchoring.anchor_now()
        with ledger.session() as session:
            bundle = proof_bundle(session, ledger.chain, session.get(Record, record_id)).as_json()
    finally:
        ledger.close()
    path = tmp_path / "bundle.json"
    path.write_text(json.dumps(bundle))
    return path


def test_verify_without_a_node_runs_every_offline_check_and_exits_2(bundle_file, capsys):
    from support.servers import free_loopback_port

    assert main(["verify", str(bundle_file), "--rpc", f"http://127.0.0.1:{free_loopback_port()}"]) == 2
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(":")[0] for line in lines[:5]] == ["ok   fields", "ok   content_hash", "ok   leaf", "ok   proof", "--   chain"]
    assert "Connection refused" in lines[4] and lines[-1].startswith("NOT CHECKED") and "Traceback" not in "\n".join(lines)


def test_verify_without_a_node_still_finds_a_doctored_bundle_invalid(bundle_file, capsys):
    from support.servers import free_loopback_port

    bundle = json.loads(bundle_file.read_text())
    bundle["record"]["total"] = "1000.00"
    bundle_file.write_text(json.dumps(bundle))
    assert main(["verify", str(bundle_file), "--rpc", f"http://127.0.0.1:{free_loopback_port()}"]) == 1
    printed = capsys.readouterr().out
    assert "FAIL content_hash" in printed and printed.strip().endswith("INVALID")


def _write(path, content: bytes):
    path.write_bytes(content)
    return path


@pytest.mark.parametrize(
    "argv, env_vars, expected",
    [
        (lambda tmp: ["verify", str(tmp / "missing.json"), "--rpc", "http://127.0.0.1:1"], {}, "missing.json: No such file or directory"),
        (lambda tmp: ["verify", str(_write(tmp / "b.json", b"{oops")), "--rpc", "http://127.0.0.1:1"], {}, "b.json: not a JSON file"),
        (lambda tmp: ["verify", str(_write(tmp / "b.json", b"\xff\xfe")), "--rpc", "http://127.0.0.1:1"], {}, "b.json: not a JSON file"),
        (lambda tmp: ["hash", str(tmp / "missing.json")], {}, "missing.json: No such file or directory"),
        (lambda tmp: ["hash", str(_write(tmp / "d.json", b'{"epcisBody": {"eventList": [{"type": "ObjectEvent"}]}}'))], {},
         "d.json: eventTime: missing"),
        (lambda tmp: ["keys", "list"], {"TRACEANCHOR_DATABASE_URL": "postgresql+psycopg://postgres:s3cret@127.0.0.1:1/test"},
         "database postgresql+psycopg://postgres:***@127.0.0.1:1/test: connection failed"),
        (lambda tmp: ["audit"], {"TRACEANCHOR_DATABASE_URL": "nonsense"}, "Could not parse SQLAlchemy URL"),
        (lambda tmp: ["keys", "create", "--role", "admin", "--party", "ops"], {"TRACEANCHOR_BATCH_SIZE": "many"},
         "configuration: TRACEANCHOR_BATCH_SIZE: Input should be a valid integer"),
        (lambda tmp: ["audit"], {"TRACEANCHOR_CHAIN_URL": "http://127.0.0.1:1"}, "chain node unreachable"),
        (lambda tmp: ["anchor"], {"TRACEANCHOR_CHAIN_URL": "http://127.0.0.1:1"}, "chain node unreachable"),
    ],
    ids=["missing bundle", "bundle not JSON", "bundle not text", "missing document", "not a document", "database down",
         "bad database URL", "bad setting", "audit, chain down", "anchor, chain down"],
)
def test_operational_errors_are_one_line_on_stderr_and_exit_2(env, tmp_path, capsys, argv, env_vars, expected):
    from support.records import fill
    from service.runtime import Runtime

    ledger = Runtime()  # something to audit and anchor, so that the chain is needed
    fill(ledger, 1)
    ledger.close()
    for name, value in env_vars.items():
        env.setenv(name, value)
    assert main(argv(tmp_path)) == 2
    captured = capsys.readouterr()
    assert captured.err.count("\n") == 1 and captured.err.startswith("error: ") and expected in captured.err, captured.err
    assert "s3cret" not in captured.err


@pytest.mark.anvil
def test_verify_with_a_node_of_another_chain_cannot_check_and_exits_2(bundle_file, anvil_url, capsys):
    assert main(["verify", str(bundle_file), "--rpc", anvil_url]) == 2  # the bundle's chain is an embedded one
    printed = capsys.readouterr().out
    assert "--   chain_id: not checked: the node is on chain" in printed and printed.splitlines()[-1].startswith("NOT CHECKED")
