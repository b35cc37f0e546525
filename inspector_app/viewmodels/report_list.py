"""My reports: the signed-in user's reports on this tablet (a shared tablet keeps the
previous user's too, unlisted) with their sync state and case state.

One query over the read-only connection gives the whole list (5,000 reports in tens of
milliseconds); the screen's RecycleView draws only the rows on screen, from plain dicts
(:meth:`ReportRow.view`).

Sync state, as the inspector sees it:

* ``draft``: not saved for sending yet;
* ``waiting``: saved, something still has to go (the report, an amend, or photos);
* ``syncing``: being sent right now (an operation is ``sending``, or an upload started);
* ``synced``: the server has the report and every photo;
* ``rejected``: the server refused it (or it conflicted); the reason is shown.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from inspector_app.viewmodels.categories import CategoryTile, category_index, load_categories
from inspector_app.viewmodels.local_read import LocalReader
from inspector_app.viewmodels.locale import N_
from inspector_app.viewmodels.screen_words import (
    CASE_STATUS_COLOURS,
    CASE_STATUS_WORDS,
    SYNC_STATE_COLOURS,
    SYNC_STATE_WORDS,
    SYNC_STATES,
    Translate,
    bilingual,
    format_time,
    labelled,
    word,
)

FILTERS = ("all", *SYNC_STATES)

_LIST_SQL = """
SELECT r.id, r.state, r.category, r.severity, r.observed_at, r.created_at, r.address,
       r.reject_code, r.reject_message, r.case_status, r.lat, r.lon,
       (SELECT p.thumb_path FROM photos p
         WHERE p.report_id = r.id AND p.processed = 1 ORDER BY p.position LIMIT 1) AS thumb,
       (SELECT COUNT(*) FROM photos p WHERE p.report_id = r.id) AS photos,
       (SELECT COUNT(*) FROM photos p WHERE p.report_id = r.id AND p.uploaded = 1) AS uploaded,
       (SELECT COUNT(*) FROM photos p
         WHERE p.report_id = r.id AND p.uploaded = 0 AND p.upload_url IS NOT NULL) AS uploading,
       (SELECT GROUP_CONCAT(o.state) FROM outbox o WHERE o.entity_id = r.id) AS op_states,
       (SELECT o.result_message FROM outbox o
         WHERE o.entity_id = r.id AND o.state IN ('rejected', 'conflict')
         ORDER BY o.seq DESC LIMIT 1) AS op_message
  FROM reports r
 WHERE r.owner IS ? OR r.owner IS NULL
"""


def sync_state(
    *, state: str, op_states: Iterable[str], photos: int, uploaded: int, uploading: int
) -> str:
    """The inspector's sync state from the report row, its operations and its photos."""
    if state == "draft":
        return "draft"
    ops = set(op_states)
    if state == "rejected" or ops & {"rejected", "conflict"}:
        return "rejected"
    if "sending" in ops:
        return "syncing"
    if ops & {"waiting_photos", "pending"} or state == "queued":
        return "waiting"
    if uploaded < photos:
        return "syncing" if uploading else "waiting"
    return "synced"


@dataclass(frozen=True)
class ReportRow:
    id: str
    sync: str
    category: str | None
    severity: str | None
    observed_at: datetime
    address: str
    reason: str
    case_status: str | None
    thumb: Path | None
    photos: int
    uploaded: int
    lat: float | None
    lon: float | None

    def view(
        self, tr: Translate, lang: str, tiles: dict[str, CategoryTile], *, now: datetime
    ) -> dict[str, Any]:
        """The RecycleView data of this row (plain values only)."""
        tile = tiles.get(self.category or "")
        if tile is None:
            title, subtitle, colour = tr(N_("No category yet")), "", "#8d99ae"
        else:
            title, subtitle = bilingual(tile.name_zh, tile.name_en, lang)
            colour = tile.colour
        sync_text = word(SYNC_STATE_WORDS, self.sync, tr)
        if self.sync == "rejected" and self.reason:
            sync_text = labelled(sync_text, self.reason, tr)
        elif self.photos and self.sync in ("waiting", "syncing") and self.uploaded:
            photos = tr(N_("photos {done}/{total}")).format(done=self.uploaded, total=self.photos)
            sync_text = f"{sync_text} ({photos})"
        return {
            "report_id": self.id,
            "title": title,
            "subtitle": subtitle,
            "group_colour": colour,
            "time_text": format_time(self.observed_at, lang, now=now),
            "address": self.address,
            "sync": self.sync,
            "sync_text": sync_text,
            "sync_colour": SYNC_STATE_COLOURS[self.sync],
            "case_text": word(CASE_STATUS_WORDS, self.case_status, tr),
            "case_colour": CASE_STATUS_COLOURS.get(self.case_status or "", "#6c757d"),
            "thumb": "" if self.thumb is None else str(self.thumb),
        }


class ReportList:
    """The rows of My reports, newest first, and their counts per sync state."""

    def __init__(self, *, reader: LocalReader, photos_root: Path) -> None:
        self.reader = reader
        self.photos_root = photos_root
        self.tiles = category_index(load_categories(reader))

    def load(self) -> list[ReportRow]:
        rows = self.reader.all(
            _LIST_SQL + " ORDER BY r.observed_at DESC, r.id", (self.reader.data_owner(),)
        )
        out: list[ReportRow] = []
        for r in rows:
            ops = (r["op_states"] or "").split(",") if r["op_states"] else []
            sync = sync_state(
                state=r["state"],
                op_states=ops,
                photos=r["photos"],
                uploaded=r["uploaded"],
                uploading=r["uploading"],
            )
            reason = ""
            if sync == "rejected":
                reason = r["reject_message"] or r["op_message"] or r["reject_code"] or ""
            out.append(
                ReportRow(
                    id=r["id"],
                    sync=sync,
                    category=r["category"],
                    severity=r["severity"],
                    observed_at=datetime.fromisoformat(r["observed_at"]),
                    address=r["address"],
                    reason=reason,
                    case_status=r["case_status"],
                    thumb=None if r["thumb"] is None else self.photos_root / r["thumb"],
                    photos=r["photos"],
                    uploaded=r["uploaded"],
                    lat=r["lat"],
                    lon=r["lon"],
                )
            )
        return out

    @staticmethod
    def counts(rows: Iterable[ReportRow]) -> dict[str, int]:
        counts = dict.fromkeys(FILTERS, 0)
        for row in rows:
            counts["all"] += 1
            counts[row.sync] += 1
        return counts

    @staticmethod
    def filtered(rows: list[ReportRow], state: str) -> list[ReportRow]:
        if state not in FILTERS:
            raise ValueError(f"unknown filter {state!r}; use one of {', '.join(FILTERS)}")
        if state == "all":
            return rows
        return [row for row in rows if row.sync == state]

    def views(
        self, rows: Iterable[ReportRow], tr: Translate, lang: str, *, now: datetime
    ) -> list[dict[str, Any]]:
        return [row.view(tr, lang, self.tiles, now=now) for row in rows]
