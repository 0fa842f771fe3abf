"""The CDK stack of this agent app."""
