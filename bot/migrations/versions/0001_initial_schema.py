"""Initial schema: applications, status history, verification attempts, offices.

Revision ID: 0001_initial
Revises:
Create Date: 2026-11-24
"""

import sqlalchemy as sa
from alembic import op

revision = "0001_initial"
down_revision = None
branch_labels = None
depends_on = None

# Spelled out rather than imported from bot.statuses: a migration must keep describing the
# schema as it was when written, whatever the code says later.
_STATUSES = (
    "submitted",
    "under_review",
    "in_production",
    "ready_for_collection",
    "collected",
    "rejected",
)


def upgrade() -> None:
    op.create_table(
        "applications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("application_number", sa.String(length=12), nullable=False),
        sa.Column("holder_name", sa.Text(), nullable=False),
        sa.Column("holder_id_number", sa.String(length=18), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("updated_at", sa.Date(), nullable=False),
        sa.Column("collection_point", sa.Text(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_applications"),
        sa.UniqueConstraint("application_number", name="uq_applications_application_number"),
        sa.CheckConstraint(
            "status IN (" + ", ".join(f"'{status}'" for status in _STATUSES) + ")",
            name="ck_applications_status",
        ),
    )
    op.create_table(
        "status_history",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("application_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("changed_at", sa.Date(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_status_history"),
        sa.ForeignKeyConstraint(
            ["application_id"],
            ["applications.id"],
            name="fk_status_history_application_id_applications",
            ondelete="CASCADE",
        ),
    )
    op.create_index("ix_status_history_application_id", "status_history", ["application_id"])
    op.create_table(
        "verification_attempts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("application_number", sa.String(length=12), nullable=False),
        sa.Column("attempted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("succeeded", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_verification_attempts"),
    )
    op.create_index(
        "ix_verification_attempts_application_number_attempted_at",
        "verification_attempts",
        ["application_number", "attempted_at"],
    )
    op.create_table(
        "offices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("district", sa.Text(), nullable=False),
        sa.Column("address", sa.Text(), nullable=False),
        sa.Column("hours", sa.Text(), nullable=False),
        sa.Column("phone", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_offices"),
        sa.UniqueConstraint("name", name="uq_offices_name"),
    )


def downgrade() -> None:
    op.drop_table("offices")
    op.drop_index(
        "ix_verification_attempts_application_number_attempted_at",
        table_name="verification_attempts",
    )
    op.drop_table("verification_attempts")
    op.drop_index("ix_status_history_application_id", table_name="status_history")
    op.drop_table("status_history")
    op.drop_table("applications")
