"""The ``traceanchor`` command line: thin wrappers over the ledger library."""

import argparse
import gc
import json
import logging
import sys
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import ValidationError
from sqlalchemy.exc import SQLAlchemyError

from service.errors import InvalidRecord, TraceAnchorError
from service.models.api_key import Role
from service.ingest.validation.json_limits import sane_recursion_limit
from service.ingest.xml.parser import is_xml

if TYPE_CHECKING:
    from analytics.forecast import ForecastPoint

EXIT_OK, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2
EXIT_LATE, EXIT_MISSING, EXIT_NOT_DUE = 3, 4, 5  # verify-receipt's verdicts on the records of a valid receipt
EXIT_STATUSES = f"""exit status (every command):
  {EXIT_OK}  done: valid, intact, anchored
  {EXIT_FINDINGS}  findings: verify found the bundle invalid, audit found deleted or changed records,
     anchor left batches unanchored
  {EXIT_ERROR}  could not run or check: a bad argument or input file, the database or the chain
     unreachable (one line on stderr says what)
verify-receipt, for a valid receipt: {EXIT_OK} every record anchored by anchorBy, {EXIT_LATE} some anchored after it,
  {EXIT_MISSING} records without an anchored bundle after anchorBy (the operator did not anchor them),
  {EXIT_NOT_DUE} records not anchored yet, anchorBy still ahead"""


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``traceanchor`` console script; returns the exit status.

    Operational failures (configuration, database, chain, files) end as one line on stderr and
    exit status 2: an operator needs what went wrong and where, not a traceback.
    """
    parser = _parser()
    args = parser.parse_args(argv)
    sane_recursion_limit()  # before any command imports web3: a deep JSON file must not crash the process
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        return args.run(args)
    except (TraceAnchorError, SQLAlchemyError, ValidationError, OSError) as error:
        print(f"error: {_one_line(error)}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


def _one_line(error: Exception) -> str:
    """What went wrong, where, in one line."""
    if isinstance(error, TraceAnchorError):
        return error.message
    if isinstance(error, ValidationError):
        return "configuration: " + "; ".join(
            f"TRACEANCHOR_{'_'.join(map(str, e['loc'])).upper()}: {e['msg']}" for e in error.errors())
    if isinstance(error, SQLAlchemyError):
        return f"database {_database()}: {_first_line(getattr(error, 'orig', None) or error)}"
    if isinstance(error, OSError) and error.filename is not None:
        return f"{error.filename}: {error.strerror}"
    return _first_line(error)


def _first_line(error: BaseException) -> str:
    lines = str(error).strip().splitlines()
    return lines[0] if lines else type(error).__name__


def _database() -> str:
    """The configured database URL, without its password."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    from service.settings import Settings

    try:
        return make_url(Settings().resolved_database_url).render_as_string(hide_password=True)
    except (ArgumentError, ValidationError):
        return "(unparsable TRACEANCHOR_DATABASE_URL)"


def _address(text: str) -> str:
    """An Ethereum address argument, checksummed; argparse names the option when it is not one."""
    from web3 import Web3

    try:
        return Web3.to_checksum_address(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"not an Ethereum address: {text!r}") from error


