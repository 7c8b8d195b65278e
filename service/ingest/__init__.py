"""Ingest: a submitted body becomes stored, pending records.

Parse and validate (``validation``; EPCIS XML is read by ``xml`` into its JSON-LD form first), derive
each record's columns, terms and hash from its body (``candidates``), prepare large bodies in worker
processes (``capture``), and store submissions all or nothing, several callers per transaction
(``group_commit``, ``records``, ``bulk``), keeping a submitted XML document beside its records
(``sources``).
"""
