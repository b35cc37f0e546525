"""What each indicator means, in words shown on the dashboard (zh, en).

The arithmetic in indicators.py follows these sentences; change both together (and
docs/reports.md). Every figure is about a cohort: the cases reported in the period.
"""

# metric -> (中文名, English name)
METRIC_NAMES: dict[str, tuple[str, str]] = {
    "discovered": ("发现数", "Discovered"),
    "registered": ("立案数", "Registered"),
    "registration_rate": ("立案率", "Registration rate"),
    "on_time_rate": ("按期处置率", "On-time rectification rate"),
    "closure_rate": ("结案率", "Closure rate"),
    "rework_rate": (
        "核查不通过次数 ÷ 核查次数。每次核查不通过（返工）计一次不通过；每个已结案的问题计一次通过"
        "（含主管说明理由后直接结案）。",
        "Failed verifications ÷ verifications. Each failed on-site verification (a rework) "
        "counts as one failure; each closed case counts as one passed verification "
        "(including a supervisor's closing override).",
    ),
    "avg_days_to_close": ("平均结案天数", "Average days to close"),
    "overdue": ("超期数", "Overdue"),
}

# metric -> (中文定义, English definition)
DEFINITIONS: dict[str, tuple[str, str]] = {
    "discovered": (
        "统计期内上报（到达系统）的问题数。被合并为重复的上报不计（同一隐患只算一次）；"
        "不予立案的上报计入。",
        "Reports that reached the server in the period. Reports merged as duplicates of "
        "another case are not counted (one hazard counts once); rejected reports are.",
    ),
    "registered": (
        "上述问题中已立案的数量：当前状态为已立案、已派遣、整改中、已整改、已结案或重新打开的问题。",
        "Of those, the cases that were registered: now registered, dispatched, rectifying, "
        "rectified, closed or reopened.",
    ),
    "registration_rate": (
        "立案数 ÷ 发现数。尚未审核的上报会拉低立案率。无发现时不计算（显示为空）。",
        "Registered ÷ discovered. Reports still waiting for triage lower it. Empty when "
        "nothing was discovered.",
    ),
    "on_time_rate": (
        "按期整改数 ÷ 应整改数。按期整改：已整改或已结案，且整改完成时间不晚于期限"
        "（如有延期，以延期后的期限为准）。应整改：有期限且已整改或已结案的问题，加上超期未整改的问题；"
        "期限未到且尚未整改的问题暂不计入。返工的问题以再次整改的时间为准。",
        "Rectified on time ÷ due. On time: rectified or closed, with the rectification at or "
        "before the deadline in force (the extended one, if it was extended). Due: cases "
        "with a deadline that are rectified or closed, plus overdue cases; cases whose "
        "deadline is still ahead and that are not rectified yet are not counted. After a "
        "rework, the later rectification is the one compared.",
    ),
    "closure_rate": (
        "结案数 ÷ 立案数。结案数为当前状态为已结案的问题（重新打开的不计）。",
        "Closed ÷ registered. Closed: the cases whose state is closed now (reopened cases "
        "are not).",
    ),
    "rework_rate": (
        "核查不通过次数 ÷ 核查次数。每次核查不通过（返工）计一次不通过；每个结案的问题计一次通过"
        "（含主管说明理由后直接结案）。",
        "Failed verifications ÷ verifications. Each failed on-site verification (a rework) "
        "counts as one failure; each case that was closed counts as one passed verification "
        "(including a supervisor's closing override).",
    ),
    "avg_days_to_close": (
        "已结案问题从上报到结案的平均天数（含小数）。",
        "For closed cases, the mean time from the report reaching the server to closure, "
        "in days (with fractions).",
    ),
    "overdue": (
        "已派遣或整改中、且期限早于统计时刻的问题数（超期未整改）。",
        "Cases dispatched or rectifying whose deadline is before the moment the figures "
        "were computed (past the deadline and not rectified).",
    ),
}

PERIOD_RULE: tuple[str, str] = (
    "所有指标按上报时间归属统计期（北京时间）：某月的立案、整改、结案都计入问题上报的那个月，"
    "因此各分项之和等于合计，并可在问题列表中用相同条件核对。近期月份的数字会随工作推进而变化。",
    "Every figure is about the cases reported in the period (China Standard Time): a "
    "case's registration, rectification and closure count for the month it was reported "
    "in. Rows therefore add up to the totals, and each figure can be checked against the "
    "case list with the same filters. Figures for recent months grow as work goes on.",
)
