"""The standard library's MIME building and flattening, byte for byte, at a fraction of their cost.

:data:`SMTP` is ``email.policy.SMTP`` whose headers are parsed once per (name, value): the standard
``HeaderRegistry`` creates a new class for every header it parses, then parses its value with the
(slow) RFC 5322 parser, about forty times for a results e-mail and its attachments, mostly the same
names and values (``MIME-Version``, the content types and encodings, the sender). A parsed header
is an immutable string: the same object serves every message that sets the same value.

:func:`as_bytes` is ``msg.as_bytes(policy=policy.SMTP)``. A results e-mail carries a PDF and its
badges: a few thousand lines of base64, that the standard library's generator splits and writes
one line at a time (a regular expression over the whole part, then two writes and an encode per
line); for a big jury that was a large share of the sending process's CPU. It converts each part's line endings in one pass and writes
them at once, and checks that a boundary is not in the text by a plain search before the
standard regular expression: the same bytes (tests/notifications/test_mime.py compares them).
"""

from __future__ import annotations

import re
from email import policy
from email.generator import NLCRE, BytesGenerator
from email.headerregistry import BaseHeader, HeaderRegistry
from functools import lru_cache
from typing import Any
from email.message import Message
from io import BytesIO


class _ParsedOnce(HeaderRegistry):
    """``HeaderRegistry``: a class per header name, made once; a header per (name, value), parsed
    once (the last 2,048 kept)."""

    def __init__(self) -> None:
        super().__init__()
        self._classes: dict[str, Any] = {}
        self._parsed = lru_cache(maxsize=2048)(super().__call__)

    def __getitem__(self, name: str) -> Any:
        cls = self._classes.get(name.lower())
        if cls is None:
            cls = self._classes[name.lower()] = super().__getitem__(name)
        return cls

    def __call__(self, name: str, value: Any) -> BaseHeader:
        if type(name) is str and type(value) is str:
            return self._parsed(name, value)
        return super().__call__(name, value)


SMTP = policy.SMTP.clone(header_factory=_ParsedOnce())


class _Generator(BytesGenerator):
    def _write_lines(self, lines: str) -> None:
        # Generator._write_lines writes each line (split by NLCRE: \r\n, \r or \n) then the
        # policy's line ending: the same text, written at once
        if lines:
            self.write(lines.replace("\n", self._NL) if "\r" not in lines else NLCRE.sub(self._NL, lines))

    @classmethod
    def _make_boundary(cls, text: bytes | None = None) -> str:
        # Generator._make_boundary draws a random boundary, then suffixes it while a line of
        # ``text`` (the parts, flattened) is that boundary, which it looks for with a line-anchored
        # regular expression over the whole text; no line can be when the text does not contain it
        boundary: str = super()._make_boundary()
        if text is None or b"--" + boundary.encode("ascii") not in text:
            return boundary
        candidate, counter = boundary, 0
        while cls._compile_re("^--" + re.escape(candidate) + "(--)?$", re.MULTILINE).search(text):
            candidate, counter = f"{boundary}.{counter}", counter + 1
        return candidate


def as_bytes(msg: Message) -> bytes:
    """``msg.as_bytes(policy=policy.SMTP)``, the same bytes."""
    out = BytesIO()
    _Generator(out, mangle_from_=False, policy=policy.SMTP).flatten(msg, unixfrom=False)
    return out.getvalue()
