"""The HTML page of a diff (``heapscope diff --html OUT.html``): one self-contained table, no scripts.

Every text from the reports is escaped (:func:`html.escape`); the page's Content-Security-Policy allows
nothing but its one stylesheet (by hash), so even a mistake in escaping could run nothing. The colours are
the exported report page's (``--hs-*``, light and dark)."""

from __future__ import annotations

import base64
import hashlib
from html import escape
from typing import Any, Mapping, Optional

from .bytes_format import format_bytes, format_signed_bytes

STYLE = """
:root { --hs-bg: #ffffff; --hs-bg2: #f5f5f5; --hs-fg: rgba(0, 0, 0, 0.87); --hs-fg2: rgba(0, 0, 0, 0.6);
  --hs-border: #e0e0e0; --hs-accent: #1976d2; --hs-warn: #f57c00; --hs-error: #d32f2f; --hs-good: #2e7d32;
  color-scheme: light dark; }
@media (prefers-color-scheme: dark) { :root { --hs-bg: #111111; --hs-bg2: #212121;
  --hs-fg: rgba(255, 255, 255, 0.87); --hs-fg2: rgba(255, 255, 255, 0.6); --hs-border: #424242;
  --hs-accent: #64b5f6; --hs-warn: #ffb74d; --hs-error: #e57373; --hs-good: #81c784; } }
body { background: var(--hs-bg); color: var(--hs-fg); margin: 16px 24px;
  font: 13px/1.4 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
h1 { font-size: 18px; font-weight: 600; margin: 0 0 4px; }
p.about { color: var(--hs-fg2); margin: 0 0 16px; }
table { border-collapse: collapse; width: 100%; }
th, td { border-bottom: 1px solid var(--hs-border); padding: 4px 8px; text-align: left; vertical-align: top; }
th { background: var(--hs-bg2); font-weight: 600; }
td.num { text-align: right; white-space: nowrap; font-variant-numeric: tabular-nums; }
code { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: 12px; }
.match { color: var(--hs-fg2); white-space: nowrap; }
.up { color: var(--hs-error); } .down { color: var(--hs-good); }
tr.failed td { background: color-mix(in srgb, var(--hs-error) 12%, transparent); }
ul.sites { margin: 4px 0 0; padding-left: 16px; color: var(--hs-fg2); }
"""


def _csp() -> str:
    digest = base64.b64encode(hashlib.sha256(STYLE.encode("utf-8")).digest()).decode("ascii")
    return f"default-src 'none'; style-src 'sha256-{digest}'; img-src 'none'; form-action 'none'; base-uri 'none'"


def _delta(value: Optional[int], pct: Optional[float] = None) -> str:
    if value is None:
        return ""
    cls = "up" if value > 0 else "down" if value < 0 else ""
    text = format_signed_bytes(value) + ("" if pct is None else f" ({pct:+.1f} %)")
    return f'<span class="{cls}">{escape(text)}</span>'


def _pair(row: Mapping[str, Any], field: str, signed: bool = True) -> str:
    fmt = format_signed_bytes if signed else format_bytes
    a, b = row["before"], row["after"]
    left = fmt(a[field]) if a else "–"
    right = fmt(b[field]) if b else "–"
    return escape(f"{left} → {right}")


def _cell(row: Mapping[str, Any]) -> str:
    a, b = row["before"], row["after"]
    cell = b or a
    where = f"[{a['index']}→{b['index']}]" if a and b and a["index"] != b["index"] else f"[{cell['index']}]"
    out = f"{escape(where)} <code>{escape(cell['label'])}</code>"
    if row["sites"]:
        items = []
        for site in row["sites"][:5]:
            text = f" <code>{escape(site['text'])}</code>" if site.get("text") else ""
            items.append(
                f"<li>{escape(site['key'])}{text}: {escape(format_bytes(site['before_bytes']))} → "
                f"{escape(format_bytes(site['after_bytes']))} ({_delta(site['delta_bytes'])})</li>"
            )
        out += '<ul class="sites">' + "".join(items) + "</ul>"
    return out


def render_diff_html(result: Mapping[str, Any]) -> str:
    """The page of a diff document (``protocol/diff.schema.json``)."""
    before, after = result["before"], result["after"]
    about = (
        f"before: {before.get('path') or before.get('target') or '?'} · "
        f"after: {after.get('path') or after.get('target') or '?'}"
    )
    if result.get("fail_over_percent") is not None:
        about += f" · fails when a cell's peak grows by more than {result['fail_over_percent']:g} %"
    rows = []
    for row in result["cells"]:
        rows.append(
            f'<tr class="{"failed" if row["failed"] else ""}">'
            f"<td>{_cell(row)}</td>"
            f'<td class="match">{escape(row["match"])}{" · failed" if row["failed"] else ""}</td>'
            f'<td class="num">{_pair(row, "peak_bytes")}<br>{_delta(row["delta_peak_bytes"], row["peak_change_percent"])}</td>'
            f'<td class="num">{_pair(row, "end_bytes")}<br>{_delta(row["delta_end_bytes"])}</td>'
            f'<td class="num">{_pair(row, "retained_bytes", False)}<br>{_delta(row["delta_retained_bytes"])}</td>'
            "</tr>"
        )
    failed = sum(1 for row in result["cells"] if row["failed"])
    summary = f"{len(result['cells'])} cells" + (f", {failed} failed" if failed else "")
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f'<meta http-equiv="Content-Security-Policy" content="{_csp()}">\n'
        '<meta name="referrer" content="no-referrer">\n<meta name="generator" content="heapscope">\n'
        "<title>heapscope memory diff</title>\n"
        f"<style>{STYLE}</style>\n</head>\n<body>\n<h1>Memory diff</h1>\n"
        f'<p class="about">{escape(about)} · {escape(summary)}</p>\n'
        "<table>\n<thead><tr><th>cell</th><th>match</th><th>peak added</th><th>net</th><th>retained</th></tr></thead>\n"
        "<tbody>\n" + "\n".join(rows) + "\n</tbody>\n</table>\n</body>\n</html>\n"
    )
