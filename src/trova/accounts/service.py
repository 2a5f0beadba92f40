"""Registration, password checks and API tokens. No HTTP here."""

from __future__ import annotations

import hashlib
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlmodel import Session, select

from trova.accounts.models import User

_hasher = PasswordHasher()
# Verified against when the email is unknown, so both paths cost the same (no user enumeration).
_DUMMY_HASH = _hasher.hash("not-a-real-password")


class AccountError(ValueError):
    """A user-facing problem with an account action."""


def normalize_email(email: str) -> str:
    return email.strip().lower()


def get_by_email(session: Session, email: str) -> User | None:
    return session.exec(select(User).where(User.email == normalize_email(email))).first()


def register(session: Session, *, email: str, password: str, name: str) -> User:
    """Create a user; raises AccountError if the email is taken or the input is unusable."""
    name = " ".join(name.split())
    if not name:
        raise AccountError("Please tell us your name.")
    if len(password) < 8:
        raise AccountError("Choose a password of at least 8 characters.")
    if get_by_email(session, email):
        raise AccountError("An account with this email already exists. Log in instead.")
    user = User(email=normalize_email(email), name=name, password_hash=_hasher.hash(password))
    session.add(user)
    session.commit()
    session.refresh(user)
    return user


def authenticate(session: Session, email: str, password: str) -> User | None:
    """The user whose email and password match, else None."""
    user = get_by_email(session, email)
    try:
        _hasher.verify(user.password_hash if user else _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        return None
    if user is None:
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
        session.add(user)
        session.commit()
    return user


def _token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_api_token(session: Session, user: User) -> str:
    """Create (or replace) the user's API token; only its hash is stored."""
    token = "trv_" + secrets.token_urlsafe(32)
    user.api_token_hash = _token_digest(token)
    session.add(user)
    session.commit()
    return token


def user_for_token(session: Session, token: str) -> User | None:
    return session.exec(select(User).where(User.api_token_hash == _token_digest(token))).first()


def grant_role(session: Session, email: str, role: str) -> User:
    user = get_by_email(session, email)
    if user is None:
        raise AccountError(f"No user with email {email!r}.")
    if role not in user.role_list:
        user.roles = ",".join([*user.role_list, role])
        session.add(user)
        session.commit()
    return user
