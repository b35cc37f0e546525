"""One report in detail: its photos, its place and the timeline of its case.

The timeline starts with what the tablet knows by itself (found, saved, received by the
server or refused, the case status last pulled) and, when the server can be reached, is
replaced by the case's own timeline (``GET /cases/{id}``), fetched off the UI thread.
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from inspector_app.core.capture import Capture
from inspector_app.core.store import Report
from inspector_app.viewmodels.local_read import LocalReader
from inspector_app.viewmodels.report_list import sync_state
from inspector_app.viewmodels.screen_words import (
    CASE_STATUS_WORDS,
    TIMELINE_WORDS,
    Translate,
    labelled,
    word,
)


@dataclass(frozen=True)
class TimelineEntry:
    at: datetime
    kind: str  # a TIMELINE_WORDS code, or the server's action name
    status: str | None = None  # a case status after this step
    note: str = ""
    actor: str = ""

    def text(self, tr: Translate) -> str:
        label = word(TIMELINE_WORDS, self.kind, tr)
        if self.status:
            label = labelled(label, word(CASE_STATUS_WORDS, self.status, tr), tr)
        return label


@dataclass(frozen=True)
class DetailPhoto:
    photo_id: str
    path: Path  # the processed photo, or the original while processing runs
    thumb: Path | None
    kind: str


class ReportDetail:
    def __init__(self, *, capture: Capture, reader: LocalReader, report_id: str) -> None:
        report = capture.store.get_report(report_id)
        if report is None:
            raise LookupError(f"report {report_id} does not exist on this tablet")
        self.capture = capture
        self.reader = reader
        self.report: Report = report
        self.server_timeline: list[TimelineEntry] | None = None

    def area_name(self, lang: str) -> str:
        """The report's compound or grid by name (its code when the area is not cached)."""
        code = self.report.grid
        if code is None:
            return ""
        row = self.reader.one("SELECT name, data FROM areas_cache WHERE code = ?", (code,))
        if row is None:
            return code
        name_en = ""
        with contextlib.suppress(ValueError):
            name_en = str(json.loads(row["data"] or "{}").get("name_en") or "")
        return name_en if name_en and not lang.lower().startswith("zh") else str(row["name"])

    @property
    def location(self) -> tuple[float, float] | None:
        if self.report.lat is None or self.report.lon is None:
            return None
        return self.report.lat, self.report.lon

    def photos(self) -> list[DetailPhoto]:
        out = []
        for photo in self.capture.store.photos_of(report_id=self.report.id):
            path = self.capture.photo_path(
                photo, which="processed" if photo.processed else "original"
            )
            thumb = self.capture.photo_path(photo, which="thumb") if photo.processed else None
            if path is not None:
                out.append(DetailPhoto(photo.id, path, thumb, photo.kind))
        return out

    def sync_state(self) -> str:
        ops = [op.state for op in self.capture.store.ops_for(self.report.id)]
        photos = self.capture.store.photos_of(report_id=self.report.id)
        return sync_state(
            state=self.report.state,
            op_states=ops,
            photos=len(photos),
            uploaded=sum(p.uploaded for p in photos),
            uploading=sum(1 for p in photos if p.upload_url and not p.uploaded),
        )

    def local_timeline(self) -> list[TimelineEntry]:
        r = self.report
        entries = [TimelineEntry(r.observed_at, "observed")]
        for op in self.capture.store.ops_for(r.id):
            if op.kind == "report.create":
                entries.append(TimelineEntry(op.created_at, "saved"))
            elif op.kind == "report.amend":
                entries.append(TimelineEntry(op.created_at, "amend"))
        if r.state == "synced":
            entries.append(TimelineEntry(r.updated_at, "sent"))
        if r.state == "rejected":
            entries.append(
                TimelineEntry(
                    r.updated_at, "rejected", note=r.reject_message or r.reject_code or ""
                )
            )
        row = self.reader.one("SELECT case_updated_at FROM reports WHERE id = ?", (r.id,))
        if r.case_status and row is not None and row[0]:
            entries.append(TimelineEntry(datetime.fromisoformat(row[0]), "case", r.case_status))
        return sorted(entries, key=lambda e: e.at)

    def timeline(self) -> list[TimelineEntry]:
        return self.server_timeline if self.server_timeline is not None else self.local_timeline()

    def apply_server_case(self, case: dict[str, Any]) -> list[TimelineEntry]:
        """Take the case detail the server sent (its timeline replaces the local one)."""
        entries: list[TimelineEntry] = []
        for event in case.get("timeline") or []:
            try:
                at = datetime.fromisoformat(str(event["at"]))
            except (KeyError, ValueError):
                continue
            action = str(event.get("action") or "transition")
            entries.append(
                TimelineEntry(
                    at=at,
                    kind=action if action in ("report", "amend", "verification") else "transition",
                    status=event.get("to_status"),
                    note=str(event.get("note") or ""),
                    actor=str(event.get("actor") or ""),
                )
            )
        self.server_timeline = sorted(entries, key=lambda e: e.at)
        return self.server_timeline
