"""``msg.as_bytes(policy=policy.SMTP)``, byte for byte, at a fraction of its cost.

A results e-mail carries a PDF and its badges: a few thousand lines of base64, that the standard
library's generator splits and writes one line at a time (a regular expression over the whole
part, then two writes and an encode per line); for a big jury that was a large share of the
sending process's CPU. :func:`as_bytes` converts each part's line endings in one pass and writes
them at once, and checks that a boundary is not in the text by a plain search before the
standard regular expression: the same bytes (tests/notifications/test_mime.py compares them).
"""

from __future__ import annotations

import re
from email import policy
from email.generator import NLCRE, BytesGenerator
from email.message import Message
from io import BytesIO


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
