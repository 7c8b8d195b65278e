"""GS1's GS1 Company Prefix length table: which length the company prefix has at the start of a GS1
key, the one fact an EPC URN needs that a Digital Link does not carry (``service.hashing.epc_urns``).

GS1 publishes the table (``gcpprefixformatlist.json`` or ``.xml``, "GCP Length" under the barcode and
EPC interoperability tools on gs1.org) and updates it as prefixes are assigned; the operator points
``TRACEANCHOR_GCP_LENGTH_TABLE`` at a copy. Each entry maps a key prefix to a company prefix length,
the longest matching entry deciding; length 0 means the range holds no company prefixes.
"""

import json
from pathlib import Path
from xml.etree import ElementTree

from service.errors import ConfigurationError
from service.hashing.epc_urns import COMPANY_PREFIX_LENGTHS
from service.hashing.identifiers import CANONICAL_DOMAIN, canonical_identifier

SETTING = "TRACEANCHOR_GCP_LENGTH_TABLE"
#: Keys whose company prefix follows one leading digit (GTIN-14's indicator, SSCC's extension, GRAI's
#: and ITIP's filler); in every other key it comes first.
_AFTER_FIRST_DIGIT = frozenset({"01", "00", "8003", "8006"})


class CompanyPrefixLengths:
    """The company prefix length of GS1 keys, by GS1's table (empty: no length is known)."""

    def __init__(self, lengths: dict[str, int] | None = None) -> None:
        self._lengths = lengths or {}
        self._longest = max(map(len, self._lengths), default=0)

    @classmethod
    def load(cls, path: Path) -> "CompanyPrefixLengths":
        """GS1's table from ``path`` (its JSON or XML form); ConfigurationError naming the setting otherwise."""
        try:
            text = path.read_text(encoding="utf-8")
            entries = _json_entries(text) if text.lstrip().startswith("{") else _xml_entries(text)
            lengths = {str(entry["prefix"]): int(entry["gcpLength"]) for entry in entries}
        except (OSError, ValueError, KeyError, TypeError, ElementTree.ParseError) as error:
            raise ConfigurationError(f"{SETTING}: {path} is not GS1's GCP length table ({error})", field=SETTING) from None
        if not lengths or any(not prefix.isdigit() or length not in (0, *COMPANY_PREFIX_LENGTHS) for prefix, length in lengths.items()):
            raise ConfigurationError(f"{SETTING}: {path} has no entries, or one that is no digit prefix with a length of 6 to 12 (or 0)",
                                     field=SETTING)
        return cls(lengths)

    def length_of(self, link: str) -> int | None:
        """The company prefix length of the GS1 key in ``link`` (a Digital Link or URN), or None."""
        canonical = canonical_identifier(link) if self._lengths else None
        if canonical is None:
            return None
        key, value = canonical[len(CANONICAL_DOMAIN) + 1:].split("/")[:2]
        digits = value[1:] if key in _AFTER_FIRST_DIGIT else value
        for end in range(min(self._longest, len(digits)), 0, -1):
            length = self._lengths.get(digits[:end])
            if length is not None:
                return length or None
        return None


def _json_entries(text: str) -> list:
    return json.loads(text)["GCPPrefixFormatList"]["entry"]


def _xml_entries(text: str) -> list:
    root = ElementTree.fromstring(text)
    return [entry.attrib for entry in root.iter("entry")]
