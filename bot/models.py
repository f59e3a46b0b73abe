"""ORM mapping of the bureau's tables. Alembic owns the schema (bot/migrations/); these classes
must match the newest migration, which tests/data_layer/test_schema.py checks.
"""

from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
)
from sqlalchemy.orm import declarative_base, relationship
from sqlalchemy.types import TypeDecorator

from bot.statuses import STATUS_VALUES

# Explicit constraint names keep migrations reproducible across backends (SQLite batch
# migrations need names to find constraints again).
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

Base = declarative_base(metadata=MetaData(naming_convention=NAMING_CONVENTION))

STATUS_LENGTH = 32
APPLICATION_NUMBER_LENGTH = 12


def utc_now() -> datetime:
    """The current time as a timezone-aware UTC datetime."""
    return datetime.now(timezone.utc)


class UtcDateTime(TypeDecorator):
    """A timestamp that is always a timezone-aware UTC datetime in Python.

    PostgreSQL stores timestamptz and returns aware values; SQLite has no time zone type and
    returns naive ones. Storing UTC and re-attaching UTC on the way out makes both backends
    compare and subtract the same way.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use a timezone-aware UTC datetime")
        return value.astimezone(timezone.utc)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


class Application(Base):
    """A card application as the bureau's case system exported it."""

    __tablename__ = "applications"
    __table_args__ = (
        CheckConstraint(
            "status IN (" + ", ".join(f"'{value}'" for value in STATUS_VALUES) + ")",
            name="status",
        ),
    )

    id = Column(Integer, primary_key=True)
    application_number = Column(String(APPLICATION_NUMBER_LENGTH), nullable=False, unique=True)
    holder_name = Column(Text, nullable=False)
    holder_id_number = Column(String(18), nullable=False)
    status = Column(String(STATUS_LENGTH), nullable=False)
    updated_at = Column(Date, nullable=False)
    collection_point = Column(Text, nullable=True)
    note = Column(Text, nullable=True)

    history = relationship(
        "StatusChange",
        back_populates="application",
        order_by="StatusChange.id",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )


class StatusChange(Base):
    """One status an application entered: when the case system says (changed_at) and when
    this database learnt of it (recorded_at)."""

    __tablename__ = "status_history"

    id = Column(Integer, primary_key=True)
    application_id = Column(
        Integer,
        ForeignKey("applications.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    )
    status = Column(String(STATUS_LENGTH), nullable=False)
    changed_at = Column(Date, nullable=False)
    recorded_at = Column(UtcDateTime, nullable=False, default=utc_now)

    application = relationship("Application", back_populates="history")


class VerificationAttempt(Base):
    """One check of an ID tail against an application number.

    application_number is deliberately not a foreign key: attempts on numbers that do not
    exist are recorded and locked the same way, so the lockout does not reveal which exist.
    """

    __tablename__ = "verification_attempts"
    __table_args__ = (
        # The lockout reads one number's recent attempts in time order on every check.
        Index(
            "ix_verification_attempts_application_number_attempted_at",
            "application_number",
            "attempted_at",
        ),
    )

    id = Column(Integer, primary_key=True)
    application_number = Column(String(APPLICATION_NUMBER_LENGTH), nullable=False)
    attempted_at = Column(UtcDateTime, nullable=False)
    succeeded = Column(Boolean, nullable=False)


class Office(Base):
    """A social security office where parents apply for and collect cards."""

    __tablename__ = "offices"

    id = Column(Integer, primary_key=True)
    name = Column(Text, nullable=False, unique=True)
    district = Column(Text, nullable=False)
    address = Column(Text, nullable=False)
    hours = Column(Text, nullable=False)
    phone = Column(Text, nullable=False)
