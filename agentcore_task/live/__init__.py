"""Live progress: what changed in the execution table, told to whoever is watching.

* :mod:`.listener`: one connection that LISTENs to the doorbell (``agentcore_task.doorbell``).
* :mod:`.feed`: the poll of changed rows (``updated_at`` past the last one seen), the truth
  the doorbell only hurries along, and the catch-up after any gap.
* :mod:`.hub`: one per server process: a thread that owns the listener and the feed and fans
  changes out to every stream client through bounded queues.
* :mod:`.events`: the progress keys of an event and the version that ``Last-Event-ID`` carries.

The API's Server-Sent Events (``api/stream.py``), ``manage.py agentcore_task watch`` and the
demo's terminal display are all built on these.
"""
