"""Active content in uploaded PDFs: JavaScript, launch actions, embedded files, automatic actions.

Uploaded pieces are read by officers, mandataires and jurors in their PDF readers, so a PDF that
could run something when opened is **refused** (415, with a French message naming what was found)
rather than neutralised: rewriting a piece would change the evidence (and its SHA-256) that the
record keeps. The document is parsed with pypdf (objects in object streams and names written with
``#xx`` escapes included) and walked from its trailer; a file pypdf cannot parse is scanned for the
same names outside its streams.
"""

from __future__ import annotations

import logging
import re
from typing import BinaryIO

log = logging.getLogger(__name__)

ACTIVE_KEYS = {
    "/JavaScript": "du JavaScript",
    "/JS": "du JavaScript",
    "/Launch": "une commande de lancement d'application",
    "/EmbeddedFile": "un fichier incorporé",
    "/EmbeddedFiles": "des fichiers incorporés",
    "/AA": "des actions automatiques",
    "/RichMedia": "un contenu multimédia actif",
}
ACTIVE_ACTIONS = {"/JavaScript": "du JavaScript", "/Launch": "une commande de lancement d'application"}
MAX_OBJECTS = 200_000  # a bound on the walk of a hostile file
_RAW_NAME = re.compile(rb"/(JavaScript|JS|Launch|EmbeddedFiles?|AA|RichMedia)(?=[\s/<>\[\]()%]|$)")
_STREAM = re.compile(rb"stream\r?\n.*?endstream", re.S)


def _walk(root) -> str | None:
    from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject

    stack, seen, visited = [root], set(), 0
    while stack and visited < MAX_OBJECTS:
        node = stack.pop()
        visited += 1
        if isinstance(node, IndirectObject):
            key = (node.idnum, node.generation)
            if key in seen:
                continue
            seen.add(key)
            node = node.get_object()
        if isinstance(node, DictionaryObject):
            for name, value in node.items():
                if name in ACTIVE_KEYS:
                    return ACTIVE_KEYS[name]
                if name == "/S" and str(value) in ACTIVE_ACTIONS:
                    return ACTIVE_ACTIONS[str(value)]
                if name == "/Type" and str(value) == "/EmbeddedFile":
                    return ACTIVE_KEYS["/EmbeddedFile"]
                stack.append(value)
        elif isinstance(node, ArrayObject):
            stack.extend(node)
    return None


def _raw_scan(data: bytes) -> str | None:
    match = _RAW_NAME.search(_STREAM.sub(b"", data))
    return ACTIVE_KEYS["/" + match.group(1).decode()] if match else None


def active_content(stream: BinaryIO) -> str | None:
    """What active content the PDF in ``stream`` holds (French, e.g. « du JavaScript »), or None."""
    from pypdf import PdfReader

    stream.seek(0)
    try:
        reader = PdfReader(stream, strict=False)
        found = _walk(reader.trailer)
    except Exception as exc:  # noqa: BLE001 - any parse failure: fall back to a scan of the bytes
        log.info("pdf not parsed (%s); raw scan", type(exc).__name__)
        stream.seek(0)
        found = _raw_scan(stream.read())
    return found
