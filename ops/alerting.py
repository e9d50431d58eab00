"""Alert channels as Airflow notifiers: e-mail (SmtpNotifier) and a JSON webhook (HttpNotifier).

Each is configured by an Airflow connection (``ReportConfig.alert_smtp_conn_id``: type smtp, extras
``from_email``, ``to``, ``disable_ssl``/``disable_tls``; ``alert_webhook_conn_id``: type http, its host
and path are where the JSON is POSTed). A connection that does not exist is a channel that is off.
``notify()`` is called directly, never the notifier's ``__call__``: that would render the fields as
Jinja templates, and an alert carries post text and topic labels that anyone could have written.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable

from monitoring.alerts import email_html
from monitoring.config import ReportConfig

log = logging.getLogger(__name__)


def _connection(conn_id: str):
    from airflow.exceptions import AirflowNotFoundException
    from airflow.sdk import BaseHook

    try:
        return BaseHook.get_connection(conn_id)
    except AirflowNotFoundException:
        log.info("alert connection %s is not defined: that channel is off", conn_id)
        return None


def channels(cfg: ReportConfig) -> dict[str, Callable[[dict], None]]:
    """{channel name: send(event)} for the channels whose connection exists."""
    out: dict[str, Callable[[dict], None]] = {}
    smtp = _connection(cfg.alert_smtp_conn_id)
    if smtp is not None:
        from airflow.providers.smtp.notifications.smtp import SmtpNotifier

        to = cfg.alert_email_to or [a.strip() for a in str(smtp.extra_dejson.get("to", "")).split(",") if a.strip()]
        if not to:
            raise ValueError(f"connection {cfg.alert_smtp_conn_id} has no 'to' extra and alert_email_to is empty")

        def email(e: dict) -> None:
            SmtpNotifier(smtp_conn_id=cfg.alert_smtp_conn_id, to=to, subject=f"[ugc-mlops] {e['title']}",
                         html_content=email_html(e), custom_headers={"X-UGC-Alert-Id": e["id"]}).notify({})

        out["email"] = email
    if _connection(cfg.alert_webhook_conn_id) is not None:
        from airflow.providers.http.notifications.http import HttpNotifier

        def webhook(e: dict) -> None:
            HttpNotifier(http_conn_id=cfg.alert_webhook_conn_id, method="POST", data=json.dumps(e, ensure_ascii=False,
                         default=str).encode(), headers={"Content-Type": "application/json"},
                         extra_options={"timeout": 10}).notify({})

        out["webhook"] = webhook
    return out


def send(cfg: ReportConfig) -> dict:
    """Events of the day, delivered through the configured channels (see monitoring.alerts.deliver)."""
    from monitoring.alerts import deliver, events

    evs = events(cfg)
    return {"events": [e["id"] for e in evs], **deliver(cfg, evs, channels(cfg))}
