"""The static summary a saved notebook keeps: the curves as PNG, the results as HTML, and
text versions of both; bounded like the live dashboard."""

from __future__ import annotations

import base64
import html
from typing import Any

from . import render
from .curves import curves_png

__all__ = ["curves_bundle", "results_bundle", "summary_bundles"]


def summary_bundles(source: Any, png: bytes | None = None, with_error: bool = True
                    ) -> tuple[dict[str, Any] | None, dict[str, Any]]:
    """Two display bundles: ``curves_bundle`` and ``results_bundle``. ``source`` is a Study,
    a StudyRecord or a StudyDigest."""
    digest = render.digest_of(source)
    return curves_bundle(digest, png), results_bundle(digest, with_error)


def curves_bundle(digest: Any, png: bytes | None = None) -> dict[str, Any] | None:
    """The curves (image/png, with a text/plain fallback); ``png`` reuses curves already
    drawn of the same state. None when no trial reported a value of the metric: an empty
    plot says nothing."""
    if not digest.has_values():
        return None
    image = base64.b64encode(png if png else curves_png(digest)).decode("ascii")
    return {"image/png": image, "text/plain": f"<learning curves of {digest.record.name}>"}


def results_bundle(digest: Any, with_error: bool = True) -> dict[str, Any]:
    """The results (text/html: the status line, why the study failed if it did, the best
    trial and the table; and text/plain). Without ``with_error`` they leave out why the study
    failed, for a cell whose error says it right below (so it is shown once)."""
    text = render.text_summary(digest, with_error=with_error)
    error = render.error_html(digest) if with_error else ""  # a saved notebook says it too
    table = (f"<div><b>{html.escape(render.status_line(digest))}</b></div>{error}"
             f"{render.incumbent_html(digest)}{render.table_html(digest)}")
    return {"text/html": table, "text/plain": text}
