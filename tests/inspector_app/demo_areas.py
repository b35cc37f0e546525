"""The demo areas the app's view-model and UI tests seed into a tablet store: one
community with two grids (the inspector's), their compounds, and a grid of someone
else's. One copy, shared by tests/inspector_app/viewmodels and tests/inspector_app/ui."""

from __future__ import annotations

from typing import Any

ACCOUNT_AREAS: list[dict[str, Any]] = [
    {"code": "DEMO_G1", "name": "幸福一网格", "level": "grid"},
    {"code": "DEMO_G2", "name": "幸福二网格", "level": "grid"},
]

AREAS: list[dict[str, Any]] = [
    {"code": "DEMO_CM", "name": "幸福社区", "level": "community", "parent_code": None},
    {
        "code": "DEMO_G1",
        "name": "幸福一网格",
        "level": "grid",
        "parent_code": "DEMO_CM",
        "lat": 31.2652,
        "lon": 121.5303,
    },
    {
        "code": "DEMO_G2",
        "name": "幸福二网格",
        "level": "grid",
        "parent_code": "DEMO_CM",
        "lat": 31.2670,
        "lon": 121.5338,
    },
    {
        "code": "DEMO_CP1",
        "name": "阳光小区",
        "name_en": "Sunshine Garden",
        "level": "compound",
        "parent_code": "DEMO_G1",
        "lat": 31.2657,
        "lon": 121.5297,
    },
    {
        "code": "DEMO_CP2",
        "name": "和平小区",
        "level": "compound",
        "parent_code": "DEMO_G1",
        "lat": 31.2641,
        "lon": 121.5316,
    },
    {
        "code": "DEMO_CP3",
        "name": "春晖小区",
        "level": "compound",
        "parent_code": "DEMO_G2",
        "lat": 31.2670,
        "lon": 121.5338,
    },
    {"code": "OTHER_G", "name": "别人的网格", "level": "grid", "parent_code": "DEMO_CM"},
]

# What the UI tests seed: the inspector's grids and the compounds of the first.
UI_AREAS: list[dict[str, Any]] = [
    a for a in AREAS if a["code"] in {"DEMO_G1", "DEMO_G2", "DEMO_CP1", "DEMO_CP2"}
]
