"""The standard EPCIS 2.0 REST binding (GS1's OpenAPI document), mounted at ``/epcis`` next to ``/v1``."""
