"""EPCIS XML on the way in: a hardened parser, the official XSDs, the 1.x -> 2.0 upgrade and the
conversion to the EPCIS 2.0 JSON-LD form the ledger stores (docs/epcis-xml.md). ``names`` holds the
mapping tables that an XML writer inverts."""
