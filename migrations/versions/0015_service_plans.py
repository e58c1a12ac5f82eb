"""保养计划 / 计量计划 (service plans): the plans, the order's plan, occurrence, contact and checklist
(a planned order's reporter is the system, so reporter_id may be empty), and an alert plan's third
subject (an overdue occurrence); existing rows keep every value

Revision ID: 0015_service_plans
Revises: 0014_alert_digests
Create Date: 2026-12-12 08:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0015_service_plans'
down_revision = '0014_alert_digests'
branch_labels = None
depends_on = None

OLD_SUBJECT_CHECK = '(credential_id IS NULL) <> (authorization_id IS NULL)'
NEW_SUBJECT_CHECK = (
    "(CASE WHEN credential_id IS NULL THEN 0 ELSE 1 END) + (CASE WHEN authorization_id IS NULL THEN 0 ELSE 1 END)"
    " + (CASE WHEN service_plan_id IS NULL THEN 0 ELSE 1 END) = 1"
)


def _foreign_keys(on: bool) -> None:
    """SQLite rebuilds work_orders and alert_plans to change a column and a check: their children's
    rows (events, messages) would fail the foreign keys while the old table is dropped, so the check
    is off meanwhile (no transaction is open: SQLite's DDL here is not transactional)."""
    if op.get_bind().dialect.name == 'sqlite':
        op.execute(f"PRAGMA foreign_keys={'ON' if on else 'OFF'}")


def upgrade():
    _foreign_keys(False)
    op.create_table(
        'service_plans',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('institution_id', sa.Integer(), nullable=False),
        sa.Column('device_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=20), nullable=False),
        sa.Column('interval_count', sa.Integer(), nullable=False),
        sa.Column('interval_unit', sa.Enum('day', 'month', name='intervalunit', native_enum=False, length=20), nullable=False),
        sa.Column('lead_days', sa.Integer(), nullable=False),
        sa.Column('anchor', sa.Enum('schedule', 'completion', name='plananchor', native_enum=False, length=20), nullable=False),
        sa.Column('anchor_day', sa.Integer(), nullable=False),
        sa.Column('checklist', sa.JSON(), nullable=False),
        sa.Column('contact_id', sa.Integer(), nullable=True),
        sa.Column('note', sa.String(length=200), nullable=True),
        sa.Column('status', sa.Enum('active', 'ended', name='serviceplanstatus', native_enum=False, length=20), nullable=False),
        sa.Column('next_due_on', sa.Date(), nullable=True),
        sa.Column('next_run_at', sa.DateTime(), nullable=True),
        sa.Column('last_due_on', sa.Date(), nullable=True),
        sa.Column('counted_from', sa.Date(), nullable=True),
        sa.Column('ended_at', sa.DateTime(), nullable=True),
        sa.Column('ended_reason', sa.String(length=100), nullable=True),
        sa.Column('created_by_id', sa.Integer(), nullable=True),
        sa.Column('updated_by_id', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('updated_at', sa.DateTime(), nullable=False),
        sa.CheckConstraint('anchor_day >= 1 AND anchor_day <= 31', name=op.f('ck_service_plans_anchor_day_in_month')),
        sa.CheckConstraint('interval_count >= 1', name=op.f('ck_service_plans_interval_positive')),
        sa.CheckConstraint('lead_days >= 0', name=op.f('ck_service_plans_lead_days_not_negative')),
        sa.ForeignKeyConstraint(['contact_id'], ['users.id'], name=op.f('fk_service_plans_contact_id_users')),
        sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_service_plans_created_by_id_users')),
        sa.ForeignKeyConstraint(['device_id'], ['devices.id'], name=op.f('fk_service_plans_device_id_devices')),
        sa.ForeignKeyConstraint(['institution_id'], ['institutions.id'], name=op.f('fk_service_plans_institution_id_institutions')),
        sa.ForeignKeyConstraint(['updated_by_id'], ['users.id'], name=op.f('fk_service_plans_updated_by_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_service_plans')),
    )
    with op.batch_alter_table('service_plans', schema=None) as batch_op:
        batch_op.create_index('ix_service_plans_device', ['device_id', 'kind'], unique=False)
        batch_op.create_index(batch_op.f('ix_service_plans_institution_id'), ['institution_id'], unique=False)
        batch_op.create_index('ix_service_plans_status_next_run_at', ['status', 'next_run_at'], unique=False)

    # 科室电话: the landline a planned order gives beside its contact's mobile.
    with op.batch_alter_table('departments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('phone', sa.String(length=30), nullable=True))

    with op.batch_alter_table('work_orders', schema=None) as batch_op:
        batch_op.alter_column('reporter_id', existing_type=sa.Integer(), nullable=True)
        batch_op.add_column(sa.Column('contact_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('service_plan_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('plan_due_on', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('checklist', sa.JSON(), nullable=True))
        batch_op.create_index(batch_op.f('ix_work_orders_contact_id'), ['contact_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_work_orders_contact_id_users'), 'users', ['contact_id'], ['id'])
        batch_op.create_foreign_key(
            batch_op.f('fk_work_orders_service_plan_id_service_plans'), 'service_plans', ['service_plan_id'], ['id']
        )
        batch_op.create_unique_constraint('uq_work_orders_service_plan_occurrence', ['service_plan_id', 'plan_due_on'])

    with op.batch_alter_table('alert_plans', schema=None) as batch_op:
        batch_op.add_column(sa.Column('service_plan_id', sa.Integer(), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_alert_plans_service_plan_id'), ['service_plan_id'])
        batch_op.create_foreign_key(
            batch_op.f('fk_alert_plans_service_plan_id_service_plans'), 'service_plans', ['service_plan_id'], ['id']
        )
        batch_op.drop_constraint(op.f('ck_alert_plans_exactly_one_subject'), type_='check')
        batch_op.create_check_constraint(op.f('ck_alert_plans_exactly_one_subject'), sa.text(NEW_SUBJECT_CHECK))
    _foreign_keys(True)


def downgrade():
    _foreign_keys(False)
    with op.batch_alter_table('alert_plans', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_alert_plans_exactly_one_subject'), type_='check')
        batch_op.create_check_constraint(op.f('ck_alert_plans_exactly_one_subject'), sa.text(OLD_SUBJECT_CHECK))
        batch_op.drop_constraint(batch_op.f('fk_alert_plans_service_plan_id_service_plans'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('uq_alert_plans_service_plan_id'), type_='unique')
        batch_op.drop_column('service_plan_id')
    with op.batch_alter_table('work_orders', schema=None) as batch_op:
        batch_op.drop_constraint('uq_work_orders_service_plan_occurrence', type_='unique')
        batch_op.drop_constraint(batch_op.f('fk_work_orders_service_plan_id_service_plans'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('fk_work_orders_contact_id_users'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_work_orders_contact_id'))
        batch_op.drop_column('checklist')
        batch_op.drop_column('plan_due_on')
        batch_op.drop_column('service_plan_id')
        batch_op.drop_column('contact_id')
        batch_op.alter_column('reporter_id', existing_type=sa.Integer(), nullable=False)
    with op.batch_alter_table('departments', schema=None) as batch_op:
        batch_op.drop_column('phone')
    op.drop_table('service_plans')
    _foreign_keys(True)
