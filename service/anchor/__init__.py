"""Anchor: pending records are batched into Merkle trees whose roots go on chain.

The crash-safe batch state machine (``anchoring``), OpenZeppelin-compatible trees (``merkle``), the
one web3 adapter (``chain``) over any node or the embedded chain (``embedded_chain``), and the
compiler of the TraceAnchor contract (``compiler``).
"""
