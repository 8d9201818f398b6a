"""Every time a page shows goes through one filter (interfaces.web.render.when): a <time>
with the UTC instant in its datetime and title, UTC text for pages without JavaScript, and
the zone (a job's) that static/times.js should show it in, if not the reader's."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

from interfaces.web.render import when

TEMPLATES = Path(__file__).resolve().parents[2] / "interfaces/web/templates"
AT = datetime(2026, 11, 30, 9, 5, 9, 250_000, tzinfo=timezone(timedelta(hours=-5)))


def test_an_instant_is_a_time_element_in_utc_with_utc_on_hover() -> None:
    assert str(when(AT)) == (
        '<time datetime="2026-11-30T14:05:09.250000+00:00" title="2026-11-30 14:05:09 UTC">'
        "2026-11-30 14:05:09 UTC</time>"
    )


def test_a_fire_time_names_the_jobs_zone_for_the_script() -> None:
    shown = str(when(AT, "Europe/London"))
    assert 'data-zone="Europe/London"' in shown
    assert shown.endswith(">2026-11-30 14:05:09 UTC</time>")  # UTC until the script runs
    assert 'data-zone="&lt;b&gt;"' in str(when(AT, "<b>"))  # escaped, whatever it holds


def test_no_time_is_a_dash() -> None:
    assert str(when(None)) == "—"


def test_no_template_formats_a_time_itself() -> None:
    """One format everywhere: templates write times only through `when`."""
    for template in TEMPLATES.glob("*.html"):
        text = template.read_text()
        assert not re.search(r"<time\b|strftime|isoformat", text), template.name
