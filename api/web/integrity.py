"""The integrity page of the back-office (officers): the state of the audit chain (first broken
link), of the files and of the register of certificate numbers, as ``cqp check`` reports them."""

from __future__ import annotations

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool

from api.maintenance import check_installation
from api.web.render import SECTION_ROLES, render
from api.web.router import router
from api.web.session import WebUser, require_roles, web_user


@router.get("/integrite", summary="Intégrité du dossier de certification")
async def integrity_page(request: Request, current: WebUser = Depends(web_user)):
    require_roles(current, SECTION_ROLES["integrite"], "Les vérifications d'intégrité")
    report = await run_in_threadpool(check_installation)
    return render(request, "integrity.html", section="integrite", report=report)
