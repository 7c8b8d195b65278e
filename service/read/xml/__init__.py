"""EPCIS 2.0 XML answers: stored JSON-LD events and documents written as the EPCIS 2.0 XSDs define them."""

from .documents import document_xml

__all__ = ["document_xml"]
