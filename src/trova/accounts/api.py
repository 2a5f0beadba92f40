"""JSON auth endpoints: register, log in (session cookie), log out, API tokens."""

from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException, Request, status
from pydantic import BaseModel

from trova.accounts import service
from trova.accounts.models import Credentials, Registration, UserMe
from trova.accounts.models import User as UserTable
from trova.deps import (
    CurrentUser,
    SessionDep,
    login_session,
    logout_session,
    verify_same_origin,
)

router = APIRouter(prefix="/api/auth", tags=["auth"], dependencies=[Depends(verify_same_origin)])


class Token(BaseModel):
    token: str
    token_type: str = "bearer"


def me_of(user: UserTable) -> UserMe:
    assert user.id is not None
    return UserMe(id=user.id, name=user.name, email=user.email, roles=user.role_list)


def client_key(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def check_login_allowed(request: Request, email: str) -> None:
    """Refuse with 429 when this address or this account has failed too often."""
    limiter = request.app.state.login_limiter
    wait = max(
        limiter.blocked_for("ip:" + client_key(request)),
        limiter.blocked_for("email:" + service.normalize_email(email)),
    )
    if wait > 0:
        raise HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS,
            f"Too many failed logins. Try again in {int(wait // 60) + 1} minutes.",
            headers={"Retry-After": str(int(wait) + 1)},
        )


def record_login_failure(request: Request, email: str) -> None:
    limiter = request.app.state.login_limiter
    limiter.hit("ip:" + client_key(request))
    limiter.hit("email:" + service.normalize_email(email))


@router.post("/register", response_model=UserMe, status_code=status.HTTP_201_CREATED)
def register(body: Registration, request: Request, session: SessionDep) -> UserMe:
    """Create an account and log in (sets the session cookie)."""
    try:
        user = service.register(session, email=body.email, password=body.password, name=body.name)
    except service.AccountError as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None
    login_session(request, user)
    return me_of(user)


@router.post("/login", response_model=UserMe)
def login(body: Credentials, request: Request, session: SessionDep) -> UserMe:
    """Log in with email and password (sets the session cookie). Rate-limited."""
    check_login_allowed(request, body.email)
    user = service.authenticate(session, body.email, body.password)
    if user is None:
        record_login_failure(request, body.email)
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "Wrong email or password.")
    login_session(request, user)
    return me_of(user)


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT)
def logout(request: Request) -> None:
    logout_session(request)


@router.get("/me", response_model=UserMe)
def me(user: CurrentUser) -> UserMe:
    return me_of(user)


@router.post("/token", response_model=Token)
def create_token(user: CurrentUser, session: SessionDep) -> Token:
    """Issue a personal API token (replaces the previous one); send it as `Bearer <token>`."""
    return Token(token=service.issue_api_token(session, user))