def _read_json(path: Path):
    """A JSON file's content; a file that is not JSON is a one-line error naming it."""
    try:
        return json.loads(path.read_bytes())
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise InvalidRecord(f"{path}: not a JSON file ({error})", field=str(path)) from None


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="traceanchor", description=__doc__, epilog=EXIT_STATUSES,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-v", "--verbose", action="store_true",
                        help="log what the ledger does (INFO; serve logs INFO anyway, and DEBUG with -v)")
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    hash_ = commands.add_parser("hash", help="print the CBV 2.0 event hash ID of each event of an EPCIS document (JSON-LD or XML)")
    hash_.add_argument("document", type=Path)
    hash_.set_defaults(run=_hash)

    sign = commands.add_parser(
        "sign", help="print the TraceAnchor-Signature header value of a document or a transaction list (signed as the service will check it)")
    sign.add_argument("document", type=Path, help="an EPCIS document or event (JSON-LD or XML), or a transaction or a JSON list of them")
    sign.add_argument("--key-file", type=Path, required=True, help="a file holding the signing key's private key (0x-hex)")
    sign.add_argument("--party", required=True, help="your party, as your API key names it")
    sign.add_argument("--chain-id", type=int, required=True, help="the chain of the service's TraceAnchor contract (GET /v1/health)")
    sign.add_argument("--contract", type=_address, required=True, help="the service's TraceAnchor contract address (GET /v1/health)")
    sign.set_defaults(run=_sign)

    convert = commands.add_parser(
        "convert", help="convert an EPCIS 2.0 document between JSON-LD and XML",
        description="Convert an EPCIS document (EPCIS 2.0 JSON-LD; EPCIS 2.0 or 1.2 XML) to EPCIS 2.0 XML or JSON-LD, "
                    "the events unchanged in meaning (the same hash IDs). The input's syntax is read from its content; "
                    "the output's from --to, else OUT's extension (.xml; .json, .jsonld). OUT '-' writes to stdout.")
    convert.add_argument("input", type=Path, metavar="IN")
    convert.add_argument("output", metavar="OUT")
    convert.add_argument("--to", choices=["xml", "json"], help="the output syntax (default: from OUT's extension)")
    convert.set_defaults(run=_convert)

    anchor = commands.add_parser("anchor", help="batch and anchor every pending record now")
    anchor.add_argument("--timeout", type=float, default=120.0, help="seconds to wait for confirmations")
    anchor.add_argument("--follow", action="store_true",
                        help="instead, run the anchoring loop until SIGTERM or Ctrl-C (for API workers started with "
                             "TRACEANCHOR_ANCHOR_IN_BACKGROUND=false)")
    anchor.set_defaults(run=_anchor)

    verify = commands.add_parser(
        "verify", help="check a proof bundle with nothing but an Ethereum node (exit 0 valid, 1 invalid, 2 could not check)",
        description="Check a proof bundle offline (fields, content hash, leaf, proof), then on chain. Exit 0 valid, 1 invalid, "
                    "2 could not check (the node unreachable or on another chain, or the file unreadable); without a node "
                    "every offline check still runs.")
    verify.add_argument("bundle", type=Path)
    verify.add_argument("--rpc", required=True, help="JSON-RPC URL of a node of the bundle's chain")
    verify.add_argument("--contract", metavar="ADDRESS", type=_address,
                        help="the TraceAnchor deployment you trust: the bundle must name it (default: any deployment "
                             "of a released TraceAnchor build)")
    verify.set_defaults(run=_verify)

    receipt = commands.add_parser(
        "verify-receipt", help="check an operator's receipt, and the proof bundles of its records, with an Ethereum node",
        description="Check a receipt's EIP-712 signature, that its signer holds ANCHORER_ROLE on the contract it names, "
                    "and that its content hashes rebuild its root; with --bundles, check each bundle and tell whether "
                    f"every record was anchored by anchorBy (exit {EXIT_OK}), some later ({EXIT_LATE}), some not at all "
                    f"although anchorBy has passed ({EXIT_MISSING}: evidence the operator received them and did not "
                    f"anchor them), or not yet with anchorBy ahead ({EXIT_NOT_DUE}); {EXIT_FINDINGS} invalid, "
                    f"{EXIT_ERROR} could not check.")
    receipt.add_argument("receipt", type=Path, help="the receipt object, or the whole capture answer holding it")
    receipt.add_argument("--rpc", required=True, help="JSON-RPC URL of a node of the receipt's chain")
    receipt.add_argument("--bundles", type=Path, metavar="DIR", help="a directory of the records' proof bundles (*.json)")
    receipt.set_defaults(run=_verify_receipt)

    audit = commands.add_parser("audit", help="audit anchored batches for deleted or changed records, and receipts past anchorBy for records "
                                   "not anchored (exit 0 all intact, 1 findings)")
    audit.add_argument("--batch", type=int, action="append", help="a batch id (repeatable; default: every batch)")
    audit.add_argument("--output", type=Path, help="write every audit as JSON to this file")
    audit.add_argument("--receipts-output", type=Path, help="write the receipts not honoured as JSON to this file")
    audit.set_defaults(run=_audit)

    deploy = commands.add_parser("deploy", help="deploy a new TraceAnchor contract and print its address")
    deploy.add_argument("--rpc", required=True, help="JSON-RPC URL of the node to deploy on")
    deploy.set_defaults(run=_deploy)

    migrate = commands.add_parser(
        "migrate", help="bring the database to this release's schema (every other command but serve and demo needs it done)",
        description="Create or upgrade the database's tables to this release's schema, keeping the data, one process "
                    "at a time. `serve` and the in-process demo do this at start; every other command refuses an "
                    "unmigrated database.")
    migrate.set_defaults(run=_migrate)

    serve = commands.add_parser("serve", help="migrate the database, then run the HTTP API and the background anchoring loop")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.set_defaults(run=_serve)

    keys = commands.add_parser("keys", help="manage API keys").add_subparsers(required=True, metavar="ACTION")
    create = keys.add_parser("create", help="create a key; prints it once, as the last line")
    create.add_argument("--role", required=True, choices=[role.value for role in Role])
    create.add_argument("--party", required=True)
    create.set_defaults(run=_keys_create)
    revoke = keys.add_parser("revoke", help="revoke a key by its id")
    revoke.add_argument("key_id", type=int)
    revoke.set_defaults(run=_keys_revoke)
    keys.add_parser("list", help="list keys (ids, roles, parties; never the keys)").set_defaults(run=_keys_list)

    anchorers = commands.add_parser(
        "anchorers", help="grant, revoke and list the accounts that may anchor on the configured contract",
        description="Rotate the anchoring key: grant the new key, point the service at it (TRACEANCHOR_PRIVATE_KEY), "
                    "revoke the old one. Granting and revoking are the contract admin's: run them with "
                    "TRACEANCHOR_PRIVATE_KEY set to the admin's key.",
    ).add_subparsers(required=True, metavar="ACTION")
    for action, help_text in (("grant", "let an account anchor"), ("revoke", "stop an account from anchoring")):
        command = anchorers.add_parser(action, help=help_text)
        command.add_argument("account", type=_address)
        command.set_defaults(run=_anchorers, action=action)
    anchorers.add_parser("list", help="the accounts that may anchor now").set_defaults(run=_anchorers, action="list")

    forecast = commands.add_parser("forecast", help="forecast verified demand per SKU (auto-ARIMA), in parallel")
    which = forecast.add_mutually_exclusive_group(required=True)
    which.add_argument("--sku", action="append", help="a SKU to forecast (repeatable)")
    which.add_argument("--all", action="store_true", help="every SKU with sales")
    forecast.add_argument("--location", help="only demand at this GLN or URI")
    forecast.add_argument("--freq", default="W", choices=["D", "W", "M", "Q", "Y"])
    forecast.add_argument("--horizon", type=int, default=8)
    forecast.add_argument("--workers", type=int, help="worker processes (default: one per core)")
    forecast.add_argument("--output", type=Path, help="write every forecast as JSON to this file")
    forecast.set_defaults(run=_forecast)

    demo = commands.add_parser(
        "demo", help="run the end-to-end supply-chain demo",
        description="Run the end-to-end demo. In process (the default) it starts afresh each run in its own data "
                    "directory, TRACEANCHOR_DATA_DIR/demo (emptied first; TRACEANCHOR_CHAIN_URL is honoured). With --url it "
                    "runs against a started server, whose database it must be able to edit: TRACEANCHOR_DATABASE_URL (or "
                    "TRACEANCHOR_DATA_DIR) must name the server's database.")
    demo.add_argument("--export", type=Path, help="write every exported proof bundle into this directory")
    demo.add_argument("--url", help="run against a started `traceanchor serve` at this URL (default: in process)")
    demo.add_argument("--admin-key", help="an admin API key of that server (required with --url)")
    demo.set_defaults(run=_demo)
    return parser


