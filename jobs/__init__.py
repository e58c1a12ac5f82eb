"""RQ jobs: thin functions that load by id, call an operation or a channel, record the outcome."""
