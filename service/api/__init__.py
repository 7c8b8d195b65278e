"""The FastAPI service: thin routers over the ledger library, one per resource."""
