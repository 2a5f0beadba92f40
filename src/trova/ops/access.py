"""Who may use the ops console: admins everywhere, annotators in the annotation queues."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Request, status

from trova.accounts.models import User
from trova.deps import CurrentUser

ADMIN, ANNOTATOR = "admin", "annotator"


def _need(user: User, *roles: str) -> User:
    if not any(user.has_role(role) for role in roles):
        wanted = " or ".join(roles)
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            f"This part of Trova is for staff with the {wanted} role; ask an admin "
            "(`trova users grant EMAIL ROLE`).",
        )
    return user


def _admin(request: Request, user: CurrentUser) -> User:
    request.state.user = user
    return _need(user, ADMIN)


def _staff(request: Request, user: CurrentUser) -> User:
    request.state.user = user
    return _need(user, ADMIN, ANNOTATOR)


AdminUser = Annotated[User, Depends(_admin)]
StaffUser = Annotated[User, Depends(_staff)]


def is_admin(user: User | None) -> bool:
    return bool(user and user.has_role(ADMIN))


def flash(request: Request, message: str, kind: str = "success") -> None:
    """A one-time message shown on the next ops page."""
    request.session["ops_flash"] = [kind, message[:500]]


def pop_flash(request: Request) -> tuple[str, str] | None:
    value = request.session.pop("ops_flash", None)
    if isinstance(value, list) and len(value) == 2:
        return str(value[0]), str(value[1])
    return None
