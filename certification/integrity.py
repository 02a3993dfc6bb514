"""Checks of the case record held in the database: the register of certificate numbers and the
audit chain (the files are checked by ``documents.integrity``). Problems are French sentences."""

from __future__ import annotations

import re
from collections import defaultdict

from sqlmodel import Session, select

from certification.audit_chain import verify_chain
from certification.models import Certification, Counter
from certification.jury.models import Certificate

_NUMBER = re.compile(r"^(?P<short>[A-Z0-9]+)-(?P<year>\d{4})-(?P<n>\d+)$")


def register_problems(db: Session) -> list[str]:
    """Every certificate number of the register is accounted for: per certification and year, the
    numbers run from 1 to the counter's value without gap or duplicate."""
    codes = {c.id: c.code for c in db.exec(select(Certification))}
    seen: dict[tuple[str, int], list[int]] = defaultdict(list)
    problems = []
    for number, certification_id in db.exec(select(Certificate.number, Certificate.certification_id)):
        match = _NUMBER.match(number)
        code = codes.get(certification_id, "?")
        if match is None or match["short"] != code.removeprefix("CQP_"):
            problems.append(f"Registre : le numéro {number} n'a pas la forme attendue pour {code}.")
            continue
        seen[(code, int(match["year"]))].append(int(match["n"]))
    counters = {
        (c.name.removeprefix("certificate-"), c.year): c.value
        for c in db.exec(select(Counter).where(Counter.name.startswith("certificate-")))
    }
    for key in sorted(set(seen) | set(counters)):
        code, year = key
        values = sorted(seen.get(key, []))
        duplicates = sorted({v for v in values if values.count(v) > 1})
        expected = set(range(1, counters.get(key, max(values, default=0)) + 1))
        missing = sorted(expected - set(values))
        if duplicates:
            problems.append(f"Registre {code} {year} : numéros en double : {', '.join(map(str, duplicates))}.")
        if missing:
            shown = ", ".join(map(str, missing[:20])) + (" …" if len(missing) > 20 else "")
            problems.append(f"Registre {code} {year} : numéros manquants : {shown}.")
        if values and values[-1] > counters.get(key, 0):
            problems.append(
                f"Registre {code} {year} : le numéro {values[-1]} dépasse le compteur ({counters.get(key, 0)})."
            )
    return problems


def audit_problems(db: Session) -> list[str]:
    report = verify_chain(db)
    if report.intact:
        return []
    return [f"Journal d'audit : première rupture de la chaîne à la {report.first_break.describe()}."]
