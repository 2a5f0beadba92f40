"""FastAPI dependencies shared by the API and the pages: typed aliases, auth, CSRF."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, HTTPException, Path, Request, status
from sqlalchemy.engine import Engine
from sqlmodel import Session

from trova.accounts import service as accounts
from trova.accounts.models import User
from trova.config import Settings
from trova.media.storage import Storage


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_engine(request: Request) -> Engine:
    engine: Engine = request.app.state.engine
    return engine


def get_session(request: Request) -> Iterator[Session]:
    with Session(request.app.state.engine, expire_on_commit=False) as session:
        yield session


def get_storage(request: Request) -> Storage:
    storage: Storage = request.app.state.storage
    return storage


SettingsDep = Annotated[Settings, Depends(get_settings)]
SessionDep = Annotated[Session, Depends(get_session)]
StorageDep = Annotated[Storage, Depends(get_storage)]


def get_optional_user(request: Request, session: SessionDep) -> User | None:
    """The user from a Bearer API token or the session cookie, if any."""
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        user = accounts.user_for_token(session, auth[7:].strip())
        if user is None:
            raise HTTPException(status.HTTP_401_UNAUTHORIZED, "This API token is not valid.")
        request.state.token_auth = True
        return user
    user_id = request.session.get("user_id")
    if not isinstance(user_id, int):
        return None
    user = session.get(User, user_id)
    if user is None:
        request.session.clear()
    return user


OptionalUser = Annotated[User | None, Depends(get_optional_user)]


def get_current_user(user: OptionalUser) -> User:
    if user is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED, "Log in first: POST /api/auth/login or use /login."
        )
    return user


CurrentUser = Annotated[User, Depends(get_current_user)]


# ---------------------------------------------------------------- sessions and CSRF


def csrf_token(request: Request) -> str:
    """The session's CSRF token, created on first use; every page form carries it."""
    token = request.session.get("csrf")
    if not isinstance(token, str):
        token = secrets.token_urlsafe(32)
        request.session["csrf"] = token
    return token


def login_session(request: Request, user: User) -> None:
    """Start a fresh session for `user` (a new CSRF token too: no session fixation)."""
    request.session.clear()
    request.session["user_id"] = user.id
    csrf_token(request)


def logout_session(request: Request) -> None:
    request.session.clear()


async def verify_csrf(request: Request) -> None:
    """Page forms: the posted `csrf_token` (or X-CSRF-Token header) must match the session."""
    expected = request.session.get("csrf")
    sent = request.headers.get("x-csrf-token")
    if not sent:
        form = await request.form()
        value = form.get("csrf_token")
        sent = value if isinstance(value, str) else None
    if not expected or not sent or not secrets.compare_digest(str(expected), sent):
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            "This form has expired or did not come from Trova. Reload the page and try again.",
        )


CSRFChecked = Depends(verify_csrf)


def verify_same_origin(request: Request) -> None:
    """API calls authenticated by cookie must not come from another site.

    The session cookie is SameSite=Lax (no cross-site POSTs carry it); this is the belt to
    those braces: browsers send Origin / Sec-Fetch-Site on cross-site requests.
    """
    if request.method in ("GET", "HEAD", "OPTIONS") or getattr(request.state, "token_auth", False):
        return
    if request.headers.get("sec-fetch-site") == "cross-site":
        raise HTTPException(status.HTTP_403_FORBIDDEN, "Cross-site requests are not allowed.")
    origin = request.headers.get("origin")
    if origin and origin != "null":
        host = request.headers.get("host", "")
        if origin.split("://", 1)[-1] != host:
            raise HTTPException(status.HTTP_403_FORBIDDEN, "Cross-site requests are not allowed.")


# Ids in paths: bounded so an absurd id is a 422, never an integer overflow in the database
# (PostgreSQL INTEGER is 32-bit; SQLite's is 64-bit).
ListingId = Annotated[int, Path(ge=1, le=2_147_483_647, description="A listing id")]
