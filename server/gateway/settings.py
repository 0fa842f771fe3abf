"""The `gateway` settings group: app keys' default plan, the local gateway, API Gateway calls,
and the model proxy that locally deployed apps call."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from pydantic import field_validator

from agents.settings_model import OptionalLimit, SettingsGroup, env

if TYPE_CHECKING:  # loaded when the service wires them, not for every command
    from server.gateway.runtime import AppKeysOptions
    from server.model_proxy_access import ProxyLimits


class GatewaySettings(SettingsGroup):
    # Default usage plan of a local app
    appkeys_default_rate: float = env("QUBITZ_APPKEYS_DEFAULT_RATE", default=10.0, gt=0)
    appkeys_default_burst: int = env("QUBITZ_APPKEYS_DEFAULT_BURST", default=20, ge=1)
    appkeys_default_quota: OptionalLimit = env("QUBITZ_APPKEYS_DEFAULT_QUOTA")
    appkeys_default_quota_period: Literal["DAY", "WEEK", "MONTH"] = env(
        "QUBITZ_APPKEYS_DEFAULT_QUOTA_PERIOD", default="MONTH"
    )
    # The local gateway
    key_cache_seconds: float = env("QUBITZ_GATEWAY_KEY_CACHE_SECONDS", default=5.0, ge=0)
    connect_timeout: float = env("QUBITZ_GATEWAY_CONNECT_TIMEOUT", default=5.0, gt=0)
    upstream_timeout: float = env("QUBITZ_GATEWAY_UPSTREAM_TIMEOUT", default=60.0, gt=0)
    max_connections: int = env("QUBITZ_GATEWAY_MAX_CONNECTIONS", default=200, ge=1)
    # API Gateway (AWS)
    apigw_calls_per_second: float = env("QUBITZ_APIGW_CALLS_PER_SECOND", default=5.0, gt=0)
    apigw_max_attempts: int = env("QUBITZ_APIGW_MAX_ATTEMPTS", default=6, ge=1)
    # The model proxy
    model_proxy_rate_per_minute: float = env(
        "QUBITZ_MODEL_PROXY_RATE_PER_MINUTE", default=60.0, gt=0
    )
    model_proxy_max_concurrent: int = env("QUBITZ_MODEL_PROXY_MAX_CONCURRENT", default=2, ge=1)
    model_proxy_shared_slots: int = env("QUBITZ_MODEL_PROXY_SHARED_SLOTS", default=2, ge=1)
    model_proxy_max_body_bytes: int = env(
        "QUBITZ_MODEL_PROXY_MAX_BODY_BYTES", default=1024 * 1024, ge=1
    )

    @field_validator("appkeys_default_quota_period", mode="before")
    @classmethod
    def _upper(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    def app_keys(
        self, *, aws_enabled: bool, aws_region: str, aws_endpoint_url: str | None
    ) -> AppKeysOptions:
        """The app keys runtime's options; AWS ones come from the deploy group."""
        from server.gateway.runtime import AppKeysOptions

        return AppKeysOptions(
            default_rate=self.appkeys_default_rate,
            default_burst=self.appkeys_default_burst,
            default_quota=self.appkeys_default_quota,
            default_quota_period=self.appkeys_default_quota_period,
            key_cache_seconds=self.key_cache_seconds,
            connect_timeout=self.connect_timeout,
            upstream_timeout=self.upstream_timeout,
            max_connections=self.max_connections,
            aws_enabled=aws_enabled,
            aws_region=aws_region,
            aws_endpoint_url=aws_endpoint_url,
            apigw_calls_per_second=self.apigw_calls_per_second,
            apigw_max_attempts=self.apigw_max_attempts,
        )

    def proxy_limits(self) -> ProxyLimits:
        from server.model_proxy_access import ProxyLimits

        return ProxyLimits(
            rate_per_minute=self.model_proxy_rate_per_minute,
            max_concurrent=self.model_proxy_max_concurrent,
            shared_slots=self.model_proxy_shared_slots,
            max_body_bytes=self.model_proxy_max_body_bytes,
        )
