"""Work handed to a thread that the request waiting for it may give up on, up to the work's
point of no return.

An upload stores an object, then commits the rows that own it. The request answers within its
bound whatever S3 does: if the bound passes while the thread still waits on S3 (or on the
book's read), the request answers 503 and the thread, once S3 lets go of it, deletes what it
stored and records nothing, so the client's retry is the only copy. Once the thread has begun
to record, the request waits for its answer instead: what the thread does from there is kept,
so the client must hear of it, and it is bounded by the database's own timeouts.
"""

from __future__ import annotations

import threading


class Abandoned(Exception):
    """The waiter gave up on this work before its point of no return."""


class Handoff:
    """What one piece of work is waiting on, shared by its thread and the request waiting."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._waiting_on = "a thread"
        self._abandoned = False
        self._past_return = False

    def waiting_on(self, dependency: str) -> None:
        """The work now waits on `dependency`; Abandoned if its waiter has gone."""
        with self._lock:
            self._enter(dependency)

    def point_of_no_return(self, dependency: str) -> None:
        """From here the waiter waits for the work's answer; Abandoned if it has gone already."""
        with self._lock:
            self._enter(dependency)
            self._past_return = True

    def abandon(self) -> str | None:
        """Give up on the work: what it was waiting on, or None when it is past its point of
        no return (then the waiter must wait for its answer)."""
        with self._lock:
            if self._past_return:
                return None
            self._abandoned = True
            return self._waiting_on

    def _enter(self, dependency: str) -> None:
        if self._abandoned:
            raise Abandoned(f"abandoned while waiting on {self._waiting_on}")
        self._waiting_on = dependency
