"""Reading an HTML form: the request's form once per request, and one field as text."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from starlette.datastructures import FormData


async def read_form(request: Request) -> FormData:
    return await request.form()


# A dependency, so a route's permission dependencies run before the body is read.
FormDep = Annotated[FormData, Depends(read_form)]


def form_text(form: FormData, name: str) -> str:
    """A field's text, or "" when it is missing or a file."""
    value = form.get(name)
    return value if isinstance(value, str) else ""
