"""Reading untrusted XML: a hardened lxml parser and a refusal of every DTD.

XML attacks are refused before any element is looked at: entity expansion ("billion laughs") and
external entities (XXE) need a document type declaration, which a SOAP message must not contain
(SOAP 1.2 Part 1 §5: "The XML infoset of a SOAP message MUST NOT contain a document type
declaration information item"); the parser never resolves entities, never reads the network or
files, and keeps libxml2's limits on depth and text size (``huge_tree=False``). The size of the
document is bounded by the HTTP layer before parsing (CSMS_SOAP_MAX_MESSAGE_SIZE).
"""

from __future__ import annotations

from lxml import etree

from csms.messages.soap.errors import SoapFault, sender

_DTD_REFUSED = (
    "a SOAP message must not contain a document type declaration (SOAP 1.2 Part 1 §5); "
    "entities are never expanded"
)
# "<!DOCTYPE" as UTF-8 (and ASCII-compatible encodings), UTF-16 LE and BE: refused before
# libxml2 sees it, which would otherwise open an external subset's file even with load_dtd=False.
_DOCTYPE_MARKS = tuple(b"<!DOCTYPE".decode().encode(e) for e in ("utf-8", "utf-16-le", "utf-16-be"))


class _RefuseExternal(etree.Resolver):
    """Resolves nothing: any external DTD or entity libxml2 would load aborts the parse."""

    # lxml calls resolve(url, public_id, context); lxml-stubs omit the context.
    def resolve(self, system_url: str, public_id: str, context: object) -> None:  # type: ignore[override]
        raise SoapFault("Sender", _DTD_REFUSED)


def hardened_parser() -> etree.XMLParser:
    """A parser that resolves no entity, loads no DTD, reads no network or file and keeps size
    limits."""
    parser = etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        huge_tree=False,
        load_dtd=False,
        dtd_validation=False,
        remove_pis=True,
        remove_comments=True,
        collect_ids=False,
    )
    parser.resolvers.add(_RefuseExternal())
    return parser


def parse_message(data: bytes) -> etree._Element:
    """Parse a SOAP message.

    Raises:
        SoapFault: Sender, for malformed XML or a document type declaration (no DTD is allowed,
            so no entity is ever defined).
    """
    if not data.strip():
        raise sender("malformed XML: the request body is empty")
    if any(mark in data for mark in _DOCTYPE_MARKS):
        raise sender(_DTD_REFUSED)
    try:
        root = etree.fromstring(data, hardened_parser())
    except etree.XMLSyntaxError as exc:
        raise sender(f"malformed XML: {_short(exc)}") from None
    docinfo = root.getroottree().docinfo
    if docinfo.internalDTD is not None or docinfo.externalDTD is not None or docinfo.doctype:
        raise sender(_DTD_REFUSED)
    return root


def _short(exc: etree.XMLSyntaxError) -> str:
    """libxml2's message, first line, bounded (it quotes no document content beyond a name)."""
    text = str(exc.msg or exc).splitlines()[0] if str(exc.msg or exc) else "syntax error"
    return text[:200]
