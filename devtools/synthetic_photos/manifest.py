"""Writing a set to disk (photos, masks, manifest) and reading it back.

The manifest is the last file written, so its presence means the set is complete. A set is
regenerated only when the generator version, the catalog or any file's checksum differs.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from devtools.synthetic_photos.catalog import SETS
from devtools.synthetic_photos.scene import SceneSpec, render

# Bump when the output changes for a reason the source does not show (e.g. a new Pillow).
GENERATOR_VERSION = "2"  # 2: every case has a category
MANIFEST_NAME = "manifest.json"


@dataclass(frozen=True)
class Case:
    """One photo of a set, as its manifest describes it (paths are absolute)."""

    id: str
    image_path: Path
    mask_path: Path
    width: int
    height: int
    kind: str  # cover | spine | stack | open | empty
    category: str  # one of `cases.CATEGORIES`: what makes the photo easy or hard
    backdrop: str  # wood | cloth | paper | concrete | brick | shelf
    design: str  # light | dark | borderline-light | borderline-dark | none
    expected_background: str | None  # "black" | "white"; None when there is no book
    subject_brightness: float | None  # mean BT.601 luma of the JPEG under the mask
    expect_valid: bool
    expected_reason: str | None  # the validation failure a negative case must produce
    subject_bbox: tuple[int, int, int, int] | None  # of the mask: left, top, right, bottom
    outline_bbox: tuple[float, float, float, float] | None  # of the book's projected corners


def expected_background(design: str) -> str | None:
    if design in ("light", "borderline-light"):
        return "white"
    if design in ("dark", "borderline-dark"):
        return "black"
    return None


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _catalog_digest(specs: Iterable[SceneSpec]) -> str:
    """Fingerprint of what decides the output: the specs and the generator's own source,
    so an edit to either regenerates the set even if nobody bumped the version."""
    digest = hashlib.sha256(GENERATOR_VERSION.encode())
    for source in sorted(Path(__file__).parent.glob("*.py")):
        digest.update(source.read_bytes())
    for spec in specs:
        digest.update(repr(spec).encode())
    return digest.hexdigest()


def _render_case(spec: SceneSpec, folder: Path) -> dict[str, Any]:
    rendered = render(spec)
    image, mask = folder / f"{spec.id}.jpg", folder / f"{spec.id}.mask.png"
    image.write_bytes(rendered.jpeg)
    rendered.mask.save(mask, format="PNG")
    kind, tone = spec.backdrop.split("/")
    brightness = rendered.subject_brightness
    box = rendered.mask.getbbox()
    return {
        "id": spec.id,
        "image": image.name,
        "mask": mask.name,
        "width": spec.size[0],
        "height": spec.size[1],
        "kind": spec.kind,
        "category": spec.category,
        "backdrop": kind,
        "backdrop_tone": tone,
        "wall": spec.wall,
        "art": spec.art if spec.kind == "cover" else None,
        "hardcover": spec.hardcover,
        "design": spec.design,
        "target_luma": spec.target_luma if spec.kind != "empty" else None,
        "expected_background": expected_background(spec.design),
        "subject_brightness": None if brightness is None else round(brightness, 3),
        "expect_valid": spec.expect_valid,
        "expected_reason": spec.expected_reason,
        "subject_bbox": list(box) if box else None,
        "bbox_area_ratio": _bbox_ratio(box, spec.size),
        "mask_area_ratio": round(float(np.asarray(rendered.mask).mean()) / 255, 5),
        "outline_bbox": [round(v, 2) for v in rendered.outline_bbox]
        if rendered.outline_bbox
        else None,
        "jpeg_quality": spec.quality,
        "sha256": {"image": _sha256(image), "mask": _sha256(mask)},
    }


def _bbox_ratio(box: tuple[int, int, int, int] | None, size: tuple[int, int]) -> float:
    if box is None:
        return 0.0
    return round((box[2] - box[0]) * (box[3] - box[1]) / (size[0] * size[1]), 5)


def _is_current(manifest: Path, digest: str) -> bool:
    """True when the manifest was written for this catalog and every file is intact."""
    try:
        data = json.loads(manifest.read_text())
    except (OSError, ValueError):
        return False
    if data.get("generator_version") != GENERATOR_VERSION or data.get("catalog") != digest:
        return False
    folder = manifest.parent
    for entry in data["cases"]:
        for role in ("image", "mask"):
            path = folder / entry[role]
            if not path.is_file() or _sha256(path) != entry["sha256"][role]:
                return False
    return True


def generate_set(
    name: str,
    out_dir: Path,
    *,
    force: bool = False,
    only: Sequence[str] | None = None,
    jobs: int | None = None,
) -> Path:
    """Write set `name` (eval, demo, bench) into `out_dir/name/` and return its manifest.

    `only` keeps the listed case ids (for quick tests); `jobs` is the number of processes
    (default: up to 2, this runs on 2-core machines shared with other work).
    """
    if name not in SETS:
        raise ValueError(f"unknown set {name!r}; known: {sorted(SETS)}")
    specs = SETS[name]()
    if only is not None:
        unknown = set(only) - {spec.id for spec in specs}
        if unknown:
            raise ValueError(f"no case {sorted(unknown)} in set {name!r}")
        specs = [spec for spec in specs if spec.id in set(only)]
    folder = Path(out_dir) / name
    manifest = folder / MANIFEST_NAME
    digest = _catalog_digest(specs)
    if not force and _is_current(manifest, digest):
        return manifest
    folder.mkdir(parents=True, exist_ok=True)
    manifest.unlink(missing_ok=True)
    workers = jobs or min(2, os.cpu_count() or 1)
    if workers > 1 and len(specs) > 1:
        # Largest photos first, so the two processes finish together.
        order = sorted(specs, key=lambda spec: -spec.size[0] * spec.size[1])
        with ProcessPoolExecutor(max_workers=workers) as pool:
            done = dict(
                zip(order, pool.map(_render_case, order, [folder] * len(order)), strict=True)
            )
        entries = [done[spec] for spec in specs]
    else:
        entries = [_render_case(spec, folder) for spec in specs]
    data = {
        "generator_version": GENERATOR_VERSION,
        "set": name,
        "catalog": digest,
        "cases": entries,
    }
    temporary = manifest.with_suffix(".json.tmp")
    temporary.write_text(json.dumps(data, indent=2) + "\n")
    temporary.replace(manifest)
    return manifest


def load_manifest(path: Path | str) -> list[Case]:
    """The cases of a manifest written by `generate_set`, with absolute file paths."""
    manifest = Path(path).resolve()
    data = json.loads(manifest.read_text())
    cases = []
    for entry in data["cases"]:
        cases.append(
            Case(
                id=entry["id"],
                image_path=manifest.parent / entry["image"],
                mask_path=manifest.parent / entry["mask"],
                width=entry["width"],
                height=entry["height"],
                kind=entry["kind"],
                category=entry["category"],
                backdrop=entry["backdrop"],
                design=entry["design"],
                expected_background=entry["expected_background"],
                subject_brightness=entry["subject_brightness"],
                expect_valid=entry["expect_valid"],
                expected_reason=entry["expected_reason"],
                subject_bbox=tuple(entry["subject_bbox"]) if entry["subject_bbox"] else None,
                outline_bbox=tuple(entry["outline_bbox"]) if entry["outline_bbox"] else None,
            )
        )
    return cases


def case_as_dict(case: Case) -> dict[str, Any]:
    """A Case as JSON-ready values (paths as strings)."""
    return {
        key: str(value) if isinstance(value, Path) else value for key, value in asdict(case).items()
    }


def load_mask(case: Case) -> np.ndarray:
    """The case's ground truth as a boolean array (True = book)."""
    with Image.open(case.mask_path) as mask:
        return np.asarray(mask) > 127