def _hash(args: argparse.Namespace) -> int:
    from service.hashing import HashingError, hash_document

    data = args.document.read_bytes()
    document = _read_xml(args.document, data) if is_xml(data) else _read_json(args.document)
    try:
        hash_ids = hash_document(document)
    except HashingError as error:
        raise InvalidRecord(f"{args.document}: {error}", field=str(args.document)) from None
    print("\n".join(hash_ids))
    return EXIT_OK


def _sign(args: argparse.Namespace) -> int:
    """Prepare the document exactly as capture does (the same validation and hashes, so the same root),
    then sign ``Submission(party, root, count)`` with the key."""
    from eth_account import Account
    from eth_account.messages import encode_typed_data

    from service.hashing.typed_data import domain
    from service.ingest.candidates import TRANSACTION_KINDS
    from service.ingest.capture import prepare_body, transaction_submission
    from service.ingest.validation.signatures import submission_message
    from service.settings import Settings

    data = args.document.read_bytes()
    payload = None if is_xml(data) else _read_json(args.document)
    settings = Settings()
    if isinstance(payload, list) or (isinstance(payload, dict) and payload.get("kind") in TRANSACTION_KINDS):
        candidates = transaction_submission(payload, party=args.party, max_items=settings.max_transactions).candidates
    else:
        candidates = prepare_body(data, max_events=settings.max_events, xml=payload is None).candidates
    try:
        account = Account.from_key(args.key_file.read_text(encoding="utf-8").strip())
    except (ValueError, UnicodeDecodeError) as error:
        raise InvalidRecord(f"{args.key_file}: no private key (0x and 64 hex digits): {error}", field="--key-file") from None
    message = submission_message(candidates, party=args.party, domain=domain(args.chain_id, args.contract))
    print("0x" + account.sign_message(encode_typed_data(full_message=message)).signature.hex().removeprefix("0x"))
    return EXIT_OK


