"""Input validation for the HTTP API: EPCIS documents and commercial transactions.

Pure library code: it raises ``service.errors.InvalidRecord`` subclasses carrying an ``errors``
list of ``service.errors.ErrorItem`` (the one shape of every validation layer) that the API returns
as is, and never rewrites what was submitted (stored JSON is hashed).
"""
