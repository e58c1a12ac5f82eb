"""服务时限 (SLA): per-institution policy, an authorization's override, each order's deadlines and
the 待备件 status. WORK_ORDER_EMERGENCY_ACCEPT_MINUTES (the setting this replaces, 15 unless the
environment set it) becomes the 停机 response deadline of every institution's policy; every order
that had an emergency deadline (respond_by, escalated_at) keeps it as its response deadline, with
what became of it, and the two columns go.

Revision ID: 0020_sla_deadlines
Revises: 0019_device_files_transfers
Create Date: 2026-12-05 14:00:00.000000

"""
import os
from datetime import timedelta

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0020_sla_deadlines'
down_revision = '0019_device_files_transfers'
branch_labels = None
depends_on = None

KINDS = ('repair', 'maintenance', 'metrology')
# The defaults' 停机 arrival and completion (operations.work_orders.sla_policy): a response
# deadline set longer is carried into them, so the clocks stay in order.
DOWNTIME_ARRIVAL, DOWNTIME_COMPLETION = 120, 480
ESCALATE_AFTER = 30
AWAITING = "status = 'pending' AND escalated_at IS NULL AND respond_by IS NOT NULL"


def emergency_minutes():
    """The old setting's value as the deployment set it (1–1440; 15 when unset or unreadable)."""
    try:
        value = int(os.environ.get('WORK_ORDER_EMERGENCY_ACCEPT_MINUTES', '15'))
    except ValueError:
        return 15
    return value if 1 <= value <= 1440 else 15


