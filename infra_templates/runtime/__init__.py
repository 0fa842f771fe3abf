"""The agent runtime: runs the agents described by spec.json (stdlib + boto3 only)."""
