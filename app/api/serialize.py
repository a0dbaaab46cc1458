"""ORM rows to response bodies (the CDN URL is derived here, never stored)."""

from __future__ import annotations

from collections.abc import Sequence

from app.api.schemas import BookOut, ImageOut, JobOut
from app.models import Book, BookImage, ImageProcessingJob
from app.settings import Settings


def image_out(image: BookImage, *, settings: Settings) -> ImageOut:
    url = None
    if settings.images_cdn_domain:
        url = f"https://{settings.images_cdn_domain}/{settings.s3_images_prefix}{image.s3_key}"
    return ImageOut.model_validate(image).model_copy(update={"url": url})


def book_out(book: Book, *, images: Sequence[BookImage], settings: Settings) -> BookOut:
    return BookOut(
        id=book.id,
        title=book.title,
        created_at=book.created_at,
        images=[image_out(image, settings=settings) for image in images],
    )


def job_out(job: ImageProcessingJob | None) -> JobOut | None:
    return None if job is None else JobOut.model_validate(job)
