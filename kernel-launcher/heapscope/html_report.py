"""The self-contained HTML memory report, for ``heapscope report --html OUT.html``.

The page is the same the JupyterLab extension exports ("Export notebook memory report"): both put
the report's JSON (protocol/report.schema.json) into one template, ``report_assets/report.template``,
built by ``lab-extension/report/build-assets.js`` from the report viewer, plotly.js and the
stylesheet. The template holds a strict Content-Security-Policy (scripts and styles allowed by
hash only, no network); the viewer renders every string with ``textContent``. This module only
escapes the JSON and fills the placeholder: there is no rendering logic in Python.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Mapping, Optional

#: The placeholder of the report's JSON in the template (``REPORT_DATA_MARKER`` in
#: lab-extension/report/html.ts).
REPORT_DATA_MARKER = "@@HEAPSCOPE_REPORT_DATA@@"

#: The template, next to this module in the installed package.
TEMPLATE_PATH = Path(__file__).resolve().parent / "report_assets" / "report.template"

#: ``<``, ``>``, ``&``, U+2028 and U+2029 as JSON escapes: no ``</script>`` or ``<!--`` can
#: appear inside the ``<script type="application/json">`` element, and the text stays JSON.
_ESCAPES = {ord("<"): "\\u003c", ord(">"): "\\u003e", ord("&"): "\\u0026", 0x2028: "\\u2028", 0x2029: "\\u2029"}


#: The key of the frame table of a packed report (``PACKED_KEY`` in lab-extension/report/html.ts).
PACKED_KEY = "heapscope_frames"
#: The key of a packed site's own place, an index into the frame table (``PLACE_KEY`` in html.ts).
PLACE_KEY = "@"
#: The fields of a frame; a site is a frame plus ``bytes``, ``count`` and ``stack``.
FRAME_FIELDS = ("file", "line", "function", "cell_id", "cell_line", "execution_count")


def pack_report(report: Mapping[str, Any]) -> dict:
    """The report as the page holds it (``packReport`` in html.ts): each distinct frame once, in
    ``heapscope_frames``; a site's stack becomes indices into it and its own place (its frame fields)
    the index ``@`` (an import cell's 400 sites repeat the same few hundred frames); the sites of the
    cells, of ``retained_by_cell`` and of the ``holders`` are packed. The viewer
    unpacks it; the report itself is not changed."""
    frames: list = []
    index: dict = {}

    def intern(frame: Any) -> int:
        key = json.dumps(frame, sort_keys=True, ensure_ascii=True)
        at = index.get(key)
        if at is None:
            at = index[key] = len(frames)
            frames.append(frame)
        return at

    def pack_site(site: Any) -> Any:
        if (
            not isinstance(site, dict)
            or not isinstance(site.get("stack"), list)
            or PLACE_KEY in site
            or not all(f in site for f in FRAME_FIELDS)
        ):
            return site
        packed = {k: v for k, v in site.items() if k not in FRAME_FIELDS}
        packed["stack"] = [intern(frame) for frame in site["stack"]]
        packed[PLACE_KEY] = intern({f: site[f] for f in FRAME_FIELDS})
        return packed

    def pack_sites(sites: Any) -> Any:
        return [pack_site(s) for s in sites] if isinstance(sites, list) else sites

    packed = dict(report)
    cells = report.get("cells")
    if isinstance(cells, list):
        packed["cells"] = [
            {**c, **{k: pack_sites(c[k]) for k in ("top_at_peak", "retained") if k in c}} if isinstance(c, dict) else c
            for c in cells
        ]
    retained = report.get("retained_by_cell")
    if isinstance(retained, list):
        packed["retained_by_cell"] = [
            {**e, "sites": pack_sites(e["sites"])} if isinstance(e, dict) and "sites" in e else e for e in retained
        ]
    holders = report.get("holders")
    if isinstance(holders, dict) and isinstance(holders.get("holders"), list):
        packed["holders"] = {
            **holders,
            "holders": [
                {**h, "sites": pack_sites(h["sites"])} if isinstance(h, dict) and "sites" in h else h
                for h in holders["holders"]
            ],
        }
    packed[PACKED_KEY] = frames
    return packed


class ReportTemplateMissing(RuntimeError):
    """The package was built without the report template (``npm run build:prod`` builds it)."""


def escape_json_for_html(text: str) -> str:
    """Escape JSON text for an HTML ``<script>`` element (``escapeJsonForHtml`` in html.ts)."""
    return text.translate(_ESCAPES)


def load_template(path: Optional[Path] = None) -> str:
    """Read the page template; raise :class:`ReportTemplateMissing` with the fix when absent."""
    path = path or TEMPLATE_PATH
    try:
        template = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ReportTemplateMissing(
            f"the HTML report template is missing ({path}); this heapscope was built without it: "
            "run `npm run build:prod` before building the wheel"
        ) from None
    if template.count(REPORT_DATA_MARKER) < 1:
        raise ReportTemplateMissing(f"{path} has no data placeholder: rebuild it with `npm run build:prod`")
    return template


def render_html(report: Mapping[str, Any], template: Optional[str] = None) -> str:
    """Return the HTML page of a report (packed, :func:`pack_report`).

    ``ensure_ascii`` keeps the JSON plain ASCII, so strings the kernel produced with
    ``surrogateescape`` (lone surrogates) are written as ``\\udcxx`` escapes instead of failing.
    """
    template = load_template() if template is None else template
    packed = pack_report(report)
    data = escape_json_for_html(json.dumps(packed, ensure_ascii=True, allow_nan=False, separators=(",", ":")))
    head, sep, tail = template.partition(REPORT_DATA_MARKER)
    if not sep:
        raise ReportTemplateMissing("the report template has no data placeholder")
    return head + data + tail


def write_html(report: Mapping[str, Any], path: Path, template: Optional[str] = None) -> None:
    """Write the HTML page of a report atomically, never through a planted link, with the permissions
    the umask gives any document (:mod:`heapscope.files`)."""
    from .files import write_text

    write_text(path, render_html(report, template))
