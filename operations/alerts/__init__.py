"""预警计划: expiry alerts for credentials and authorizations.

- `plans`: one plan per subject, kept in step with it; handling (已处理), reading, 发送记录;
- `schedule`: when a plan sends (pure date arithmetic);
- `subjects`: what a plan is about, as template values;
- `templates`: the 发送内容模板 and its placeholders;
- `sweep`: the minute sweep turning due plans into outbox messages.
"""
