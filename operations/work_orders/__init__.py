"""工单: work orders by the after-sales SOP.

- `orders`: raising an order (服务请求受理), routing it, reading orders, timelines and photos;
- `access`: who sees and works which order;
- `flow`: the SOP state machine, one conditional UPDATE per step;
- `dispatch`: assignment, triage, ETA and engineer skills;
- `eta`: the rules of the 预计到场时间, set on its own or with 出发;
- `notices`: who is told of each step, through the outbox;
- `escalation`: the minute sweep's archiving deadlines (unconfirmed and unrated orders);
- `sla_policy`, `sla`, `sla_sweep`, `sla_settings`, `sla_stats`: 服务时限 (SLA) — the policy, an
  order's clocks, the sweep's warning and escalations, the manager's settings, the 达标率;
- `parts_wait`: 待备件 and 备件到货;
- `stats`: response, on-site and repair figures, satisfaction.
"""
