"""Multi-agent architecture specs: schema, generation, update, versions, exports."""
