"""The supervisors' web admin under /admin: server-rendered pages (Jinja2 + htmx),
session cookie, CSRF tokens. See docs/admin.md and /work/briefs/admin-framework.md."""
