"""GS1 Digital Link back to EPC URN (service.hashing.epc_urns): every URN the hashing module maps to a
Digital Link comes back unchanged given its GS1 Company Prefix length, over generated keys."""

import string

import pytest
from hypothesis import given
from hypothesis import strategies as st

from service.hashing.epc_urns import digital_link_to_urn
from service.hashing.identifiers import canonical_identifier

RAW = string.ascii_letters + string.digits + "!'()*+,-.:;=_"
ESCAPES = ("%22", "%25", "%26", "%2F", "%3C", "%3E", "%3F")  # the characters an EPC URN must escape


def digits(count: int) -> st.SearchStrategy[str]:
    return st.text("0123456789", min_size=count, max_size=count)


def serial(most: int, least: int = 1, raw: str = RAW, escapes: tuple[str, ...] = ESCAPES) -> st.SearchStrategy[str]:
    """A URN component in its canonical spelling, ``least`` to ``most`` characters (an escape counts one)."""
    return st.lists(st.sampled_from(tuple(raw)) | st.sampled_from(escapes), min_size=least, max_size=most).map("".join)


@st.composite
def urns(draw) -> tuple[str, int]:
    """A URN of one of the schemes (pure identity, LGTIN class, pattern) and its company prefix length."""
    length = draw(st.integers(6, 12))
    cp = draw(digits(length))

    def ref(total: int) -> str:
        return draw(digits(total - length))

    scheme = draw(st.sampled_from(("sgtin", "sscc", "sgln", "grai", "giai", "gsrn", "gsrnp", "gdti", "cpi", "sgcn", "ginc",
                                   "gsin", "itip", "upui", "pgln", "lgtin", "idpat:sgtin", "idpat:grai", "idpat:gdti",
                                   "idpat:sgcn", "idpat:cpi", "idpat:itip")))
    cpi_reference = draw(serial(min(24, 30 - length), raw=string.ascii_uppercase + string.digits + "-", escapes=("%23", "%2F")))
    parts = {
        "sgtin": lambda: f"id:sgtin:{cp}.{ref(13)}.{draw(serial(20))}",
        "sscc": lambda: f"id:sscc:{cp}.{ref(17)}",
        "sgln": lambda: f"id:sgln:{cp}.{ref(12)}.{draw(st.just('0') | serial(20))}",
        "grai": lambda: f"id:grai:{cp}.{ref(12)}.{draw(serial(16))}",
        "giai": lambda: f"id:giai:{cp}.{draw(serial(30 - length))}",
        "gsrn": lambda: f"id:gsrn:{cp}.{ref(17)}",
        "gsrnp": lambda: f"id:gsrnp:{cp}.{ref(17)}",
        "gdti": lambda: f"id:gdti:{cp}.{ref(12)}.{draw(serial(17))}",
        "cpi": lambda: f"id:cpi:{cp}.{cpi_reference}.{draw(st.integers(0, 10**12 - 1))}",
        "sgcn": lambda: f"id:sgcn:{cp}.{ref(12)}.{draw(digits(draw(st.integers(1, 12))))}",
        "ginc": lambda: f"id:ginc:{cp}.{draw(serial(30 - length))}",
        "gsin": lambda: f"id:gsin:{cp}.{ref(16)}",
        "itip": lambda: f"id:itip:{cp}.{ref(13)}.{draw(digits(2))}.{draw(digits(2))}.{draw(serial(20))}",
        "upui": lambda: f"id:upui:{cp}.{ref(13)}.{draw(serial(28))}",
        "pgln": lambda: f"id:pgln:{cp}.{ref(12)}",
        "lgtin": lambda: f"class:lgtin:{cp}.{ref(13)}.{draw(serial(20))}",
        "idpat:sgtin": lambda: f"idpat:sgtin:{cp}.{ref(13)}.*",
        "idpat:grai": lambda: f"idpat:grai:{cp}.{ref(12)}.*",
        "idpat:gdti": lambda: f"idpat:gdti:{cp}.{ref(12)}.*",
        "idpat:sgcn": lambda: f"idpat:sgcn:{cp}.{ref(12)}.*",
        "idpat:cpi": lambda: f"idpat:cpi:{cp}.{cpi_reference}.*",
        "idpat:itip": lambda: f"idpat:itip:{cp}.{ref(13)}.{draw(digits(2))}.{draw(digits(2))}.*",
    }
    return "urn:epc:" + parts[scheme](), length


@given(urns())
def test_urn_to_digital_link_to_urn_gives_the_original(case):
    urn, length = case
    link = canonical_identifier(urn)
    assert link is not None, urn
    assert digital_link_to_urn(link, length) == urn
    elsewhere = link.replace("https://id.gs1.org/", "https://brand.example.com/products/")  # any domain, a path before the key
    assert digital_link_to_urn(elsewhere, length) == urn


@given(urns(), st.integers(0, 14))
def test_another_prefix_length_never_names_another_key(case, length):
    urn, _ = case
    link = canonical_identifier(urn)
    translated = digital_link_to_urn(link, length)
    assert translated is None or canonical_identifier(translated) == link


@pytest.mark.parametrize(("link", "length", "urn"), [
    ("https://id.gs1.org/01/10614141073464/21/2017", 7, "urn:epc:id:sgtin:0614141.107346.2017"),
    ("https://id.gs1.org/01/10614141073464/21/2017", 6, "urn:epc:id:sgtin:061414.1107346.2017"),
    ("https://example.com/gtin/10614141073464/lot/L1/ser/a%2Fb%21", 7, "urn:epc:id:sgtin:0614141.107346.a%2Fb!"),  # short names; serial over lot
    ("https://id.gs1.org/414/0614141008889", 7, "urn:epc:id:sgln:0614141.00888.0"),
    ("https://id.gs1.org/00/106141412345678908", 7, "urn:epc:id:sscc:0614141.1234567890"),
    ("https://id.gs1.org/01/10614141073464/21/%C3%A9", 7, None),  # not a character an EPC can carry
    ("https://id.gs1.org/01/10614141073464/21/2017", 13, None),
    ("https://id.gs1.org/01/10614141073464/22/v1", 7, "urn:epc:idpat:sgtin:0614141.107346.*"),  # a variant (CPV) is no part of the EPC
    ("https://example.com/not-a-key", 7, None),
    ("urn:epc:id:sgtin:0614141.107346.2017", 7, "urn:epc:id:sgtin:0614141.107346.2017"),
])
def test_digital_links_in_any_spelling(link, length, urn):
    assert digital_link_to_urn(link, length) == urn
