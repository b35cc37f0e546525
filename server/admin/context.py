"""What a signed-in admin request knows about its caller (built once per request)."""

from dataclasses import dataclass
from zoneinfo import ZoneInfo

from server.accounts.models import User
from server.accounts.scope import Scope
from server.admin.i18n import Locale, Translator
from server.admin.models import AdminSession


@dataclass(frozen=True)
class AdminContext:
    user: User
    row: AdminSession
    scope: Scope
    locale: Locale
    t: Translator
    tz: ZoneInfo

    @property
    def csrf_token(self) -> str:
        return self.row.csrf_token
