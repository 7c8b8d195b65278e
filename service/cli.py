"""The ``traceanchor`` command line: thin wrappers over the ledger library."""

import argparse
import json
import logging
import sys
from pathlib import Path

from service.errors import TraceAnchorError


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``traceanchor`` console script; returns the exit status."""
    parser = _parser()
    args = parser.parse_args(argv)
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
    anchor.set_defaults(run=_anchor)

    verify = commands.add_parser("verify", help="check a proof bundle with nothing but an Ethereum node (exit 0 valid, 1 invalid)")
    verify.add_argument("bundle", type=Path)
    verify.add_argument("--rpc", required=True, help="JSON-RPC URL of a node of the bundle's chain")
    verify.set_defaults(run=_verify)

    deploy = commands.add_parser("deploy", help="deploy a new TraceAnchor contract and print its address")
    deploy.add_argument("--rpc", required=True, help="JSON-RPC URL of the node to deploy on")
    deploy.set_defaults(run=_deploy)

    demo = commands.add_parser("demo", help="run the end-to-end supply-chain demo")
    demo.add_argument("--export", type=Path, help="write every exported proof bundle into this directory")
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


def _verify(args: argparse.Namespace) -> int:
    from web3 import Web3

    from service.bundle import check_bundle

    bundle = json.loads(args.bundle.read_text(encoding="utf-8"))
    result = check_bundle(bundle, w3=Web3(Web3.HTTPProvider(args.rpc, request_kwargs={"timeout": 30})))
    for name, ok, detail in result.checks:
        print(f"{'ok  ' if ok else 'FAIL'} {name}: {detail}")
    print("VALID" if result.valid else "INVALID")
    return 0 if result.valid else 1


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


def _demo(args: argparse.Namespace) -> int:
    from service.demo import run_demo

    return run_demo(export_dir=args.export)


if __name__ == "__main__":
    sys.exit(main())