_SYNTAX_OF_EXTENSION = {".xml": "xml", ".json": "json", ".jsonld": "json"}


def _convert(args: argparse.Namespace) -> int:
    """EPCIS JSON-LD to XML and back: a JSON input is checked against the EPCIS 2.0 JSON Schema
    first, so that what is written is a document capture would accept."""
    from service.ingest.validation.epcis import validate_document
    from service.read.xml import document_xml

    target = args.to or _SYNTAX_OF_EXTENSION.get(Path(args.output).suffix.lower())
    if target is None:
        raise InvalidRecord(f"{args.output}: say --to xml or --to json (the extension names neither)", field="--to")
    data = args.input.read_bytes()
    if is_xml(data):
        document = _read_xml(args.input, data)
    else:
        document = _read_json(args.input)
        try:
            validate_document(document, max_events=sys.maxsize)
        except InvalidRecord as error:
            raise InvalidRecord(f"{args.input}: {error.message}", field=error.field) from None
    written = document_xml(document, indent=True) if target == "xml" else (json.dumps(document, indent=2, ensure_ascii=False) + "\n").encode()
    if args.output == "-":
        sys.stdout.buffer.write(written)
        sys.stdout.flush()
    else:
        Path(args.output).write_bytes(written)
    return EXIT_OK


def _read_xml(path: Path, data: bytes) -> dict:
    """An EPCIS XML document (2.0, or 1.2 upgraded) as the EPCIS 2.0 JSON-LD document capture reads."""
    from service.ingest.xml.convert import xml_document

    try:
        return xml_document(data, max_events=sys.maxsize)  # a file here, not a request: no limit on its events
    except TraceAnchorError as error:
        raise InvalidRecord(f"{path}: {error.message}", field=error.field) from None


def _anchor(args: argparse.Namespace) -> int:
    from service.runtime import Runtime

    ledger = Runtime()
    try:
        if args.follow:
            _follow(ledger)
            return EXIT_OK
        for report in ledger.anchoring.anchor_now(timeout=args.timeout):
            for batch_id in report.closed:
                print(f"closed batch {batch_id}")
            for batch_id in report.anchored:
                print(f"anchored batch {batch_id}")
            for error in report.errors:
                print(f"error: {error}", file=sys.stderr)
        return EXIT_FINDINGS if ledger.anchoring.unfinished_batches() else EXIT_OK
    finally:
        ledger.close()


def _follow(ledger) -> None:
    """The anchoring loop of ``serve``, on its own: API workers then never share a GIL with it."""
    import signal
    import threading

    stop = threading.Event()
    for number in (signal.SIGTERM, signal.SIGINT):
        signal.signal(number, lambda *_: stop.set())
    ledger.anchoring.run(stop)


def _verify(args: argparse.Namespace) -> int:
    from web3 import Web3

    from service.verify.bundle import Verdict, check_bundle

    bundle = _read_json(args.bundle)
    w3 = Web3(Web3.HTTPProvider(args.rpc, request_kwargs={"timeout": 30}))
    result = check_bundle(bundle, w3=w3, contract=args.contract)
    print("\n".join(result.lines()))
    if result.verdict == Verdict.UNCHECKED:
        print(f"NOT CHECKED: the offline checks passed, but {args.rpc} could not check the chain part")
        return EXIT_ERROR
    print(result.verdict.upper())
    return EXIT_OK if result.verdict == Verdict.VALID else EXIT_FINDINGS


