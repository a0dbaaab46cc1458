"""What an operator may choose for one job: the model chain and the backdrop.

Recorded on the job row when it is created (app/job_lifecycle), read back by the worker when it
claims the job (never from the message, so a redelivered message cannot ask for something
else), and applied by the pipeline. None for either means "as configured": MODEL_CHAIN's
cascade, and the backdrop chosen by the subject's brightness.

Models are checked against MODEL_CHAIN, not against every model the project knows
(worker/models/registry.py): a worker loads the sessions of MODEL_CHAIN once at start-up and
never loads one per task, so a model outside it could not run. The API and the worker read the
same MODEL_CHAIN; should they ever differ (mid-deploy), the worker fails the job as
`model_not_loaded` rather than load anything.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

# The solid colours a result can be set on; "auto" in a request means "by brightness" (None).
Backdrop = Literal["black", "white"]
BACKDROPS: tuple[Backdrop, ...] = ("black", "white")


class OverrideError(ValueError):
    """A request asks for something this fleet cannot do; `code` names why."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class ProcessingOverrides:
    model_chain: tuple[str, ...] | None = None
    backdrop: Backdrop | None = None

    @property
    def is_default(self) -> bool:
        return self.model_chain is None and self.backdrop is None

    @classmethod
    def of_job(cls, model_chain: Sequence[str] | None, backdrop: str | None) -> ProcessingOverrides:
        """What a job row recorded (its two columns)."""
        chosen = backdrop if backdrop in BACKDROPS else None
        return cls(tuple(model_chain) if model_chain else None, chosen)


def checked_model_chain(names: Sequence[str], *, available: Sequence[str]) -> tuple[str, ...]:
    """`names` in the operator's order; OverrideError(unknown_model) for a name the fleet has
    not loaded, (duplicate_model) for one named twice, (empty_model_chain) for none."""
    if not names:
        raise OverrideError("empty_model_chain", "model_chain names no model")
    for name in names:
        if name not in available:
            raise OverrideError(
                "unknown_model",
                f"unknown model {name!r}: this fleet runs {', '.join(available)} (MODEL_CHAIN)",
            )
    if len(set(names)) != len(names):
        raise OverrideError("duplicate_model", "model_chain names a model twice")
    return tuple(names)
