"""The ``traceanchor`` command line: thin wrappers over the ledger library."""

import argparse
import gc
import json
import logging
import sys
from contextlib import contextmanager
from pathlib import Path

from service.errors import TraceAnchorError
from service.models.api_key import Role
from service.validation.json_limits import sane_recursion_limit


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``traceanchor`` console script; returns the exit status."""
    parser = _parser()
    args = parser.parse_args(argv)
    sane_recursion_limit()  # before any command imports web3: a deep JSON file must not crash the process
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        return args.run(args)
    except TraceAnchorError as error:
        print(f"error: {error.message}", file=sys.stderr)
        return 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="traceanchor", description=__doc__)
    parser.add_argument("-v", "--verbose", action="store_true", help="log what the ledger does")
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    hash_ = commands.add_parser("hash", help="print the CBV 2.0 event hash ID of each event of an EPCIS document")
    hash_.add_argument("document", type=Path)
    hash_.set_defaults(run=_hash)

    anchor = commands.add_parser("anchor", help="batch and anchor every pending record now")
    anchor.add_argument("--timeout", type=float, default=120.0, help="seconds to wait for confirmations")
    anchor.add_argument("--follow", action="store_true",
                        help="instead, run the anchoring loop until SIGTERM or Ctrl-C (for API workers started with "
                             "TRACEANCHOR_ANCHOR_IN_BACKGROUND=false)")
    anchor.set_defaults(run=_anchor)

    verify = commands.add_parser("verify", help="check a proof bundle with nothing but an Ethereum node (exit 0 valid, 1 invalid)")
    verify.add_argument("bundle", type=Path)
    verify.add_argument("--rpc", required=True, help="JSON-RPC URL of a node of the bundle's chain")
    verify.set_defaults(run=_verify)

    audit = commands.add_parser("audit", help="audit anchored batches for deleted or changed records (exit 0 all intact, 1 findings)")
    audit.add_argument("--batch", type=int, action="append", help="a batch id (repeatable; default: every batch)")
    audit.add_argument("--output", type=Path, help="write every audit as JSON to this file")
    audit.set_defaults(run=_audit)

    deploy = commands.add_parser("deploy", help="deploy a new TraceAnchor contract and print its address")
    deploy.add_argument("--rpc", required=True, help="JSON-RPC URL of the node to deploy on")
    deploy.set_defaults(run=_deploy)

    serve = commands.add_parser("serve", help="run the HTTP API and the background anchoring loop")
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

    demo = commands.add_parser("demo", help="run the end-to-end supply-chain demo")
    demo.add_argument("--export", type=Path, help="write every exported proof bundle into this directory")
    demo.add_argument("--url", help="run against a started `traceanchor serve` at this URL (default: in process)")
    demo.add_argument("--admin-key", help="an admin API key of that server (with --url)")
    demo.set_defaults(run=_demo)
    return parser


def _hash(args: argparse.Namespace) -> int:
    from service.hashing import hash_document

    for hash_id in hash_document(json.loads(args.document.read_text(encoding="utf-8"))):
        print(hash_id)
    return 0


def _anchor(args: argparse.Namespace) -> int:
    from service.ledger import Ledger

    ledger = Ledger()
    try:
        if args.follow:
            _follow(ledger)
            return 0
        for report in ledger.anchor_now(timeout=args.timeout):
            for batch_id in report.closed:
                print(f"closed batch {batch_id}")
            for batch_id in report.anchored:
                print(f"anchored batch {batch_id}")
            for error in report.errors:
                print(f"error: {error}", file=sys.stderr)
        return 0 if not ledger.unfinished_batches() else 1
    finally:
        ledger.close()


def _follow(ledger) -> None:
    """The anchoring loop of ``serve``, on its own: API workers then never share a GIL with it."""
    import signal
    import threading

    stop = threading.Event()
    for number in (signal.SIGTERM, signal.SIGINT):
        signal.signal(number, lambda *_: stop.set())
    ledger.run_anchoring(stop)


def _verify(args: argparse.Namespace) -> int:
    from web3 import Web3

    from service.bundle import check_bundle

    bundle = json.loads(args.bundle.read_text(encoding="utf-8"))
    result = check_bundle(bundle, w3=Web3(Web3.HTTPProvider(args.rpc, request_kwargs={"timeout": 30})))
    for name, ok, detail in result.checks:
        print(f"{'ok  ' if ok else 'FAIL'} {name}: {detail}")
    print("VALID" if result.valid else "INVALID")
    return 0 if result.valid else 1


def _audit(args: argparse.Namespace) -> int:
    from collections import Counter
    from dataclasses import asdict

    from service.audit import BatchAuditStatus, audit_batches
    from service.ledger import Ledger

    intact = {BatchAuditStatus.COMPLETE, BatchAuditStatus.PENDING}
    ledger = Ledger()
    try:
        with ledger.session() as session:
            audits = list(audit_batches(session, ledger.chain, batch_ids=args.batch))
    finally:
        ledger.close()
    for audit in audits:
        if audit.status not in intact:
            print(f"batch {audit.batch_id}: {audit.status}: {audit.reason}")
            for leaf in audit.missing_leaves:
                print(f"  missing: tree position {leaf.tree_index}, leaf {leaf.leaf}")
            if audit.tampered_records:
                print(f"  records no longer matching their leaves: {', '.join(map(str, audit.tampered_records))}")
    counts = Counter(audit.status.value for audit in audits)
    print(f"{len(audits)} batches audited: " + (", ".join(f"{n} {status}" for status, n in sorted(counts.items())) or "none"))
    if args.output:
        args.output.write_text(json.dumps([asdict(audit) for audit in audits], indent=2) + "\n")
    return 0 if all(audit.status in intact for audit in audits) else 1


def _deploy(args: argparse.Namespace) -> int:
    from service.chain import Chain
    from service.settings import Settings

    settings = Settings()
    chain = Chain.connect(url=args.rpc, state_dir=settings.chain_state_path, private_key=settings.private_key)
    try:
        print(chain.deploy())
    finally:
        chain.close()
    return 0


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from service.api.app import create_app

    app = create_app()
    # The modules loaded by now (web3, py-evm, SQLAlchemy, numpy, ...) live as long as the process:
    # freezing them keeps the cyclic garbage collector from re-scanning them on every full
    # collection, which cost 12 % of the ingest time of 1,000-event documents.
    gc.freeze()
    uvicorn.run(app, host=args.host, port=args.port, log_level="info" if args.verbose else "warning")
    return 0


def _keys_create(args: argparse.Namespace) -> int:
    from service.keys import create_key

    with _session() as session:
        key, token = create_key(session, role=Role(args.role), party=args.party)
        print(f"created key {key.id} for party {key.party!r} with role {key.role}; it is shown only once:")
    print(token)
    return 0


def _keys_revoke(args: argparse.Namespace) -> int:
    from service.keys import revoke_key

    with _session() as session:
        key = revoke_key(session, key_id=args.key_id)
        print(f"revoked key {key.id} ({key.role}, {key.party})")
    return 0


def _keys_list(args: argparse.Namespace) -> int:
    from service.keys import list_keys

    with _session() as session:
        for key in list_keys(session):
            state = f"revoked {key.revoked_at:%Y-%m-%d}" if key.revoked_at else "active"
            print(f"{key.id:>5}  {key.role:<9} {key.party:<30} {state}")
    return 0


@contextmanager
def _session():
    """A committed session on the configured database, without touching the chain."""
    from service.db import make_engine, session_scope
    from service.settings import Settings

    engine = make_engine(Settings())
    try:
        with session_scope(engine) as session:
            yield session
    finally:
        engine.dispose()


def _forecast(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from service.demand import forecast_all
    from service.ledger import Ledger

    ledger = Ledger()
    try:
        with ledger.session() as session:
            with tqdm(total=0, unit="series", desc="forecasting", disable=None) as bar:

                def progress(done: int, total: int) -> None:
                    bar.total = total
                    bar.update(done - bar.n)

                results = forecast_all(
                    session, ledger.chain, skus=None if args.all else args.sku, location=args.location,
                    freq=args.freq, horizon=args.horizon, workers=args.workers, progress=progress,
                )
    finally:
        ledger.close()
    print(f"{'sku':<24} {'model':<34} {'used':>6} {'excl.':>6} {'sMAPE':>7} {'MASE':>6}  next period")
    for sku, result in results.items():
        if "error" in result:
            print(f"{sku:<24} {result['error']}")
            continue
        first = result["forecast"][0]
        print(f"{sku:<24} {result['model']:<34} {result['records_used']:>6} {result['records_excluded']['total']:>6} "
              f"{result['backtest'].get('smape', float('nan')):>7.2f} {result['backtest'].get('mase', float('nan')):>6.2f}  "
              f"{first['period']}: {first['mean']:.1f} [{first['lower_95']:.1f}, {first['upper_95']:.1f}]")
    if args.output:
        args.output.write_text(json.dumps(results, indent=2) + "\n")
    return 0


def _demo(args: argparse.Namespace) -> int:
    from service.demo import run_demo

    return run_demo(export_dir=args.export, url=args.url, admin_key=args.admin_key)


if __name__ == "__main__":
    sys.exit(main())
