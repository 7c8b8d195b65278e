"""Ingest: a submitted body becomes stored, pending records.

Parse and validate (``validation``), derive each record's columns, terms and hash from its body
(``candidates``), prepare large bodies in worker processes (``capture``), and store submissions all
or nothing, several callers per transaction (``group_commit``, ``records``).
"""
