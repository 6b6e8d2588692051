"""The operator dashboard: server-rendered pages served by the API process at ``/``.

The pages are Jinja2 shells; the browser fills them by calling the operator API (``/api/v1``) with
the session cookie and the CSRF header, exactly as any other client, so roles, CSRF and the audit
log apply unchanged and the dashboard has no data path of its own. Charts use uPlot, vendored
under ``static/vendor/`` (``scripts/vendor_assets.py``); live updates come from the API's event
stream. See docs/dashboard.md ("How it is built, and why").
"""

from csms.dashboard.pages import install_dashboard

__all__ = ["install_dashboard"]
