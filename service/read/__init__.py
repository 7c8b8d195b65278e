"""Read: records as users ask for them.

EPCIS event queries and transaction listings (``queries``), signed page tokens (``pagination``)
and item trails through aggregations and transformations (``provenance``).
"""
