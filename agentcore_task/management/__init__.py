"""Management commands of agentcore_task."""
