"""Checks of an installation (``cqp check`` and the back-office's integrity page): every file row
has its file with the recorded SHA-256, the register of certificate numbers has no gap or
duplicate, the audit chain is intact. Each problem is one French sentence."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from certification.audit_chain import ChainReport, verify_chain
from certification.db import session_scope
from certification.integrity import register_problems
from certification.settings import get_settings
from documents.integrity import file_problems


@dataclass(frozen=True)
class CheckReport:
    files: list[str]
    register: list[str]
    chain: ChainReport

    @property
    def problems(self) -> list[str]:
        chain = (
            []
            if self.chain.intact
            else [f"Journal d'audit : première rupture de la chaîne à la {self.chain.first_break.describe()}."]
        )
        return [*self.files, *self.register, *chain]

    @property
    def ok(self) -> bool:
        return not self.problems


def check_installation(data_dir: Path | None = None) -> CheckReport:
    data_dir = data_dir or get_settings().data_dir
    with session_scope() as db:
        files = file_problems(db, data_dir)
        register = register_problems(db)
    with session_scope() as db:
        chain = verify_chain(db)
    return CheckReport(files, register, chain)
