"""The router of the back-office pages (``/app/...``), left out of the OpenAPI schema."""

from __future__ import annotations

from fastapi import APIRouter

from api.web.render import WebRoute

router = APIRouter(prefix="/app", route_class=WebRoute, include_in_schema=False)
