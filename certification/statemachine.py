"""Explicit state machines: states, transitions, the roles allowed to fire each, guards.

A transition is applied by :func:`certification.audit.apply_transition`, which writes the
audit event in the same transaction and uses a compare-and-set update so that two concurrent
actors can never both move the same dossier.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from certification.errors import Forbidden, InvalidTransition, ValidationFailed
from certification.models import Role

# A guard receives the entity and a context mapping; it returns None or a French error message.
Guard = Callable[[Any, Mapping[str, Any]], str | None]


def context_required(key: str, refusal: str) -> Guard:
    """A guard refused with ``refusal`` unless the context gives something under ``key`` (a report's
    findings, an action plan's evidence…)."""

    def given(_entity: Any, ctx: Mapping[str, Any]) -> str | None:
        if not ctx.get(key):
            return refusal
        return None

    return given


@dataclass(frozen=True)
class Transition:
    name: str
    sources: frozenset[str]
    target: str
    roles: frozenset[Role]
    label: str  # French, shown in timelines
    guards: tuple[Guard, ...] = ()
    requires_reason: bool = False


def transition(
    name: str,
    sources: Iterable[str],
    target: str,
    roles: Iterable[Role],
    label: str,
    *,
    guards: Iterable[Guard] = (),
    requires_reason: bool = False,
) -> Transition:
    return Transition(name, frozenset(sources), target, frozenset(roles), label, tuple(guards), requires_reason)


@dataclass
class StateMachine:
    """A process's states and transitions. The initial state is the first of ``states``; the final
    states are those that no transition leaves."""

    name: str
    states: Mapping[Any, str]  # state (a StrEnum member) -> French label, the initial state first
    transitions: list[Transition]
    # Audited actions of the process that are not transitions (e.g. a dossier's creation) -> French label.
    events: Mapping[str, str] = field(default_factory=dict)
    initial: str = field(init=False)
    final: frozenset[str] = field(init=False)

    def __post_init__(self) -> None:
        self._by_name = {t.name: t for t in self.transitions}
        if len(self._by_name) != len(self.transitions):
            raise ValueError(f"{self.name}: duplicate transition names")
        for t in self.transitions:
            unknown = (t.sources | {t.target}) - set(self.states)
            if unknown:
                raise ValueError(f"{self.name}.{t.name}: unknown states {sorted(unknown)}")
        self.initial = next(iter(self.states))
        left = {state for t in self.transitions for state in t.sources}
        self.final = frozenset(state for state in self.states if state not in left)

    def get(self, name: str) -> Transition:
        try:
            return self._by_name[name]
        except KeyError:
            raise InvalidTransition(f"Transition inconnue : {name}.", code="unknown_transition") from None

    def check(
        self,
        name: str,
        current: str,
        role: Role | str,
        *,
        entity: Any = None,
        context: Mapping[str, Any] | None = None,
        reason: str | None = None,
    ) -> Transition:
        """Return the transition if ``role`` may fire it from ``current``, else raise."""
        t = self.get(name)
        if Role(role) not in t.roles:
            raise Forbidden(
                f"Le rôle « {Role(role).value} » ne peut pas effectuer l'action « {t.label} ».",
                code="role_not_allowed",
            )
        if current not in t.sources:
            raise InvalidTransition(
                f"Action « {t.label} » impossible : le dossier est à l'état « {self.states.get(current, current)} ».",
                details={"state": current, "transition": name},
            )
        if t.requires_reason and not (reason and reason.strip()):
            raise ValidationFailed(f"Un motif est obligatoire pour l'action « {t.label} ».", code="reason_required")
        for guard in t.guards:
            problem = guard(entity, context or {})
            if problem:
                raise InvalidTransition(problem, code="guard_failed", details={"transition": name})
        return t

    def available(self, current: str, role: Role | str) -> list[Transition]:
        return [t for t in self.transitions if current in t.sources and Role(role) in t.roles]

    def is_final(self, state: str) -> bool:
        return state in self.final
