"""Writes to school records, one module per area; views, tasks and commands call these."""
