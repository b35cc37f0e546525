"""Signing out never loses data silently: with unsynced work on the tablet it is refused
until the inspector confirms twice. The data stays on the tablet either way; it is sent
after the next sign-in."""

from __future__ import annotations

from enum import StrEnum

from inspector_app.viewmodels.locale import N_
from inspector_app.viewmodels.messages import Message


class Step(StrEnum):
    SIGN_OUT = "sign_out"  # go ahead
    CONFIRM_FIRST = "confirm_first"  # refused for now: ask "sign out anyway?"
    CONFIRM_SECOND = "confirm_second"  # ask again, plainer
    CANCELLED = "cancelled"


class SignOutFlow:
    """``request()`` then ``confirm()`` until the step is SIGN_OUT (or ``cancel()``)."""

    def __init__(self, unsynced: int) -> None:
        self.unsynced = unsynced
        self.step = Step.CANCELLED

    def request(self) -> Step:
        self.step = Step.SIGN_OUT if self.unsynced == 0 else Step.CONFIRM_FIRST
        return self.step

    def confirm(self) -> Step:
        if self.step == Step.CONFIRM_FIRST:
            self.step = Step.CONFIRM_SECOND
        elif self.step == Step.CONFIRM_SECOND:
            self.step = Step.SIGN_OUT
        else:
            raise RuntimeError(f"nothing to confirm in step {self.step}")
        return self.step

    def cancel(self) -> Step:
        self.step = Step.CANCELLED
        return self.step

    def message(self) -> Message | None:
        if self.step == Step.CONFIRM_FIRST:
            return Message(
                N_(
                    "Reports or results not synced yet: {count}. Signing out is refused "
                    "while they wait: sync first. They stay on this tablet and are sent "
                    "after the next sign-in. Sign out anyway?"
                ),
                {"count": self.unsynced},
                level="warning",
            )
        if self.step == Step.CONFIRM_SECOND:
            return Message(
                N_(
                    "Really sign out? Unsynced items: {count}. Nothing is deleted, but "
                    "nothing is sent until someone signs in again."
                ),
                {"count": self.unsynced},
                level="error",
            )
        return None


__all__ = ["SignOutFlow", "Step"]
