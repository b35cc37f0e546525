"""Exponential backoff with full jitter (AWS architecture blog, "Exponential Backoff And
Jitter"): the delay is uniform in [0, min(cap, base * 2**attempt)], so tablets that lost
the network together do not come back together. A server's Retry-After is a floor."""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True)
class Backoff:
    base_s: float = 2.0
    cap_s: float = 15 * 60.0
    # Retry-After beyond this is not believed (a misconfigured proxy must not park the
    # tablet for a day).
    max_retry_after_s: float = 60 * 60.0

    def ceiling(self, attempt: int) -> float:
        """The upper bound of the delay after ``attempt`` failures (attempt >= 1)."""
        exponent = min(max(attempt - 1, 0), 62)
        return float(min(self.cap_s, self.base_s * (2.0**exponent)))

    def delay(
        self, attempt: int, *, rng: random.Random, retry_after_s: float | None = None
    ) -> float:
        """Seconds to wait before the next try after ``attempt`` consecutive failures."""
        chosen = rng.uniform(0.0, self.ceiling(attempt))
        if retry_after_s is not None and retry_after_s > 0:
            chosen = max(chosen, min(retry_after_s, self.max_retry_after_s))
        return chosen


__all__ = ["Backoff"]
