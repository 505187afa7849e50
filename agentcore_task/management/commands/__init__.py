"""``manage.py agentcore_task``: the operator command."""
