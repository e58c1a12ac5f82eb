"""工单: work orders by the after-sales SOP.

- `orders`: raising an order (服务请求受理), routing it, reading orders, timelines and photos;
- `access`: who sees and works which order;
- `flow`: the SOP state machine, one conditional UPDATE per step;
- `dispatch`: assignment, triage, ETA and engineer skills;
- `eta`: the rules of the 预计到场时间, set on its own or with 出发;
- `notices`: who is told of each step, through the outbox;
- `escalation`: the minute sweep's deadlines (emergencies, unconfirmed and unrated orders);
- `stats`: response, on-site and repair figures, satisfaction.
"""
