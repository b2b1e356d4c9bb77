"""The static summary a saved notebook keeps: the curves as PNG, the results as HTML, and
text versions of both; bounded like the live dashboard."""

from __future__ import annotations

import base64
import html
from typing import Any

from . import render
from .curves import curves_png

__all__ = ["summary_bundles"]


def summary_bundles(source: Any, png: bytes | None = None
                    ) -> tuple[dict[str, Any], dict[str, Any]]:
    """Two display bundles: the curves (image/png) and the results (text/html: the status
    line, why the study failed if it did, the best trial and the table), each with a
    text/plain fallback. ``source`` is a Study, a StudyRecord or a StudyDigest; ``png``
    reuses curves already drawn of the same state."""
    digest = render.digest_of(source)
    record = digest.record
    image = base64.b64encode(png if png else curves_png(digest)).decode("ascii")
    text = render.text_summary(digest)
    table = (f"<div><b>{html.escape(render.status_line(digest))}</b></div>"
             f"{render.error_html(digest)}"  # why it failed: a saved notebook says it too
             f"{render.incumbent_html(digest)}{render.table_html(digest)}")
    return ({"image/png": image, "text/plain": f"<learning curves of {record.name}>"},
            {"text/html": table, "text/plain": text})
