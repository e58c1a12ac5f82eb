"""Accounts and organisations: the platform operator's institutions, departments in order, the
设备类型 list, vendors by 统一社会信用代码, one active account per mobile, activation codes,
notification preferences and the 操作日志

Revision ID: 0009_accounts
Revises: 0008_alert_record
Create Date: 2026-12-05 00:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0009_accounts'
down_revision = '0008_alert_record'
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')

# Active accounts sharing a mobile: every one but the oldest gives it up (a mobile now names one
# person), and the 操作日志 keeps what it was, so a manager can see it and sort it out.
LATER_HOLDER = (
    "u.is_active AND u.phone IS NOT NULL AND EXISTS ("
    "SELECT 1 FROM users o WHERE o.is_active AND o.phone = u.phone AND o.id < u.id)"
)
CHANGES_JSON = {
    'postgresql': "json_build_object('phone', json_build_array(u.phone, NULL))",
    'sqlite': "json_object('phone', json_array(u.phone, NULL))",
}


def upgrade():
    op.create_table('device_types',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('institution_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=50), nullable=False),
    sa.Column('sort_order', sa.Integer(), server_default='0', nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['institution_id'], ['institutions.id'], name=op.f('fk_device_types_institution_id_institutions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_device_types')),
    sa.UniqueConstraint('institution_id', 'name', name=op.f('uq_device_types_institution_id_name'))
    )
    op.create_index(op.f('ix_device_types_institution_id'), 'device_types', ['institution_id'], unique=False)

    op.create_table('account_codes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('purpose', sa.Enum('activation', 'password_reset', name='accountcodepurpose', native_enum=False, length=20), nullable=False),
    sa.Column('code_hash', sa.String(length=64), nullable=False),
    sa.Column('failed_attempts', sa.Integer(), nullable=False),
    sa.Column('expires_at', sa.DateTime(), nullable=False),
    sa.Column('used_at', sa.DateTime(), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_account_codes_created_by_id_users')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_account_codes_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_account_codes')),
    sa.UniqueConstraint('code_hash', name=op.f('uq_account_codes_code_hash'))
    )
    op.create_index(op.f('ix_account_codes_user_id'), 'account_codes', ['user_id'], unique=False)

    op.create_table('audit_log',
    sa.Column('id', BigId, nullable=False),
    sa.Column('occurred_at', sa.DateTime(), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('actor_name', sa.String(length=50), nullable=False),
    sa.Column('edge', sa.Enum('pc', 'miniprogram', 'official_account', 'cli', 'system', name='edge', native_enum=False, length=20), nullable=False),
    sa.Column('institution_id', sa.Integer(), nullable=True),
    sa.Column('vendor_id', sa.Integer(), nullable=True),
    sa.Column('entity_type', sa.String(length=40), nullable=False),
    sa.Column('entity_id', BigId, nullable=True),
    sa.Column('entity_label', sa.String(length=100), nullable=True),
    sa.Column('action', sa.String(length=40), nullable=False),
    sa.Column('changes', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['actor_id'], ['users.id'], name=op.f('fk_audit_log_actor_id_users')),
    sa.ForeignKeyConstraint(['institution_id'], ['institutions.id'], name=op.f('fk_audit_log_institution_id_institutions')),
    sa.ForeignKeyConstraint(['vendor_id'], ['vendors.id'], name=op.f('fk_audit_log_vendor_id_vendors')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_log'))
    )
    op.create_index(op.f('ix_audit_log_actor_id'), 'audit_log', ['actor_id'], unique=False)
    op.create_index('ix_audit_log_entity', 'audit_log', ['entity_type', 'entity_id'], unique=False)
    op.create_index('ix_audit_log_institution_at', 'audit_log', ['institution_id', 'occurred_at'], unique=False)
    op.create_index('ix_audit_log_vendor_at', 'audit_log', ['vendor_id', 'occurred_at'], unique=False)

    op.create_table('notification_opt_outs',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('family', sa.Enum('alert', 'work_order', name='messagefamily', native_enum=False, length=20), nullable=False),
    sa.Column('channel', sa.String(length=10), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_notification_opt_outs_user_id_users')),
    sa.PrimaryKeyConstraint('user_id', 'family', 'channel', name=op.f('pk_notification_opt_outs'))
    )

    # Plain ADD COLUMN and CREATE INDEX: a batch rebuild of these tables on SQLite would have to
    # drop parents that every other table refers to.
    op.add_column('departments', sa.Column('sort_order', sa.Integer(), server_default='0', nullable=False))
    op.add_column('departments', sa.Column('is_active', sa.Boolean(), server_default=sa.true(), nullable=False))
    op.execute("UPDATE departments SET sort_order = id")  # the order they were listed in: by id
    op.add_column('institutions', sa.Column('is_active', sa.Boolean(), server_default=sa.true(), nullable=False))
    op.add_column('institutions', sa.Column('deactivated_at', sa.DateTime(), nullable=True))
    op.add_column('users', sa.Column('deactivated_at', sa.DateTime(), nullable=True))
    op.add_column('vendors', sa.Column('credit_code', sa.String(length=18), nullable=True))
    op.create_index('uq_vendors_credit_code', 'vendors', ['credit_code'], unique=True)

    # The 设备类型 list starts as the categories the institution's devices and engineers use.
    op.execute(
        "INSERT INTO device_types (institution_id, name, sort_order, created_at)"
        " SELECT institution_id, name, 0, CURRENT_TIMESTAMP FROM ("
        "  SELECT institution_id, category AS name FROM devices WHERE category IS NOT NULL AND category <> ''"
        "  UNION SELECT users.institution_id, engineer_skills.category FROM engineer_skills"
        "  JOIN users ON users.id = engineer_skills.user_id WHERE users.institution_id IS NOT NULL"
        ") AS used"
    )
    op.execute(
        "UPDATE device_types SET sort_order = (SELECT count(*) FROM device_types AS earlier"
        " WHERE earlier.institution_id = device_types.institution_id AND earlier.name < device_types.name)"
    )

    dialect = op.get_bind().dialect.name
    op.execute(
        "INSERT INTO audit_log (occurred_at, actor_id, actor_name, edge, institution_id, vendor_id, entity_type,"
        " entity_id, entity_label, action, changes)"
        f" SELECT CURRENT_TIMESTAMP, NULL, '系统', 'system', u.institution_id, u.vendor_id, 'user', u.id,"
        f" u.display_name, 'release_duplicate_phone', {CHANGES_JSON[dialect]} FROM users u WHERE {LATER_HOLDER}"
    )
    op.execute(f"UPDATE users SET phone = NULL WHERE id IN (SELECT u.id FROM users u WHERE {LATER_HOLDER})")
    op.create_index(
        'uq_users_active_phone', 'users', ['phone'], unique=True,
        postgresql_where=sa.text('is_active AND phone IS NOT NULL'),
        sqlite_where=sa.text('is_active AND phone IS NOT NULL'),
    )


def downgrade():
    op.drop_index('uq_users_active_phone', table_name='users')
    op.drop_index('uq_vendors_credit_code', table_name='vendors')
    with op.batch_alter_table('vendors', schema=None) as batch_op:
        batch_op.drop_column('credit_code')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('deactivated_at')
    with op.batch_alter_table('institutions', schema=None) as batch_op:
        batch_op.drop_column('deactivated_at')
        batch_op.drop_column('is_active')
    with op.batch_alter_table('departments', schema=None) as batch_op:
        batch_op.drop_column('is_active')
        batch_op.drop_column('sort_order')
    op.drop_table('notification_opt_outs')
    op.drop_table('audit_log')
    op.drop_table('account_codes')
    op.drop_table('device_types')