def _verify_receipt(args: argparse.Namespace) -> int:
    from web3 import Web3

    from service.verify.receipt_check import ReceiptVerdict, check_receipt, receipt_of

    receipt = receipt_of(_read_json(args.receipt))
    bundles = None
    if args.bundles is not None:
        if not args.bundles.is_dir():
            raise NotADirectoryError(20, "not a directory", str(args.bundles))
        bundles = [_read_json(path) for path in sorted(args.bundles.glob("*.json"))]
    w3 = Web3(Web3.HTTPProvider(args.rpc, request_kwargs={"timeout": 30}))
    result = check_receipt(receipt, w3=w3, bundles=bundles)
    print("\n".join(result.lines()))
    for label, hashes in (("late", result.late), ("missing", result.missing)):
        for content_hash in hashes:
            print(f"  {label}: record {content_hash}")
    verdict = result.receipt_verdict
    print(verdict.upper().replace("_", " "))
    return {ReceiptVerdict.IN_TIME: EXIT_OK, ReceiptVerdict.INVALID: EXIT_FINDINGS, ReceiptVerdict.UNCHECKED: EXIT_ERROR,
            ReceiptVerdict.LATE: EXIT_LATE, ReceiptVerdict.MISSING: EXIT_MISSING, ReceiptVerdict.NOT_DUE: EXIT_NOT_DUE}[verdict]


def _audit(args: argparse.Namespace) -> int:
    from collections import Counter

    import time

    from service.runtime import Runtime
    from service.timeutil import from_unix, iso_utc
    from service.verify.audit import BatchAuditStatus, audit_batches
    from service.verify.receipt_audit import audit_receipts

    intact = {BatchAuditStatus.COMPLETE, BatchAuditStatus.PENDING}
    ledger = Runtime()
    try:
        with ledger.session() as session:
            audits = list(audit_batches(session, ledger.chain, batch_ids=args.batch))
            overdue = [] if args.batch else list(audit_receipts(session, now=int(time.time())))
    finally:
        ledger.close()
    for receipt in overdue:
        print(f"receipt {receipt.receipt_id} of {receipt.party} (anchorBy {iso_utc(from_unix(receipt.anchor_by))}): {receipt.status}")
        for label, ids in (("gone or changed", receipt.missing), ("not anchored", receipt.unanchored), ("anchored late", receipt.late)):
            if ids:
                print(f"  records {label}: {', '.join(map(str, ids))}")
    for audit in audits:
        if audit.status not in intact:
            print(f"batch {audit.batch_id}: {audit.status}: {audit.reason}")
            for leaf in audit.missing_leaves:
                print(f"  missing: tree position {leaf.tree_index}, leaf {leaf.leaf}")
            if audit.tampered_records:
                print(f"  records no longer matching their leaves: {', '.join(map(str, audit.tampered_records))}")
    counts = Counter(audit.status.value for audit in audits)
    print(f"{len(audits)} {'batch' if len(audits) == 1 else 'batches'} audited: "
          + (", ".join(f"{n} {status}" for status, n in sorted(counts.items())) or "none"))
    if not args.batch:
        print(f"{len(overdue)} {'receipt' if len(overdue) == 1 else 'receipts'} not honoured (records gone, unanchored or late after anchorBy)")
    if args.output:
        args.output.write_text(json.dumps([audit.as_dict() for audit in audits], indent=2) + "\n")
    if args.receipts_output:
        args.receipts_output.write_text(json.dumps([receipt.as_dict() for receipt in overdue], indent=2) + "\n")
    return EXIT_OK if all(audit.status in intact for audit in audits) and not overdue else EXIT_FINDINGS


def _deploy(args: argparse.Namespace) -> int:
    from service.anchor.chain import Chain
    from service.settings import Settings

    settings = Settings()
    chain = Chain.connect(url=args.rpc, state_dir=settings.chain_state_path, private_key=settings.private_key)
    try:
        print(chain.deploy())
    finally:
        chain.close()
    return EXIT_OK


def _anchorers(args: argparse.Namespace) -> int:
    from service.runtime import Runtime

    ledger = Runtime()
    try:
        chain = ledger.chain
        where = f"TraceAnchor {chain.address} on chain {chain.chain_id}"
        if args.action == "grant":
            chain.grant_anchorer(args.account)
            print(f"{args.account} may anchor on {where}")
        elif args.action == "revoke":
            chain.revoke_anchorer(args.account)
            print(f"{args.account} may no longer anchor on {where}")
        else:
            print("\n".join(chain.anchorers()))
    finally:
        ledger.close()
    return EXIT_OK


def _migrate(args: argparse.Namespace) -> int:
    from service.db import migrate
    from service.settings import Settings

    migrate(Settings())
    print(f"database {_database()} is at this release's schema")
    return EXIT_OK


