"""保养计划 / 计量计划: plans (`plans`), their dates (`calendar`), the minute sweep that raises their
orders (`raising`), what an order's completion settles (`occurrences`) and overdue reminders
through the alert plans (`overdue`)."""
