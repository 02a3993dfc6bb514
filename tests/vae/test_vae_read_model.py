"""The one read model of a dossier de VAE (certification/vae/read_model.py): the API's response, the
back-office page and the letters' context all mapped from it."""

from __future__ import annotations

from api.vae.pages import vae_context as page_context
from api.vae.router import vae_out
from api.web.pages import principal
from api.web.session import WebUser
from certification.db import session_scope
from certification.models import User
from certification.vae import service as svc
from certification.vae.read_model import vae_view
from flows.vae import vae_context
from tests.factories import grant_agrement, siret, structure_account, structure_id_of
from tests.vae.helpers import register_vae


def test_the_api_the_page_and_the_letters_show_one_reading(people):
    grant_agrement(people, 1, name="Régie d'Ophélie d'Harcourt")
    structure_account(people, siret(1))["structure_id"] = structure_id_of(1)
    structure, officer = people["structure"]["actor"], people["officer"]
    candidate_id = register_vae(people["structure"], last_name="N'Diaye-Lefèvre", first_names="Éloïse")
    with session_scope() as db:
        dossier_id = svc.file_request(db, structure, candidate_id, requested_blocs=["SP-B2", "SP-B1"],
                                      experience="Six ans en ressourcerie « l'Envol ».").id
    with session_scope() as db:
        dossier = svc.decide_recevabilite(db, officer["actor"], dossier_id, decision="recevable",
                                          reason="Expérience d'au moins un an.")
        view = vae_view(db, dossier)
        current = WebUser(db.get(User, officer["id"]), officer["actor"], "jeton")
        out = vae_out(db, principal(current), dossier)
        page = page_context(db, current, dossier_id)
        letter = vae_context(view)["vae"]
    assert out.candidate_name == letter["candidate_name"] == view.candidate_name == "Éloïse N'Diaye-Lefèvre"
    assert out.structure_name == page["structure"].name == letter["structure_name"] == "Régie d'Ophélie d'Harcourt"
    assert [(b.code, b.title) for b in out.requested_blocs] == page["blocs"] \
        == [(b["code"], b["title"]) for b in letter["blocs"]] == view.requested_blocs
    assert [code for code, _ in view.requested_blocs] == ["SP-B1", "SP-B2"]
    assert all(title != code for code, title in view.requested_blocs)
    assert page["decided_by"].full_name == letter["decided_by_name"] == "Camille Martin"
    assert letter["certification_title"] == view.certification.title
