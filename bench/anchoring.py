"""Anchoring costs: gas per record by batch size, Merkle tree build time and proof checks.

    python bench/anchoring.py [--chain-url URL]

Gas comes from real receipts of ``TraceAnchor.anchor`` on the embedded chain (or any node), with
batch sizes 1, 16, 256, 1024 and 4096, against one transaction per record (batch size 1).
Targets: at most 100 gas per record at 1024, at least 400x cheaper than per-record anchoring.
The tree and verification figures come from ``bench/merkle.py`` in the same run.
Exits 1 if a target is missed.
"""

import argparse
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import merkle as tree_bench  # noqa: E402  (bench/merkle.py)
from service.anchor.chain import Chain  # noqa: E402
from service.hashing.merkle import MerkleTree  # noqa: E402

BATCH_SIZES = (1, 16, 256, 1024, 4096)
GAS_PER_RECORD_TARGET = 100
SAVING_TARGET = 400


def gas_by_batch_size(chain: Chain) -> dict[int, int]:
    """gasUsed of one anchor transaction for a tree of each batch size (random leaves)."""
    gas = {}
    for size in BATCH_SIZES:
        tree = MerkleTree.build([os.urandom(32) for _ in range(size)])
        tx_hash = chain.send(chain.prepare_anchor(root=tree.root, leaf_count=size))
        chain.mine(1) if not chain.embedded else None
        gas[size] = chain.receipt(tx_hash)["gasUsed"]
    return gas


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--chain-url", help="JSON-RPC node (default: the embedded chain)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as state_dir:
        chain = Chain.connect(url=args.chain_url, state_dir=Path(state_dir), private_key=None)
        try:
            chain.deploy()
            gas = gas_by_batch_size(chain)
        finally:
            chain.close()
    per_record_tx = gas[1]
    print(f"{'batch size':>10} {'gas/tx':>8} {'gas/record':>11} {'saving vs 1 tx/record':>22}")
    for size, used in gas.items():
        print(f"{size:>10} {used:>8} {used / size:>11.1f} {per_record_tx / (used / size):>21.0f}x")
    at_1024 = gas[1024] / 1024
    ok = at_1024 <= GAS_PER_RECORD_TARGET and per_record_tx / at_1024 >= SAVING_TARGET
    print(f"gas per record at 1024: {at_1024:.1f} (target <= {GAS_PER_RECORD_TARGET}), "
          f"saving {per_record_tx / at_1024:.0f}x (target >= {SAVING_TARGET}x): {'met' if ok else 'MISSED'}\n")
    return max(0 if ok else 1, tree_bench.main())


if __name__ == "__main__":
    sys.exit(main())
