"""The dashboard: the indicators of domain.md as charts and as tables, with the filters
(period, category, group, area, department) and the definitions written on the page."""

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from sqlmodel import Session, col, select

from server.accounts.models import Organisation
from server.accounts.scope import Scope
from server.admin.deps import AdminCtx
from server.admin.i18n import Translator, add_messages
from server.admin.pages.dashboard_data import (
    BREAKDOWNS,
    PERIODS,
    TABLE_METRICS,
    chart_data,
    parse_query,
    table_rows,
)
from server.admin.templating import render
from server.areas.service import visible_areas
from server.core.clock import utcnow
from server.core.deps import SessionDep
from server.reports.cache import IndicatorCacheDep, cached_indicators
from server.reports.definitions import DEFINITIONS, METRIC_NAMES, PERIOD_RULE
from server.taxonomy.models import Category
from shared_schemas.enums import AreaLevel, OrganisationKind
from shared_schemas.taxonomy import load_taxonomy

router = APIRouter()

MESSAGES: dict[str, tuple[str, str]] = {
    "dash.title": ("统计分析", "Dashboard"),
    "dash.period": ("统计期", "Period"),
    "dash.period.month": ("本月", "This month"),
    "dash.period.3m": ("近三个月", "Last 3 months"),
    "dash.period.12m": ("近十二个月", "Last 12 months"),
    "dash.period.year": ("今年", "This year"),
    "dash.period.all": ("全部", "All time"),
    "dash.period.custom": ("自定义", "Custom dates"),
    "dash.date_from": ("开始日期", "From"),
    "dash.date_to": ("结束日期", "To"),
    "dash.category": ("问题类别", "Category"),
    "dash.group": ("大类", "Group"),
    "dash.area": ("区域（代码）", "Area (code)"),
    "dash.department": ("责任部门", "Department"),
    "dash.area_level": ("区域分组层级", "Areas grouped by"),
    "dash.level.street": ("街道", "street"),
    "dash.level.community": ("社区", "community"),
    "dash.level.grid": ("网格", "grid"),
    "dash.level.compound": ("小区", "compound"),
    "dash.level.district": ("区", "district"),
    "dash.any": ("全部", "All"),
    "dash.err.period": ("未知的统计期，已使用默认值。", "Unknown period; the default is used."),
    "dash.err.value": ("此项无效，已忽略。", "Not valid; ignored."),
    "dash.err.order": (
        "结束日期早于开始日期，已忽略。",
        "The end is before the start; ignored.",
    ),
    "dash.errors": (
        "部分筛选条件无效，已忽略：",
        "Some filters were not valid and were ignored:",
    ),
    "dash.computed_at": ("统计时刻", "As of"),
    "dash.cached": (
        "（{s} 秒内重复查询使用同一结果）",
        "(the same question within {s} s gets this same answer)",
    ),
    "dash.range": ("统计范围：{start} 至 {end}（按上报时间）", "Cases reported {start} to {end}"),
    "dash.open_end": ("不限", "any time"),
    "dash.range_all": ("统计范围：全部问题（按上报时间）", "All cases reported so far"),
    "dash.closed": ("结案数", "Closed"),
    "dash.percent_axis": ("比率（%）", "Rate (%)"),
    "dash.count_axis": ("数量", "Count"),
    "dash.chart.month": (
        "按月：发现、立案、结案与比率",
        "By month: discovered, registered, closed, rates",
    ),
    "dash.chart.category": ("按类别：发现数与超期数", "By category: discovered and overdue"),
    "dash.chart.department": (
        "按责任部门：按期处置率与结案率",
        "By department: on-time and closure rates",
    ),
    "dash.chart.area": ("按区域：发现数与超期数", "By area: discovered and overdue"),
    "dash.table.by_month": ("按月", "By month"),
    "dash.table.by_group": ("按大类", "By group"),
    "dash.table.by_category": ("按类别", "By category"),
    "dash.table.by_area": ("按区域", "By area"),
    "dash.table.by_department": ("按责任部门", "By department"),
    "dash.table.name": ("名称", "Name"),
    "dash.total": ("合计", "Total"),
    "dash.no_data": ("所选范围内没有问题。", "No cases in this selection."),
    "dash.charts": ("图表", "Charts"),
    "dash.tables": ("数据表", "Tables"),
    "dash.definitions": ("指标定义", "Definitions"),
    "dash.rate_title": ("分子/分母", "part/whole"),
} | {f"dash.metric.{m}": pair for m, pair in METRIC_NAMES.items()}
add_messages(MESSAGES)


def _options(session: Session, scope: Scope, t: Translator) -> dict[str, Any]:
    """The choices of the filter form (only areas the user may see)."""
    groups = load_taxonomy().groups
    departments = session.exec(
        select(Organisation)
        .where(Organisation.kind == OrganisationKind.DEPARTMENT)
        .order_by(col(Organisation.code))
    )
    return {
        "categories": [
            (c.code, t.pick(c.name_zh, c.name_en))
            for c in session.exec(select(Category).order_by(col(Category.sort_order)))
        ],
        "groups": [(g.code.value, t.pick(g.name_zh, g.name_en)) for g in groups],
        "areas": [(a.code, a.name) for a in visible_areas(session, scope)],
        "departments": [(d.code, t.pick(d.name_zh, d.name_en)) for d in departments],
        "levels": [lv.value for lv in AreaLevel if lv != AreaLevel.DISTRICT],
    }


@router.get("/dashboard")
def dashboard(
    request: Request, ctx: AdminCtx, session: SessionDep, cache: IndicatorCacheDep
) -> HTMLResponse:
    now = utcnow()
    query = parse_query(request.query_params, now=now, t=ctx.t)
    answer = cached_indicators(
        session, cache=cache, scope=ctx.scope, filters=query.filters, now=now
    )
    indicators = answer.indicators
    tables = {name: table_rows(getattr(indicators, name), ctx.t) for name in BREAKDOWNS}
    definitions = [
        (ctx.t.pick(*METRIC_NAMES[m]), ctx.t.pick(*DEFINITIONS[m])) for m in TABLE_METRICS
    ]
    return render(
        request,
        "dashboard.html",
        active="dashboard",
        query=query,
        periods=PERIODS,
        options=_options(session, ctx.scope, ctx.t),
        indicators=indicators,
        # An answer kept from a moment ago says so next to its time (server/reports/cache).
        cached_note=ctx.t("dash.cached", s=round(cache.ttl_s)) if answer.hit else None,
        total=table_rows([indicators.totals], ctx.t)[0],
        tables=tables,
        metrics=TABLE_METRICS,
        charts=chart_data(indicators, ctx.t),
        definitions=definitions,
        period_rule=ctx.t.pick(*PERIOD_RULE),
    )
