"""The one read model of a contrôle d'agrément (issue #11): the contrôle, the agrément it checks and
its certification, the structure, the contrôleur it is entrusted to, and its files (the
contrôleur's report, the structure's evidence).

The API's response (:func:`api.controle.router.controle_out`), the back-office page
(:func:`api.controle.pages.controle_context`) and the letters' and e-mails' context
(:func:`flows.controle.controle_context`) are mapped from one :class:`ControleView`; none of them
reads these rows again.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session

from certification.agrement.models import Agrement
from certification.controle import queries as controle_queries
from certification.controle.models import Controle, ControleFile
from certification.models import Certification, Structure, User
from certification.reading import referenced, stored_id


@dataclass(frozen=True)
class ControleView:
    """A contrôle as every reader shows it (see the module's docstring)."""

    controle: Controle
    files: tuple[ControleFile, ...]  # the report and the evidence, in the order deposited
    agrement: Agrement
    controleur: User | None  # until the contrôle is entrusted to one
    structure: Structure
    certification: Certification  # of the agrément

    @property
    def evidence(self) -> tuple[ControleFile, ...]:
        """The structure's evidence of its action plan."""
        return tuple(f for f in self.files if f.kind == "evidence")


def controle_view(db: Session, controle: Controle) -> ControleView:
    """The contrôle read at once."""
    agrement = referenced(db, Agrement, controle.agrement_id)
    return ControleView(
        controle=controle, files=tuple(controle_queries.files_of(db, stored_id(controle))), agrement=agrement,
        controleur=db.get(User, controle.controleur_id) if controle.controleur_id else None,
        structure=referenced(db, Structure, controle.structure_id),
        certification=referenced(db, Certification, agrement.certification_id),
    )
