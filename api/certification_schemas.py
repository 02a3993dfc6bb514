"""Bodies of the public verification endpoints, and the types the candidates', the appeals', the
jury's and the certificates' bodies share (theirs: :mod:`api.candidates.schemas`,
:mod:`api.appeals.schemas`, :mod:`api.jury.schemas`)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator

from api.errors import french_error
from certification.candidates.service import SEX_MESSAGE, SEXES
from certification.jury.issuance import Verification

CertificationCode = Literal["CQP_SP", "CQP_EPSP"]
BlocResult = Literal["validated", "not_validated", "absent"]


def _sex(value: Any) -> Any:
    if value is not None and not (isinstance(value, str) and value in SEXES):
        raise french_error("sex", SEX_MESSAGE)
    return value


# The holder's sex (M | F, as the SI CPF data dictionary codes it), optional; other values: 422 in French.
Sex = Annotated[Literal["M", "F"] | None, BeforeValidator(_sex)]


class CandidateDossierOut(BaseModel):
    """What every dossier about one candidate (an appeal, a dossier de VAE) says first."""

    id: int
    reference: str
    state: str
    state_label: str
    candidate_id: int
    candidate_reference: str
    candidate_name: str


# --- public verification ---------------------------------------------------------------------


class VerificationOut(Verification):
    certifier_name: str