def _serve(args: argparse.Namespace) -> int:
    """Migrate, then the API under uvicorn. Logs go to stderr at INFO by default (DEBUG with -v):
    where it listens, one access line per request (service.api.access) and the anchoring passes.

    Serving is where an operator upgrades a release, so it migrates first (one process at a time);
    an unusable database is one line and exit 2 here, not a traceback at start-up."""
    import uvicorn

    from service.api.app import create_app
    from service.db import migrate
    from service.settings import Settings

    logging.getLogger("service").setLevel(logging.DEBUG if args.verbose else logging.INFO)
    settings = Settings()
    migrate(settings)
    app = create_app(settings)
    # The modules loaded by now (web3, py-evm, SQLAlchemy, numpy, ...) live as long as the process:
    # freezing them keeps the cyclic garbage collector from re-scanning them on every full
    # collection, which cost 12 % of the ingest time of 1,000-event documents.
    gc.freeze()
    server = uvicorn.Server(uvicorn.Config(
        app, host=args.host, port=args.port, log_config=None, access_log=False,  # our own access log has the request id
        log_level="debug" if args.verbose else "info",
    ))
    try:
        server.run()
    except SystemExit:  # uvicorn could not start (e.g. the port is taken) and logged why
        return EXIT_ERROR
    return EXIT_OK


def _keys_create(args: argparse.Namespace) -> int:
    from service.access.keys import create_key

    with _session() as session:
        key, token = create_key(session, role=Role(args.role), party=args.party)
        print(f"created key {key.id} for party {key.party!r} with role {key.role}; it is shown only once:")
    print(token)
    return EXIT_OK


def _keys_revoke(args: argparse.Namespace) -> int:
    from service.access.keys import revoke_key

    with _session() as session:
        key = revoke_key(session, key_id=args.key_id)
        print(f"revoked key {key.id} ({key.role}, {key.party})")
    return EXIT_OK


def _keys_list(args: argparse.Namespace) -> int:
    from service.access.keys import list_keys

    with _session() as session:
        for key in list_keys(session):
            state = f"revoked {key.revoked_at:%Y-%m-%d}" if key.revoked_at else "active"
            print(f"{key.id:>5}  {key.role:<9} {key.party:<30} {state}")
    return EXIT_OK


@contextmanager
def _session():
    """A committed session on the configured (migrated) database, without touching the chain."""
    from service.db import open_engine, session_scope
    from service.settings import Settings

    engine = open_engine(Settings())
    try:
        with session_scope(engine) as session:
            yield session
    finally:
        engine.dispose()


def _forecast(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from service.access.viewer import Viewer
    from service.insights.forecast import NoForecast, forecast_all
    from service.runtime import Runtime

    ledger = Runtime()
    try:
        with ledger.session() as session:
            with tqdm(total=0, unit="series", desc="forecasting", disable=None) as bar:

                def progress(done: int, total: int) -> None:
                    bar.total = total
                    bar.update(done - bar.n)

                results = forecast_all(  # the operator's command: every party's data, like an admin
                    session, ledger.chain, viewer=Viewer(party="operator", everything=True), skus=None if args.all else args.sku, location=args.location,
                    freq=args.freq, horizon=args.horizon, workers=args.workers, progress=progress,
                )
    finally:
        ledger.close()
    print(f"{'sku':<24} {'model':<34} {'used':>6} {'excl.':>6} {'sMAPE':>7} {'MASE':>6}  "
          f"{'next period':<11} {'mean':>8}  {'80 % interval':<20} 95 % interval")
    for sku, result in results.items():
        if isinstance(result, NoForecast):
            print(f"{sku:<24} {result.error}")
            continue
        first, backtest = result.forecast[0], result.backtest
        print(f"{sku:<24} {result.model:<34} {result.records_used:>6} {result.records_excluded.total:>6} "
              f"{_number(backtest.smape):>7.2f} {_number(backtest.mase):>6.2f}  "
              f"{first.period:<11} {first.mean:>8.1f}  {_interval(first, 80):<20} {_interval(first, 95)}")
    if args.output:
        args.output.write_text(json.dumps({sku: asdict(result) for sku, result in results.items()}, indent=2) + "\n")
    return EXIT_OK


def _number(value: float | None) -> float:
    return float("nan") if value is None else value


def _interval(point: "ForecastPoint", level: int) -> str:
    return f"[{getattr(point, f'lower_{level}'):.1f}, {getattr(point, f'upper_{level}'):.1f}]"


def _demo(args: argparse.Namespace) -> int:
    from service.demo.run import run_demo

    return run_demo(export_dir=args.export, url=args.url, admin_key=args.admin_key)


if __name__ == "__main__":
    sys.exit(main())
