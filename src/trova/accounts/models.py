"""User accounts: sellers, buyers, and (later) admins and annotators."""

from __future__ import annotations

from datetime import datetime

from pydantic import EmailStr
from sqlmodel import Field, SQLModel

from trova.db._time import utcnow


class UserBase(SQLModel):
    email: str = Field(max_length=254, unique=True, index=True)
    name: str = Field(max_length=80)


class User(UserBase, table=True):
    id: int | None = Field(default=None, primary_key=True)
    password_hash: str = Field(max_length=255)
    roles: str = Field(default="", max_length=200)  # comma-separated: "admin,annotator"
    api_token_hash: str | None = Field(default=None, max_length=128, index=True)
    created_at: datetime = Field(default_factory=utcnow)

    def has_role(self, role: str) -> bool:
        return role in self.role_list

    @property
    def role_list(self) -> list[str]:
        return [r for r in self.roles.split(",") if r]


class UserPublic(SQLModel):
    id: int
    name: str


class UserMe(UserPublic):
    email: str
    roles: list[str]


class Credentials(SQLModel):
    # Not EmailStr: logging in only looks the address up (demo accounts use *.local addresses).
    email: str = Field(min_length=1, max_length=254)
    password: str = Field(min_length=1, max_length=200)


class Registration(SQLModel):
    email: EmailStr
    password: str = Field(min_length=8, max_length=200)
    name: str = Field(min_length=1, max_length=80)
