"""Migration operations of our own: adopting the original app's table, COMMENTs, DBA views and
storage settings. Migrations import these; they read the historical model state, never the
current models, so an old migration keeps doing what it did."""
