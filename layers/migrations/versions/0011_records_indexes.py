"""Indexes for the records at a city's scale (bench/records_scale.py,
docs/benchmarks-records.md):

- ``audit_log (action, id)``: the audit list of one action (``GET /api/audit?action=…``,
  ``blueprint audit log --action``) read the whole log backwards until it had its rows — for
  a rare action every row of years of use;
- ``quota_operations (project)``: a project's holds (every allocation draws from them
  first, the project page and the hold checks list them) were found through the index on
  ``(op, year, kind)``, i.e. among every hold of the city.

Revision ID: 0011_records_indexes
"""

from alembic import op

revision = "0011_records_indexes"
down_revision = "0010_import_speed"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_audit_log_action", "audit_log", ["action", "id"])
    op.create_index("ix_quota_operations_project", "quota_operations", ["project"])


def downgrade() -> None:
    op.drop_index("ix_quota_operations_project", table_name="quota_operations")
    op.drop_index("ix_audit_log_action", table_name="audit_log")
