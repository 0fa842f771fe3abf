"""API keys for deployed apps (/createapikey, /deleteapikey): ports, plans, target adapters."""

from agents.appkeys.pipelines import (
    AppKeyDeps,
    create_api_key_pipeline,
    delete_api_key_pipeline,
    revoke_all_for_app,
)

__all__ = [
    "AppKeyDeps",
    "create_api_key_pipeline",
    "delete_api_key_pipeline",
    "revoke_all_for_app",
]
