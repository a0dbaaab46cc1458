"""Run the pipeline over local files: what `image-processor process` does, without the terminal."""

from __future__ import annotations

import io
import logging
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from PIL import Image, ImageOps

from worker.contact_sheet import SheetEntry
from worker.models.base import MaskModel
from worker.pipeline import PipelineConfig, PipelineError, process_image_bytes

log = logging.getLogger(__name__)

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".webp", ".tif", ".tiff", ".gif", ".bmp"})


@dataclass(frozen=True)
class Outcome:
    """One input's line of the --json report."""

    input: str
    status: str  # "processed" | "failed"
    reason: str | None
    model: str | None
    escalated: bool | None
    brightness: float | None
    background: str | None
    output: str | None
    mask: str | None
    seconds: float

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


class UsageError(ValueError):
    """A path that does not exist, or nothing to process: exit code 2."""


@dataclass(frozen=True)
class Skipped:
    """A file in a given folder that the command will not process, and why."""

    path: Path
    reason: str


def collect_inputs(paths: Sequence[Path]) -> tuple[list[Path], list[Skipped]]:
    """Files as given; folders expanded to the image files directly inside them, sorted.

    Every other file in a folder is returned as skipped, with its reason, so the command can
    name it: a photo in a format it does not read must not vanish without a line.
    """
    inputs: list[Path] = []
    skipped: list[Skipped] = []
    for path in paths:
        if path.is_dir():
            for child in sorted(child for child in path.iterdir() if child.is_file()):
                reason = _skip_reason(child)
                if reason is None:
                    inputs.append(child)
                else:
                    skipped.append(Skipped(child, reason))
        elif path.is_file():
            inputs.append(path)
        else:
            raise UsageError(f"{path}: no such file or folder")
    if not inputs:
        raise UsageError("no image files found in " + ", ".join(map(str, paths)))
    return inputs, skipped


def _skip_reason(path: Path) -> str | None:
    if path.name.endswith(".mask.png"):
        return "a mask written by --save-mask"
    if path.suffix.lower() not in IMAGE_SUFFIXES:
        kinds = " ".join(sorted(IMAGE_SUFFIXES))
        return f"{path.suffix or 'no extension'} is not an image type it reads ({kinds})"
    return None


def output_stems(inputs: Sequence[Path]) -> list[str]:
    """`<stem>` per input, made unique when two inputs share one (a.jpg and a.png)."""
    seen: dict[str, int] = {}
    stems = []
    for path in inputs:
        count = seen.get(path.stem, 0) + 1
        seen[path.stem] = count
        stems.append(path.stem if count == 1 else f"{path.stem}-{count}")
    return stems


def process_files(
    inputs: Sequence[Path],
    *,
    out_dir: Path,
    models: Sequence[MaskModel],
    config: PipelineConfig,
    save_mask: bool = False,
    collect_sheet: bool = False,
    on_done: Callable[[Outcome], None] = lambda outcome: None,
) -> tuple[list[Outcome], list[SheetEntry]]:
    """Process every input; one bad file never stops the run."""
    out_dir.mkdir(parents=True, exist_ok=True)
    outcomes: list[Outcome] = []
    sheet: list[SheetEntry] = []
    for path, stem in zip(inputs, output_stems(inputs), strict=True):
        outcome, entry = _process_one(path, stem, out_dir, models, config, save_mask, collect_sheet)
        outcomes.append(outcome)
        if entry is not None:
            sheet.append(entry)
        on_done(outcome)
    return outcomes, sheet


def _process_one(
    path: Path,
    stem: str,
    out_dir: Path,
    models: Sequence[MaskModel],
    config: PipelineConfig,
    save_mask: bool,
    collect_sheet: bool,
) -> tuple[Outcome, SheetEntry | None]:
    started = time.perf_counter()
    data = b""
    try:
        data = path.read_bytes()
        result = process_image_bytes(data, models=models, config=config)
    except PipelineError as error:
        entry = _sheet_entry(collect_sheet, path, data, None, error.reason, config)
        return _failed(path, error.reason, started), entry
    except OSError as error:
        log.warning("cannot read %s: %s", path, error)
        return _failed(path, "unreadable_file", started), None
    except Exception:  # a bug must not stop the batch; it is logged with its traceback
        log.exception("unexpected error processing %s", path)
        return _failed(path, "unexpected_error", started), None

    output = out_dir / f"{stem}.png"
    output.write_bytes(result.png)
    mask_path = None
    if save_mask:
        mask_path = out_dir / f"{stem}.mask.png"
        result.mask.save(mask_path, format="PNG")
    outcome = Outcome(
        input=str(path),
        status="processed",
        reason=None,
        model=result.model,
        escalated=result.escalated,
        brightness=round(result.brightness, 2),
        background=result.background,
        output=str(output),
        mask=str(mask_path) if mask_path else None,
        seconds=round(time.perf_counter() - started, 4),
    )
    label = f"{path.name}: {result.model}, {result.background}"
    return outcome, _sheet_entry(collect_sheet, path, data, result.png, label, config)


def _failed(path: Path, reason: str, started: float) -> Outcome:
    return Outcome(
        input=str(path),
        status="failed",
        reason=reason,
        model=None,
        escalated=None,
        brightness=None,
        background=None,
        output=None,
        mask=None,
        seconds=round(time.perf_counter() - started, 4),
    )


def _sheet_entry(
    wanted: bool,
    path: Path,
    before: bytes,
    after: bytes | None,
    label: str,
    config: PipelineConfig,
) -> SheetEntry | None:
    if not wanted:
        return None
    return SheetEntry(
        label=label if after is not None else f"{path.name}: failed, {label}",
        before=_preview(before, config.max_image_pixels),
        after=_preview(after, config.max_image_pixels) if after is not None else None,
    )


def _preview(data: bytes, max_pixels: int) -> Image.Image:
    """A small copy for the contact sheet; a grey square when the bytes are not an image."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            if image.width * image.height > max_pixels:
                raise ValueError("too large to preview")
            image.draft("RGB", (480, 480))
            upright: Image.Image = ImageOps.exif_transpose(image)
            upright.thumbnail((480, 480))
            return upright.convert("RGB")
    except Exception:  # any undecodable input gets the placeholder
        return Image.new("RGB", (240, 240), (60, 60, 60))


def summarize(outcomes: Iterable[Outcome]) -> tuple[int, int]:
    outcomes = list(outcomes)
    processed = sum(outcome.status == "processed" for outcome in outcomes)
    return processed, len(outcomes) - processed
