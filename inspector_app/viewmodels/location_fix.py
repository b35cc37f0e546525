"""Waiting for a good enough location: the GPS fix state shown on the New report screen.

GPS fixes arrive from the platform adapter (plyer on Android, typed or picked on the
desktop, scripted in tests). A fix as accurate as the target (``target_m``, a setting)
is taken at once; until then the best fix so far is shown with its accuracy and the
inspector may "use anyway" or drop a pin on the map. A pin or a typed point always wins
over GPS: the inspector looked at the map.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from shared_schemas.geo import GeoPoint

DEFAULT_TARGET_M = 20.0
DEFAULT_PATIENCE_S = 45.0  # after this long without a good fix, the fallbacks are offered


@dataclass(frozen=True)
class Fix:
    lat: float
    lon: float
    accuracy_m: float
    at: datetime
    source: str = "gps"

    def point(self) -> GeoPoint:
        return GeoPoint.model_validate(
            {
                "lat": self.lat,
                "lon": self.lon,
                "accuracy_m": self.accuracy_m,
                "source": self.source,
                "captured_at": self.at,
            }
        )


class LocationTracker:
    """State: ``waiting`` (no fix), ``improving`` (fixes, none good enough yet),
    ``accepted`` (a location is chosen: a good GPS fix, "use anyway", or a pin)."""

    def __init__(
        self,
        *,
        target_m: float = DEFAULT_TARGET_M,
        patience_s: float = DEFAULT_PATIENCE_S,
        started_at: datetime,
    ) -> None:
        if target_m <= 0:
            raise ValueError("the target accuracy must be positive")
        self.target_m = target_m
        self.patience = timedelta(seconds=patience_s)
        self.started_at = started_at
        self.best: Fix | None = None
        self.latest: Fix | None = None
        self.chosen: Fix | None = None

    @property
    def state(self) -> str:
        if self.chosen is not None:
            return "accepted"
        return "waiting" if self.latest is None else "improving"

    def on_fix(self, fix: Fix) -> Fix | None:
        """Feed a GPS fix; returns the fix when it is taken (good enough), else None."""
        GeoPoint.model_validate(  # refuse impossible coordinates before they are shown
            {
                "lat": fix.lat,
                "lon": fix.lon,
                "accuracy_m": fix.accuracy_m,
                "source": fix.source,
                "captured_at": fix.at,
            }
        )
        self.latest = fix
        if self.best is None or fix.accuracy_m <= self.best.accuracy_m:
            self.best = fix
        if self.chosen is not None and self.chosen.source != "gps":
            return None  # a pin or a typed point is never replaced by GPS
        if fix.accuracy_m <= self.target_m and (
            self.chosen is None or fix.accuracy_m <= self.chosen.accuracy_m
        ):
            self.chosen = fix
            return fix
        return None

    def use_anyway(self) -> Fix:
        """Take the best fix so far even though it is not as accurate as the target."""
        if self.best is None:
            raise LookupError("no GPS fix yet: drop a pin on the map instead")
        self.chosen = self.best
        return self.best

    def pin(self, *, lat: float, lon: float, accuracy_m: float, at: datetime) -> Fix:
        """A place picked on the map (source ``map``)."""
        fix = Fix(lat=lat, lon=lon, accuracy_m=accuracy_m, at=at, source="map")
        fix.point()  # validates
        self.chosen = fix
        return fix

    def typed(self, *, lat: float, lon: float, at: datetime) -> Fix:
        """Coordinates typed in by hand (source ``manual``; accuracy unknown: 50 m)."""
        fix = Fix(lat=lat, lon=lon, accuracy_m=50.0, at=at, source="manual")
        fix.point()
        self.chosen = fix
        return fix

    def restore(self, fix: Fix) -> None:
        """A resumed draft already had a location."""
        self.chosen = fix

    def offer_fallbacks(self, now: datetime) -> bool:
        """True once waiting took longer than the patience (the screen stresses the
        "use anyway" and map buttons then; they are always there)."""
        return self.chosen is None and now - self.started_at >= self.patience
