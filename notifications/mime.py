"""``msg.as_bytes(policy=policy.SMTP)``, byte for byte, at a fraction of its cost.

A results e-mail carries a PDF and its badges: a few thousand lines of base64, that the standard
library's generator splits and writes one line at a time (a regular expression over the whole
part, then two writes and an encode per line); for a big jury that was a large share of the
sending process's CPU. :func:`as_bytes` converts each part's line endings in one pass and writes
them at once: the same bytes (tests/notifications/test_mime.py compares them).
"""

from __future__ import annotations

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


def as_bytes(msg: Message) -> bytes:
    """``msg.as_bytes(policy=policy.SMTP)``, the same bytes."""
    out = BytesIO()
    _Generator(out, mangle_from_=False, policy=policy.SMTP).flatten(msg, unixfrom=False)
    return out.getvalue()