def upgrade():
    op.create_table(
        'work_order_deadlines',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('work_order_id', sa.Integer(), nullable=False),
        sa.Column('institution_id', sa.Integer(), nullable=False),
        sa.Column('vendor_id', sa.Integer(), nullable=True),
        sa.Column('kind', sa.Enum('response', 'arrival', 'completion', name='deadlinekind', native_enum=False, length=20), nullable=False),
        sa.Column('minutes', sa.Integer(), nullable=False),
        sa.Column('due_at', sa.DateTime(), nullable=False),
        sa.Column('warn_at', sa.DateTime(), nullable=False),
        sa.Column('escalate_at', sa.DateTime(), nullable=False),
        sa.Column('paused_at', sa.DateTime(), nullable=True),
        sa.Column('paused_minutes', sa.Integer(), server_default='0', nullable=False),
        sa.Column('outcome', sa.Enum('met', 'missed', 'void', name='deadlineoutcome', native_enum=False, length=20), nullable=True),
        sa.Column('done_at', sa.DateTime(), nullable=True),
        sa.Column('warned_at', sa.DateTime(), nullable=True),
        sa.Column('breached_at', sa.DateTime(), nullable=True),
        sa.Column('escalated_at', sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(['institution_id'], ['institutions.id']),
        sa.ForeignKeyConstraint(['vendor_id'], ['vendors.id']),
        sa.ForeignKeyConstraint(['work_order_id'], ['work_orders.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('work_order_id', 'kind', name='uq_work_order_deadlines_order_kind'),
    )
    with op.batch_alter_table('work_order_deadlines', schema=None) as batch_op:
        batch_op.create_index('ix_work_order_deadlines_open_warn', ['warn_at'], unique=False, postgresql_where=sa.text('outcome IS NULL AND warned_at IS NULL'), sqlite_where=sa.text('outcome IS NULL AND warned_at IS NULL'))
        batch_op.create_index('ix_work_order_deadlines_open_due', ['due_at'], unique=False, postgresql_where=sa.text('outcome IS NULL'), sqlite_where=sa.text('outcome IS NULL'))
        batch_op.create_index('ix_work_order_deadlines_unescalated', ['escalate_at'], unique=False, postgresql_where=sa.text("escalated_at IS NULL AND outcome = 'missed'"), sqlite_where=sa.text("escalated_at IS NULL AND outcome = 'missed'"))
        batch_op.create_index('ix_work_order_deadlines_institution_due', ['institution_id', 'due_at'], unique=False)
    with op.batch_alter_table('institutions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sla_policy', sa.JSON(), nullable=True))
    with op.batch_alter_table('authorizations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sla_targets', sa.JSON(), nullable=True))
    with op.batch_alter_table('work_orders', schema=None) as batch_op:
        batch_op.add_column(sa.Column('paused_from', sa.String(length=20), nullable=True))

    bind = op.get_bind()
    minutes = emergency_minutes()
    downtime = {
        'response': minutes,
        'arrival': max(DOWNTIME_ARRIVAL, minutes),
        'completion': max(DOWNTIME_COMPLETION, minutes),
    }
    policy = {'targets': {kind: {'downtime': downtime} for kind in KINDS}}
    institutions = sa.table('institutions', sa.column('id', sa.Integer), sa.column('sla_policy', sa.JSON))
    bind.execute(institutions.update().values(sla_policy=policy))

    orders = sa.table(
        'work_orders',
        sa.column('id', sa.Integer),
        sa.column('institution_id', sa.Integer),
        sa.column('vendor_id', sa.Integer),
        sa.column('status', sa.String),
        sa.column('created_at', sa.DateTime),
        sa.column('accepted_at', sa.DateTime),
        sa.column('cancelled_at', sa.DateTime),
        sa.column('respond_by', sa.DateTime),
        sa.column('escalated_at', sa.DateTime),
    )
    deadlines = sa.table(
        'work_order_deadlines',
        *(sa.column(name, sa.Integer) for name in ('work_order_id', 'institution_id', 'vendor_id', 'minutes')),
        sa.column('kind', sa.String),
        sa.column('outcome', sa.String),
        *(
            sa.column(name, sa.DateTime)
            for name in ('due_at', 'warn_at', 'escalate_at', 'done_at', 'warned_at', 'breached_at', 'escalated_at')
        ),
    )
    rows = []
    for order in bind.execute(sa.select(orders).where(orders.c.respond_by.is_not(None))).mappings():
        rows.append(_response_deadline(order))
    if rows:
        bind.execute(deadlines.insert(), rows)

    with op.batch_alter_table('work_orders', schema=None) as batch_op:
        batch_op.drop_index('ix_work_orders_awaiting_escalation', postgresql_where=sa.text(AWAITING), sqlite_where=sa.text(AWAITING))
        batch_op.drop_column('escalated_at')
        batch_op.drop_column('respond_by')


def _response_deadline(order) -> dict:
    """An emergency deadline as the order's response deadline, with what became of it: accepted
    (met or late), cancelled before anyone accepted (counts neither way), escalated (missed, the
    dispatcher's and the managers' notices already given), or still running."""
    created, due = order['created_at'], order['respond_by']
    total = max(1, round((due - created).total_seconds() / 60))
    row = {
        'work_order_id': order['id'],
        'institution_id': order['institution_id'],
        'vendor_id': order['vendor_id'],
        'kind': 'response',
        'minutes': total,
        'due_at': due,
        'warn_at': created + timedelta(seconds=round(total * 60 * 0.8)),
        'escalate_at': due + timedelta(minutes=ESCALATE_AFTER),
        'outcome': None,
        'done_at': None,
        'warned_at': None,
        'breached_at': None,
        'escalated_at': None,
    }
    if order['escalated_at'] is not None:
        # The old path told the managers at the deadline: nothing of this deadline is sent again.
        stamp = order['escalated_at']
        row |= {'outcome': 'missed', 'warned_at': stamp, 'breached_at': stamp, 'escalated_at': stamp}
    if order['accepted_at'] is not None:
        late = order['accepted_at'] > due
        row |= {'done_at': order['accepted_at'], 'outcome': 'missed' if late or row['outcome'] else 'met'}
    elif order['status'] == 'cancelled':
        row |= {'outcome': row['outcome'] or 'void', 'done_at': order['cancelled_at']}
    elif order['status'] != 'pending':
        row |= {'outcome': row['outcome'] or 'void'}  # taken on without an 接单 time: not counted
    return row


def downgrade():
    with op.batch_alter_table('work_orders', schema=None) as batch_op:
        batch_op.add_column(sa.Column('respond_by', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('escalated_at', sa.DateTime(), nullable=True))
    bind = op.get_bind()
    # The response deadline of an emergency (停机) order goes back to its columns.
    bind.execute(sa.text(
        "UPDATE work_orders SET "
        "respond_by = (SELECT d.due_at FROM work_order_deadlines d "
        "  WHERE d.work_order_id = work_orders.id AND d.kind = 'response'), "
        "escalated_at = (SELECT d.escalated_at FROM work_order_deadlines d "
        "  WHERE d.work_order_id = work_orders.id AND d.kind = 'response') "
        "WHERE urgency = 'downtime'"
    ))
    # 待备件 does not exist before: such an order is back where it was.
    bind.execute(sa.text(
        "UPDATE work_orders SET status = paused_from WHERE status = 'waiting_parts' AND paused_from IS NOT NULL"
    ))
    with op.batch_alter_table('work_orders', schema=None) as batch_op:
        batch_op.create_index('ix_work_orders_awaiting_escalation', ['respond_by'], unique=False, postgresql_where=sa.text(AWAITING), sqlite_where=sa.text(AWAITING))
        batch_op.drop_column('paused_from')
    with op.batch_alter_table('authorizations', schema=None) as batch_op:
        batch_op.drop_column('sla_targets')
    with op.batch_alter_table('institutions', schema=None) as batch_op:
        batch_op.drop_column('sla_policy')
    with op.batch_alter_table('work_order_deadlines', schema=None) as batch_op:
        batch_op.drop_index('ix_work_order_deadlines_institution_due')
        batch_op.drop_index('ix_work_order_deadlines_unescalated', postgresql_where=sa.text("escalated_at IS NULL AND outcome = 'missed'"), sqlite_where=sa.text("escalated_at IS NULL AND outcome = 'missed'"))
        batch_op.drop_index('ix_work_order_deadlines_open_due', postgresql_where=sa.text('outcome IS NULL'), sqlite_where=sa.text('outcome IS NULL'))
        batch_op.drop_index('ix_work_order_deadlines_open_warn', postgresql_where=sa.text('outcome IS NULL AND warned_at IS NULL'), sqlite_where=sa.text('outcome IS NULL AND warned_at IS NULL'))
    op.drop_table('work_order_deadlines')
