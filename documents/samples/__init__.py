"""Sample template contexts: previews, setup checks (render every template) and tests, one
module per process (``common``: the agrément, the juries and certificates, and what the others share).

The structure name deliberately contains markup, so that any template forgetting to
escape it shows up at once.
"""

from documents.samples.common import (  # noqa: F401
    BLOC_RESULT_LABELS,
    OUTCOME_LABELS,
    SAMPLE_BLOCS,
    SAMPLE_CERTIFIER_NAME,
    SAMPLE_HOLDER_FIRST_NAMES,
    SAMPLE_HOLDER_LAST_NAME,
    SAMPLE_OTHER_STRUCTURE_NAME,
    SAMPLE_STRUCTURE_NAME,
    sample_activity_context,
    sample_agrement,
    sample_agrement_context,
    sample_alert,
    sample_alert_context,
    sample_attestation,
    sample_certificate,
    sample_certificate_context,
    sample_context,
    sample_jury,
    sample_jury_context,
    sample_recours,
    sample_recours_context,
    sample_request,
    sample_verification_context,
)
from documents.samples.controle import (  # noqa: F401
    sample_controle,
    sample_controle_context,
)
from documents.samples.cpf import (  # noqa: F401
    sample_cpf,
    sample_cpf_context,
)
from documents.samples.training import (  # noqa: F401
    sample_appui,
    sample_appui_context,
    sample_enrollment,
    sample_training,
    sample_training_context,
)
from documents.samples.vae import (  # noqa: F401
    sample_vae,
    sample_vae_context,
)
