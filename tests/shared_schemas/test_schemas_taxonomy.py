"""The shipped taxonomy (data/taxonomy.json) against the enum and the domain digest."""

import re
from pathlib import Path

import pytest

from shared_schemas.api import TaxonomyOut
from shared_schemas.enums import CategoryGroup, Severity
from shared_schemas.taxonomy import CategoryCode, DeadlineDays, TaxonomyData, load_taxonomy

# The project's shared notes live beside the repository: <repo>/../shared/domain.md.
DOMAIN_MD = Path(__file__).resolve().parents[2].parent / "shared" / "domain.md"


@pytest.fixture(scope="module")
def taxonomy() -> TaxonomyData:
    return load_taxonomy()


def _domain_table() -> list[tuple[str, str, str]]:
    """(group cell, code, 中文) per row of domain.md's hazard taxonomy table."""
    text = DOMAIN_MD.read_text("utf-8")
    section = text.split("## Hazard taxonomy", 1)[1].split("\n## ", 1)[0]
    rows: list[tuple[str, str, str]] = []
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) >= 3 and re.fullmatch(r"[A-Z][A-Z_]+", cells[1]):
            rows.append((cells[0], cells[1], cells[2]))
    return rows


def test_the_data_file_loads_and_is_cached(taxonomy: TaxonomyData) -> None:
    assert taxonomy.version >= 1
    assert load_taxonomy() is taxonomy


def test_category_codes_are_exactly_the_enum(taxonomy: TaxonomyData) -> None:
    codes = [c.code for c in taxonomy.categories]
    assert len(codes) == len(set(codes))
    assert set(codes) == set(CategoryCode)


def test_default_departments_exist(taxonomy: TaxonomyData) -> None:
    departments = {d.code for d in taxonomy.departments}
    assert len(departments) == len(taxonomy.departments)
    for category in taxonomy.categories:
        if category.code is CategoryCode.OTHER:
            assert category.default_department is None  # the supervisor decides
        else:
            assert category.default_department in departments, category.code


def test_every_group_is_defined_once_and_used(taxonomy: TaxonomyData) -> None:
    groups = [g.code for g in taxonomy.groups]
    assert sorted(groups) == sorted(set(CategoryGroup))
    assert {c.group for c in taxonomy.categories} == set(groups)


def test_sort_order_is_unique(taxonomy: TaxonomyData) -> None:
    orders = [c.sort_order for c in taxonomy.categories]
    assert len(orders) == len(set(orders))


def test_names_match_the_domain_digest(taxonomy: TaxonomyData) -> None:
    if not DOMAIN_MD.is_file():
        pytest.skip(f"{DOMAIN_MD} is not present (it lives beside the repository)")
    rows = _domain_table()
    assert rows, "no taxonomy rows found in domain.md"
    assert [code for _, code, _ in rows] == [c.code.value for c in taxonomy.categories]
    expected_zh = {code: zh for _, code, zh in rows}
    actual_zh = {c.code.value: c.name_zh for c in taxonomy.categories}
    assert actual_zh == expected_zh

    # the group column names a group on its first row ("fire safety 消防安全"), blank after
    group_zh = {g.code: g.name_zh for g in taxonomy.groups}
    current = ""
    for (cell, code, _), category in zip(rows, taxonomy.categories, strict=True):
        current = cell or current
        chinese = "".join(re.findall(r"[\u4e00-\u9fff]+", current))
        if chinese:
            assert group_zh[category.group] == chinese, code


def test_street_light_is_due_within_a_day_whatever_the_severity(
    taxonomy: TaxonomyData,
) -> None:
    street_light = next(c for c in taxonomy.categories if c.code is CategoryCode.STREET_LIGHT)
    for severity in Severity:
        assert street_light.deadline_days.for_severity(severity) == 1


def test_deadlines_do_not_shrink_with_severity(taxonomy: TaxonomyData) -> None:
    for c in taxonomy.categories:
        days = c.deadline_days
        assert 1 <= days.minor <= days.general <= days.major, c.code


def test_deadline_days_for_severity() -> None:
    days = DeadlineDays(minor=7, general=30, major=60)
    assert days.for_severity(Severity.MINOR) == 7
    assert days.for_severity(Severity.GENERAL) == 30
    assert days.for_severity(Severity.MAJOR) == 60
    with pytest.raises(ValueError):
        DeadlineDays(minor=0, general=30, major=60)
    with pytest.raises(ValueError):
        DeadlineDays(minor=7, general=30, major=366)


def test_taxonomy_fits_the_api_shape(taxonomy: TaxonomyData) -> None:
    groups = {g.code: g for g in taxonomy.groups}
    out = TaxonomyOut.model_validate(
        {
            "version": taxonomy.version,
            "categories": [
                {
                    **c.model_dump(mode="json"),
                    "group_name_zh": groups[c.group].name_zh,
                    "group_name_en": groups[c.group].name_en,
                }
                for c in taxonomy.categories
            ],
            "departments": [d.model_dump(mode="json") for d in taxonomy.departments],
        }
    )
    assert [c.code for c in out.categories] == [c.code for c in taxonomy.categories]
