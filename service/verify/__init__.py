"""Verify: does a stored record still say what was anchored, and is the root on chain?

Rows against their bodies (``integrity``), records against their proofs and the contract
(``verification``), whole batches against their trees (``audit``), the verified selection every
analytic starts from (``selection``), and proof bundles checked with nothing but a node (``bundle``).
"""
