"""Pages: the summary, the live debate screen, the spotlight controls and the print brief."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["pages"], include_in_schema=False)
