"""Tenant scoping: every owner-facing lookup goes through these, so none can forget the owner.

In the manner of Redash's ``get_by_id_and_org``: an object of another user is indistinguishable
from a missing one (werkzeug ``NotFound``, a 404 in the web app).
"""

from __future__ import annotations

from typing import Self

from sqlalchemy import Select, select
from sqlalchemy.orm import Session, object_session


def session_for(user, session: Session | None) -> Session:
    """The given session, else the user's own session, else Flask-SQLAlchemy's request session."""
    if session is not None:
        return session
    own = object_session(user) if user is not None and hasattr(user, "_sa_instance_state") else None
    if own is not None:
        return own
    from saas.extensions import db  # noqa: PLC0415 - only the web app has no explicit session

    return db.session


def user_id_of(user) -> int:
    """The id of a user object (or an int id)."""
    return user if isinstance(user, int) else user.id


class OwnedByUser:
    """Class helpers for models reachable from a user; subclasses define ``owner_filter``."""

    @classmethod
    def owner_filter(cls, query: Select, user_id: int) -> Select:
        """Restrict ``query`` (selecting cls) to rows of this user."""
        raise NotImplementedError

    @classmethod
    def owned_by(cls, user) -> Select:
        """A ``select(cls)`` limited to the user's rows; add filters and ordering to it."""
        return cls.owner_filter(select(cls), user_id_of(user))

    @classmethod
    def get_owned(cls, object_id, user, session: Session | None = None) -> Self | None:
        """The user's object with this id, or None (also for another user's object)."""
        from saas.inputs import parse_id  # noqa: PLC0415 - bot processes never get here

        object_id = parse_id(object_id)
        if object_id is None:
            return None  # not an id at all (out of range, unicode digits...): nothing has it
        query = cls.owned_by(user).where(cls.id == object_id)  # type: ignore[attr-defined]
        return session_for(user, session).scalars(query).one_or_none()

    @classmethod
    def get_owned_or_404(cls, object_id, user, session: Session | None = None) -> Self:
        """The user's object with this id; NotFound when missing or someone else's."""
        found = cls.get_owned(object_id, user, session)
        if found is None:
            # Imported here: bot processes load the models and must not pay for werkzeug.
            from werkzeug.exceptions import NotFound  # noqa: PLC0415

            raise NotFound()
        return found
