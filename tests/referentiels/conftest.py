from __future__ import annotations

import pytest

from tests.factories import make_users

V2 = """\
certification:
  code: CQP_SP
  title: CQP Salarié Polyvalent
version: "2"
registry:
  kind: RS
  code: RS9999
blocs:
  - code: SP-B1
    title: Réaliser les activités de production ou de service
    competences: [Organiser son poste de travail]
  - code: SP-B2
    title: Communiquer et travailler en équipe en situation de production
  - code: SP-B3
    title: Appliquer les règles d'hygiène, de sécurité et de préservation de l'environnement
certificate_rule:
  all_blocs: false
  required_blocs: [SP-B1, SP-B2]
"""


@pytest.fixture
def people():
    return make_users()


@pytest.fixture
def v2_text() -> str:
    return V2
