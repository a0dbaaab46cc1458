"""What /admin/system-info reports: version, environment, non-secret settings, constants, health.

Secrets (SecretStr settings and the database URL, which can carry a password)
are reported only as configured or not.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from app.health import deep_health
from app.settings import Settings

# The processing constants of shared/DESIGN.md ("process_image", step 4).
PROCESSING_SETTINGS = (
    "model_chain",
    "max_image_dimension",
    "max_image_pixels",
    "min_area_ratio",
    "max_aspect_diff",
    "brightness_threshold",
)


def app_version() -> str:
    try:
        return version("image-processor")
    except PackageNotFoundError:
        return "0+unknown"


def _public_value(value: Any) -> Any:
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, list | tuple):
        return [_public_value(item) for item in value]
    return value


def split_settings(settings: Settings) -> tuple[dict[str, Any], dict[str, bool]]:
    """(non-secret settings with their values, {secret name: configured?})."""
    public: dict[str, Any] = {}
    secrets: dict[str, bool] = {}
    for name in type(settings).model_fields:
        value = getattr(settings, name)
        if isinstance(value, SecretStr) or (value is None and name in _SECRET_NAMES):
            secrets[name] = value is not None
        else:
            public[name] = _public_value(value)
    return public, secrets


# Secret settings that may be unset (None): listed so they are reported as such.
_SECRET_NAMES = frozenset({"api_key", "events_broker_url", "flower_basic_auth", "database_url"})


def system_info(settings: Settings) -> dict[str, Any]:
    public, secrets = split_settings(settings)
    return {
        "version": app_version(),
        "environment": settings.environment,
        "settings": public,
        "secrets": secrets,
        "processing": {
            **{name: _public_value(getattr(settings, name)) for name in PROCESSING_SETTINGS},
            "background_rule": (
                f"black below brightness {settings.brightness_threshold}, white at or above"
            ),
        },
        "health": deep_health(settings),
    }
