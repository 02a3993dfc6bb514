"""The agrément machines as declared: who may fire what, from where, under which guards."""

from datetime import date

import pytest

from certification.errors import Forbidden, InvalidTransition, ValidationFailed
from certification.models import Role
from certification.agrement.states import AGREMENT, AGREMENT_REQUEST, RequestState
from certification.statemachine import StateMachine, transition


class Req:
    def __init__(self, **kw):
        self.avis = kw.get("avis")
        self.complements_deadline = kw.get("complements_deadline")


def test_officer_declares_admissible_with_required_pieces():
    t = AGREMENT_REQUEST.check(
        "declare_admissible",
        RequestState.submitted,
        Role.officer,
        entity=Req(),
        context={"piece_kinds": {"dossier", "attestation_epsp"}},
    )
    assert t.target == RequestState.admissible


def test_admissibility_needs_the_epsp_attestation():
    with pytest.raises(InvalidTransition, match="attestation de formation EPSP"):
        AGREMENT_REQUEST.check(
            "declare_admissible",
            RequestState.submitted,
            Role.officer,
            entity=Req(),
            context={"piece_kinds": {"dossier"}},
        )


@pytest.mark.parametrize("role", [Role.mandataire, Role.controleur, Role.formateur, Role.structure, Role.system])
def test_only_officers_decide(role):
    with pytest.raises(Forbidden):
        AGREMENT_REQUEST.check("grant", RequestState.under_review, role, entity=Req(avis="favorable"))


def test_decision_requires_the_avis():
    with pytest.raises(InvalidTransition, match="avis du mandataire"):
        AGREMENT_REQUEST.check("grant", RequestState.under_review, Role.officer, entity=Req())
    AGREMENT_REQUEST.check("grant", RequestState.under_review, Role.officer, entity=Req(avis="favorable"))


def test_refusal_requires_a_reason():
    with pytest.raises(ValidationFailed):
        AGREMENT_REQUEST.check(
            "refuse", RequestState.under_review, Role.officer, entity=Req(avis="defavorable"), reason="  "
        )


def test_no_transition_from_a_final_state():
    for state in (RequestState.granted, RequestState.refused, RequestState.closed, RequestState.withdrawn):
        assert AGREMENT_REQUEST.available(state, Role.officer) == []
        assert AGREMENT_REQUEST.available(state, Role.mandataire) == []
    with pytest.raises(InvalidTransition, match="agrément accordé"):
        AGREMENT_REQUEST.check("request_complements", RequestState.granted, Role.officer, reason="x")


def test_closing_waits_for_the_deadline():
    req = Req(complements_deadline=date(2026, 3, 1))

    def close_on(day: date):
        context = {"today": day}
        return AGREMENT_REQUEST.check(
            "close_unanswered", RequestState.incomplete, Role.system, entity=req, context=context, reason="r"
        )

    with pytest.raises(InvalidTransition, match="pas échu"):
        close_on(date(2026, 3, 1))
    assert close_on(date(2026, 3, 2)).target == RequestState.closed


def test_agrement_lifecycle_roles():
    assert AGREMENT.check("suspend", "active", Role.officer, reason="contrôle").target == "suspended"
    with pytest.raises(Forbidden):
        AGREMENT.check("suspend", "active", Role.controleur, reason="x")
    assert {t.name for t in AGREMENT.available("suspended", Role.officer)} == {"reinstate", "withdraw"}
    assert AGREMENT.available("withdrawn", Role.officer) == []


def test_machine_definition_is_checked():
    with pytest.raises(ValueError, match="unknown states"):
        StateMachine("m", {"a": "A"}, [transition("go", ["a"], "b", [Role.officer], "aller")])


def test_initial_and_final_states_follow_from_the_definition():
    machine = StateMachine(
        "m", {"a": "A", "b": "B", "c": "C"}, [transition("go", ["a", "b"], "c", [Role.officer], "x")]
    )
    assert (machine.initial, machine.final) == ("a", frozenset({"c"}))
    assert AGREMENT_REQUEST.initial == RequestState.submitted
    assert AGREMENT.final == {"renewed", "expired", "withdrawn"}
