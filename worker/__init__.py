"""The worker side: Celery app, tasks, beat sweeps, the image pipeline and model sessions."""

__version__ = "0.1.0"
