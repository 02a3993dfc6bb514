"""The one read model of a dossier de VAE (issue #11): the dossier, the candidate and his
certification, the structure, the titles of the blocs as the candidate's version of the
référentiel words them, and the officer who decided on the recevabilité.

The API's response (:func:`api.vae.router.vae_out`), the back-office page
(:func:`api.vae.pages.vae_context`) and the letters' and e-mails' context
(:func:`flows.vae.vae_context`) are mapped from one :class:`VaeView`; none of them reads these rows
again.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from sqlmodel import Session

from certification.candidates.models import Candidate
from certification.models import Certification, Structure, User
from certification.reading import referenced
from certification.services.referential import bloc_titles
from certification.vae.models import VaeDossier


@dataclass(frozen=True)
class VaeView:
    """A dossier de VAE as every reader shows it (see the module's docstring)."""

    dossier: VaeDossier
    bloc_titles: Mapping[str, str]  # as the candidate's version of the référentiel words them
    candidate: Candidate
    decided_by: User | None  # the officer who decided on the recevabilité, once decided
    structure: Structure
    certification: Certification  # the candidate's

    @property
    def candidate_name(self) -> str:
        return f"{self.candidate.first_names} {self.candidate.last_name}"

    @property
    def requested_blocs(self) -> list[tuple[str, str]]:
        """The blocs requested, each with its title (its code when the version does not know it)."""
        return [(code, self.bloc_titles.get(code, code)) for code in self.dossier.requested_blocs]


def vae_view(db: Session, dossier: VaeDossier) -> VaeView:
    """The dossier read at once."""
    candidate = referenced(db, Candidate, dossier.candidate_id)
    return VaeView(
        dossier=dossier, bloc_titles=bloc_titles(db, candidate), candidate=candidate,
        decided_by=db.get(User, dossier.decided_by_id) if dossier.decided_by_id else None,
        structure=referenced(db, Structure, dossier.structure_id),
        certification=referenced(db, Certification, candidate.certification_id),
    )
