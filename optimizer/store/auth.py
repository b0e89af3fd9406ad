"""Who may do what: the roles, the acting user, and the one check every write goes through.

Local stores (the SQLite default) have one user, the operating-system user, with every
role and no login. Team stores (PostgreSQL, or an SQLite store set up with `--team`) have
users with roles; passwords are hashed with Argon2id by argon2-cffi (`PasswordHasher`),
a maintained binding of the reference implementation that won the Password Hashing
Competition, with salts, parameters and constant-time verification built in.
"""

from __future__ import annotations

import datetime as dt
import getpass
from dataclasses import dataclass
from enum import StrEnum

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from optimizer.errors import InputError, Problem
from optimizer.store.db import get_meta
from optimizer.store.models import User

ROLES = ("planner", "finance", "approver", "admin")


class Action(StrEnum):
    """Everything the store lets a user do."""

    VIEW = "view"  # list, show, diff, history
    EXPORT = "export"  # write a plan's files
    SAVE = "save"  # a new scenario version and its plan (a re-plan too)
    IMPORT_ACTUALS = "import_actuals"  # a quarter's actuals against a plan of record
    SUBMIT = "submit"
    APPROVE = "approve"
    REJECT = "reject"
    USERS = "users"  # add users, change roles
    BACKUP = "backup"  # dump (holds password hashes) and load


# the role that grants each action; VIEW needs only a login
GRANTS: dict[Action, frozenset[str]] = {
    Action.VIEW: frozenset(ROLES),
    Action.EXPORT: frozenset(ROLES),
    Action.SAVE: frozenset({"planner"}),
    Action.IMPORT_ACTUALS: frozenset({"planner"}),
    Action.SUBMIT: frozenset({"planner"}),
    Action.APPROVE: frozenset({"approver"}),
    Action.REJECT: frozenset({"approver"}),
    Action.USERS: frozenset({"admin"}),
    Action.BACKUP: frozenset({"admin"}),
}

_hasher = PasswordHasher()


class PermissionDenied(InputError):
    """The acting user's roles do not allow the action."""

    def __init__(self, message: str):
        super().__init__([Problem("permission", message)])


@dataclass(frozen=True)
class Actor:
    """The user a call acts for: `team` says whether they logged in to a team store."""

    name: str
    team: bool


def os_user() -> str:
    """The operating-system user name (the actor of a local store)."""
    try:
        return getpass.getuser()
    except Exception:  # noqa: BLE001 - no user name in the environment (containers)
        return "local"


def hash_password(password: str) -> str:
    """An Argon2id hash of `password`."""
    return _hasher.hash(password)


def is_team(session: Session) -> bool:
    """Whether the store asks for logins."""
    return get_meta(session, "mode", "local") == "team"


def authenticate(session: Session, name: str, password: str) -> Actor:
    """The team user `name` if `password` is theirs; the same message for any failure."""
    user = session.get(User, name)
    bad = PermissionDenied("wrong user name or password (or the user is disabled)")
    if user is None or not user.active:
        _hasher.hash(password)  # about the same time as a real check: no user enumeration
        raise bad
    try:
        _hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        raise bad from None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    return Actor(name, team=True)


def roles_of(session: Session, actor: Actor) -> frozenset[str]:
    """The roles the store gives `actor` now (read from the store, never from the caller)."""
    if not is_team(session):
        if actor.team:
            raise PermissionDenied("this store is local; it has no logins")
        return frozenset(ROLES)
    if not actor.team:
        raise PermissionDenied("this is a team store: log in first (--user NAME, password "
                               "from the prompt or OPTIMIZER_PASSWORD)")
    user = session.get(User, actor.name)
    if user is None or not user.active:
        raise PermissionDenied(f"user '{actor.name}' is not a user of this store")
    return frozenset(r for r in user.roles.split(",") if r)


def require(session: Session, actor: Actor, action: Action) -> None:
    """Raise PermissionDenied unless `actor` holds a role that grants `action`."""
    have = roles_of(session, actor)
    if not have & GRANTS[action]:
        need = " or ".join(sorted(GRANTS[action]))
        mine = ", ".join(sorted(have)) or "none"
        raise PermissionDenied(f"{actor.name} may not {action.value} (needs the role {need}; "
                               f"has {mine})")


def parse_roles(text: str) -> str:
    """'planner,approver' checked against ROLES, in a stable order."""
    roles = {r.strip() for r in text.split(",") if r.strip()}
    unknown = sorted(roles - set(ROLES))
    if unknown or not roles:
        raise InputError([Problem("--role", f"unknown role {', '.join(unknown) or '(none)'}; "
                                  f"expected some of {', '.join(ROLES)}")])
    return ",".join(r for r in ROLES if r in roles)


def add_user(session: Session, by: str, name: str, password: str, roles: str) -> User:
    """Create a team user (the caller has checked Action.USERS)."""
    if not name.strip():
        raise InputError([Problem("user", "a user name cannot be empty")])
    if len(password) < 8:
        raise InputError([Problem("password", "a password needs at least 8 characters")])
    if session.get(User, name) is not None:
        raise InputError([Problem("user", f"user '{name}' exists already")])
    user = User(name=name, password_hash=hash_password(password), roles=parse_roles(roles),
                active=True, created_at=dt.datetime.now(dt.UTC), created_by=by)
    session.add(user)
    return user


def user_count(session: Session) -> int:
    """How many users a store has."""
    return len(session.scalars(select(User.name)).all())
