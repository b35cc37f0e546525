"""Tasks: verification and re-inspection tasks assigned by supervisors, by due date.

Overdue ones come first (they are due soonest); a tap opens the task to record its
result (task_detail).
"""

from __future__ import annotations

from typing import Any

from kivy.app import App
from kivy.properties import BooleanProperty, StringProperty

from inspector_app.ui.i18n import tr
from inspector_app.ui.screens.base import WhistleScreen
from inspector_app.ui.screens.work_common import TapCard, load_rules, reader_for
from inspector_app.viewmodels.categories import category_index, load_categories
from inspector_app.viewmodels.locale import N_
from inspector_app.viewmodels.task_list import TaskRow, load_tasks

TASK_FILTERS = [("open", N_("To do")), ("overdue", N_("Overdue")), ("done", N_("Done"))]
EMPTY_WORDS = {
    "open": N_("No tasks to do. New tasks arrive with the next sync."),
    "overdue": N_("No overdue tasks."),
    "done": N_("No finished tasks on this tablet."),
}

load_rules()


class TaskRowView(TapCard):
    task_id = StringProperty("")
    title = StringProperty("")
    kind_text = StringProperty("")
    due_text = StringProperty("")
    status_colour = StringProperty("")
    group_colour = StringProperty("")
    address = StringProperty("")
    description = StringProperty("")
    open = BooleanProperty(True)


def visible(tasks: list[TaskRow], state: str, *, now: Any) -> list[TaskRow]:
    if state == "open":
        return [t for t in tasks if t.state == "open"]
    if state == "overdue":
        return [t for t in tasks if t.overdue(now)]
    return [t for t in tasks if t.state != "open"]


class TasksScreen(WhistleScreen):
    title = N_("Tasks")
    empty_text = StringProperty("")

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.filter = "open"
        self.tasks: list[TaskRow] = []
        self._visible = False
        self.ids.filters.options = TASK_FILTERS
        self.ids.filters.value = self.filter

    def _language_changed(self, *_args: Any) -> None:
        """Bound while shown (a hidden screen redraws in on_show anyway)."""
        if self.manager is None or App.get_running_app() is not self._shown_by:
            tr.unbind(lang=self._language_changed)  # left without on_hide: the app stopped
            return
        self._draw()

    def on_show(self, filter: str | None = None, **_params: Any) -> None:
        tr.bind(lang=self._language_changed)
        self._shown_by = self.app
        if filter in ("open", "overdue", "done"):
            self.filter = filter
        self.ids.filters.value = self.filter
        self._visible = True
        self.app.bind(data_version=self._changed)
        self.reload()

    def on_hide(self) -> None:
        tr.unbind(lang=self._language_changed)
        self._visible = False
        self.app.unbind(data_version=self._changed)

    def _changed(self, *_args: Any) -> None:
        if self._visible:
            self.reload()

    def reload(self) -> None:
        self.tasks = load_tasks(reader_for(self.ctx.store.path))
        self._draw()

    def set_filter(self, state: str) -> None:
        self.filter = state
        self._draw()

    def _draw(self) -> None:
        if not self._visible and not self.tasks:
            return
        box = self.ids.list
        box.clear_widgets()
        now = self.ctx.clock()
        tiles = category_index(load_categories(reader_for(self.ctx.store.path)))
        shown = visible(self.tasks, self.filter, now=now)
        for task in shown:
            view = task.view(tr._, tr.lang, tiles, now=now)
            row = TaskRowView(**view)
            row.bind(on_release=lambda r: self.app.show("task_detail", task_id=r.task_id))
            box.add_widget(row)
        self.empty_text = "" if shown else tr._(EMPTY_WORDS[self.filter])


SCREEN = TasksScreen

__all__ = ["SCREEN", "TaskRowView", "TasksScreen"]
