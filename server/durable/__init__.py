"""Durable job execution on DBOS Transact: the engine adapter, the job workflow and its steps,
and the replica sweep that hands a dead replica's jobs to live ones (see docs/operations.md)."""
