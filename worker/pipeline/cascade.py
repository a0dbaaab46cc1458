"""The model chain as a cascade: the fast model first, the next one only when needed.

A model's mask is accepted when it passes validation (quality.judge_mask) and gives no sign
of being wrong (doubt.py): the model was sure of it (`mask_doubt` at most `max_doubt`) and
little of it looks like the backdrop in shadow (`shadow_share` at most `max_shadow`).
Otherwise the next model of the chain runs. The last model's passing mask is accepted
whatever its signs; when it fails validation, the first earlier mask that passed (a doubtful
one) still beats failing the job. The thresholds are calibrated on the evaluation set
(`make eval`, docs/quality.md).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

from PIL import Image, ImageChops

from worker.models.base import MaskModel
from worker.pipeline.doubt import mask_doubt, shadow_share
from worker.pipeline.errors import PipelineError
from worker.pipeline.quality import ModelAttempt, judge_mask


@dataclass(frozen=True)
class CascadeConfig:
    min_area_ratio: float
    max_aspect_diff: float
    max_doubt: float
    max_shadow: float


@dataclass(frozen=True)
class CascadeResult:
    model: MaskModel
    mask: Image.Image
    attempts: tuple[ModelAttempt, ...]

    @property
    def escalated(self) -> bool:
        """Did the chain go past its first model?"""
        return len(self.attempts) > 1


def accepts(attempt: ModelAttempt, *, last: bool, config: CascadeConfig) -> bool:
    """Does the chain stop at this model? Its mask passed, and looked right or had the last say."""
    looks_right = attempt.doubt <= config.max_doubt and attempt.shadow <= config.max_shadow
    return attempt.passed and (last or looks_right)


def settle(attempts: Sequence[ModelAttempt], config: CascadeConfig) -> int | None:
    """Which attempt of a whole chain's the cascade keeps (its index), or None when none passed:
    the first it would stop at, else the first that passed at all. Lets an evaluation replay
    the cascade at any thresholds from one run of every model."""
    last = len(attempts) - 1
    for index, attempt in enumerate(attempts):
        if accepts(attempt, last=index == last, config=config):
            return index
    return next((index for index, attempt in enumerate(attempts) if attempt.passed), None)


def run_cascade(
    image: Image.Image,
    alpha: Image.Image | None,
    models: Sequence[MaskModel],
    config: CascadeConfig,
) -> CascadeResult:
    """The first model of the chain the cascade accepts (`accepts`), else the first that passed;
    PipelineError named after the last model's verdict when none passes."""
    attempts: list[ModelAttempt] = []
    masks: list[Image.Image] = []
    for index, model in enumerate(models):
        started = time.perf_counter()
        mask = model.predict_mask(image)
        if alpha is not None:
            # Where the source was already transparent it is background, whatever the model says.
            mask = ImageChops.darker(mask, alpha)
        box, verdict = judge_mask(
            mask, min_area_ratio=config.min_area_ratio, max_aspect_diff=config.max_aspect_diff
        )
        attempts.append(
            ModelAttempt(
                model.name,
                verdict["passed"],
                verdict["reason"],
                box,
                time.perf_counter() - started,
                round(mask_doubt(mask), 4),
                round(shadow_share(image, mask), 4),
            )
        )
        masks.append(mask)
        if accepts(attempts[-1], last=index == len(models) - 1, config=config):
            return CascadeResult(model, mask, tuple(attempts))
    # Every model ran and none was accepted outright: a doubtful mask that passed still beats
    # failing the job.
    kept = settle(attempts, config)
    if kept is not None:
        return CascadeResult(models[kept], masks[kept], tuple(attempts))
    # Named after the last model's verdict: the chain's final say.
    reason = attempts[-1].reason if attempts else "no_subject"
    tried = ", ".join(f"{attempt.model}: {attempt.reason}" for attempt in attempts)
    raise PipelineError(
        f"quality_{reason}", f"no model passed validation ({tried})", tuple(attempts)
    )
