"""HTML pages for registering, logging in and out."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import EmailStr, TypeAdapter, ValidationError

from trova.accounts import service
from trova.accounts.api import check_login_allowed, record_login_failure
from trova.deps import CSRFChecked, OptionalUser, SessionDep, login_session, logout_session
from trova.web.templating import render

router = APIRouter(include_in_schema=False)
_email = TypeAdapter(EmailStr)


def safe_next(target: str | None) -> str:
    """Only local paths: never redirect a user to another site after login."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/"


@router.get("/register")
def register_page(request: Request, user: OptionalUser, next: str | None = None) -> Response:
    if user:
        return RedirectResponse(safe_next(next), status_code=303)
    return render(request, "register.html", user=user, values={}, errors={}, next=safe_next(next))


@router.post("/register", dependencies=[CSRFChecked])
def register_submit(
    request: Request,
    session: SessionDep,
    email: Annotated[str, Form(max_length=254)] = "",
    name: Annotated[str, Form(max_length=200)] = "",
    password: Annotated[str, Form(max_length=200)] = "",
    next: Annotated[str, Form(max_length=500)] = "/",
) -> Response:
    errors: dict[str, str] = {}
    try:
        _email.validate_python(email.strip())
    except ValidationError:
        errors["email"] = "Enter a valid email address, like name@example.com."
    if not name.strip():
        errors["name"] = "Tell buyers what to call you."
    elif len(name.strip()) > 80:
        errors["name"] = "Keep your name to 80 characters or fewer."
    if len(password) < 8:
        errors["password"] = "Choose a password of at least 8 characters."
    if not errors:
        try:
            user = service.register(session, email=email, password=password, name=name)
        except service.AccountError as exc:
            errors["email"] = str(exc)
        else:
            login_session(request, user)
            return RedirectResponse(safe_next(next), status_code=303)
    values = {"email": email, "name": name}
    return render(
        request,
        "register.html",
        status_code=422,
        user=None,
        values=values,
        errors=errors,
        next=safe_next(next),
    )


@router.get("/login")
def login_page(request: Request, user: OptionalUser, next: str | None = None) -> Response:
    if user:
        return RedirectResponse(safe_next(next), status_code=303)
    return render(request, "login.html", user=None, values={}, error=None, next=safe_next(next))


@router.post("/login", dependencies=[CSRFChecked])
def login_submit(
    request: Request,
    session: SessionDep,
    email: Annotated[str, Form(max_length=254)] = "",
    password: Annotated[str, Form(max_length=200)] = "",
    next: Annotated[str, Form(max_length=500)] = "/",
) -> Response:
    try:
        check_login_allowed(request, email)
    except HTTPException as exc:
        return render(
            request,
            "login.html",
            status_code=429,
            user=None,
            values={"email": email},
            error=exc.detail,
            next=safe_next(next),
        )
    user = service.authenticate(session, email, password)
    if user is None:
        record_login_failure(request, email)
        return render(
            request,
            "login.html",
            status_code=401,
            user=None,
            values={"email": email},
            error="Wrong email or password.",
            next=safe_next(next),
        )
    login_session(request, user)
    return RedirectResponse(safe_next(next), status_code=303)


@router.post("/logout", dependencies=[CSRFChecked])
def logout(request: Request) -> Response:
    logout_session(request)
    return RedirectResponse("/", status_code=303)
