"""The end-to-end demo: a small supply chain (``supply_chain``) run through the HTTP API (``run``)."""
