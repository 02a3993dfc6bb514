"""The back-office form of a candidate's results per bloc, shared by the jury's deliberation and
an upheld appeal's new results (the rules themselves are :mod:`certification.jury.service`)."""

from __future__ import annotations

from api.web.forms import row_values
from certification.errors import ValidationFailed
from certification.jury import service as jury_svc
from certification.jury.states import DELIBERATION_RESULTS


def parse_bloc_results(form, blocs: list[str]) -> dict[str, str]:
    """A result per bloc (``bloc_<code>``), for exactly ``blocs``."""
    results = row_values(form, "bloc_")
    if set(results) != set(blocs) or not set(results.values()) <= set(DELIBERATION_RESULTS):
        raise ValidationFailed("Indiquez un résultat (validé, non validé ou absent) pour chaque bloc : "
                               + ", ".join(blocs) + ".", code="bad_blocs")
    if "absent" in results.values() and set(results.values()) != {"absent"}:
        raise ValidationFailed(jury_svc.PARTIAL_ABSENCE, code="partial_absence")
    return results
