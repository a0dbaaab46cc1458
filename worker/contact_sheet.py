"""One PNG grid of before/after pairs, for a human to judge a run at a glance."""

from __future__ import annotations

import io
from dataclasses import dataclass

from PIL import Image, ImageDraw, ImageOps

THUMB = 240
LABEL_HEIGHT = 22
GAP = 8
COLUMNS_OF_PAIRS = 3
PAGE = (96, 96, 96)


@dataclass(frozen=True)
class SheetEntry:
    label: str
    before: Image.Image
    after: Image.Image | None  # None when the image failed; the label says why


def render_contact_sheet(entries: list[SheetEntry]) -> bytes:
    """PNG bytes of the grid: each cell is the original beside its result, captioned."""
    cell_width = 2 * THUMB + GAP
    cell_height = THUMB + LABEL_HEIGHT
    columns = max(1, min(COLUMNS_OF_PAIRS, len(entries)))
    rows = max(1, -(-len(entries) // columns))
    sheet = Image.new(
        "RGB",
        (GAP + columns * (cell_width + GAP), GAP + rows * (cell_height + GAP)),
        PAGE,
    )
    draw = ImageDraw.Draw(sheet)
    for index, entry in enumerate(entries):
        x = GAP + (index % columns) * (cell_width + GAP)
        y = GAP + (index // columns) * (cell_height + GAP)
        sheet.paste(_thumbnail(entry.before), (x, y))
        if entry.after is not None:
            sheet.paste(_thumbnail(entry.after), (x + THUMB + GAP, y))
        else:
            draw.rectangle((x + THUMB + GAP, y, x + cell_width, y + THUMB), fill=(120, 20, 20))
        colour = (255, 255, 255) if entry.after is not None else (255, 180, 180)
        draw.text((x, y + THUMB + 4), entry.label[:70], fill=colour)
    buffer = io.BytesIO()
    sheet.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def _thumbnail(image: Image.Image) -> Image.Image:
    """The image fitted into a THUMB square, centred on the page colour."""
    fitted = ImageOps.contain(image.convert("RGB"), (THUMB, THUMB))
    cell = Image.new("RGB", (THUMB, THUMB), PAGE)
    cell.paste(fitted, ((THUMB - fitted.width) // 2, (THUMB - fitted.height) // 2))
    return cell
