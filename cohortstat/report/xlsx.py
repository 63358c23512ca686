"""The report's publication tables as files a manuscript takes: ``tables.xlsx`` (one sheet per table,
openpyxl) and ``tables.html`` (plain HTML tables, no style sheet or script, that paste into a word
processor with their grouped headers). Both read :class:`cohortstat.report.pubtables.Table` only, so they
show exactly the suppressed values of report.html.
"""

from __future__ import annotations

import html
from pathlib import Path

from cohortstat.report.safe_text import plain

__all__ = ["tables_html", "write_xlsx"]


def csv_cell(value) -> str:
    """Text for a worksheet cell: openpyxl stores text starting with ``=`` as a formula, so it is prefixed."""
    value = plain(value)
    return "'" + value if value.startswith("=") else value


def _sheet_name(name: str, used: set) -> str:
    base = "".join(ch for ch in name if ch not in "[]:*?/\\")[:31] or "Table"
    out, i = base, 2
    while out in used:
        out = f"{base[:28]}_{i}"
        i += 1
    used.add(out)
    return out


def write_xlsx(tables, path: Path) -> None:
    """One worksheet per table: title, grouped headers (merged cells), body, footnotes."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font

    wb = Workbook()
    wb.remove(wb.active)
    used: set = set()
    for t in tables:
        ws = wb.create_sheet(_sheet_name(t.name, used))
        ws.append([plain(t.title)])
        ws.cell(1, 1).font = Font(bold=True)
        for hr in t.header:
            row = ws.max_row + 1
            col = 1
            for text, span in hr:
                ws.cell(row, col, csv_cell(plain(text))).font = Font(bold=True)
                if span > 1:
                    ws.merge_cells(start_row=row, start_column=col, end_row=row, end_column=col + span - 1)
                    ws.cell(row, col).alignment = Alignment(horizontal="center")
                col += span
        for r in t.rows:
            ws.append([csv_cell(plain(("    " if r.indent and i == 0 else "") + str(c))) for i, c in enumerate(r.cells)])
            if r.section:
                ws.cell(ws.max_row, 1).font = Font(italic=True)
        ws.append([])
        for n in t.notes:
            ws.append([csv_cell(plain(n))])
        ws.column_dimensions["A"].width = 48
    wb.save(path)


def _span(span: int) -> str:
    return f' colspan="{span}"' if span > 1 else ""


def _table_html(t) -> str:
    e = lambda s: html.escape(plain(str(s)))  # noqa: E731
    out = [f'<table border="1" cellspacing="0" cellpadding="3">\n<caption><b>{e(t.title)}</b></caption>\n<thead>']
    for hr in t.header:
        out.append("<tr>" + "".join(f"<th{_span(span)}>{e(text)}</th>" for text, span in hr) + "</tr>")
    out.append("</thead>\n<tbody>")
    for r in t.rows:
        if r.section:
            out.append(f'<tr><td colspan="{t.width}"><i>{e(r.cells[0])}</i></td></tr>')
        else:
            cells = []
            for i in range(len(r.cells)):
                n, rest = r.split(i)
                cells.append(("&#160;&#160;&#160;&#160;" if r.indent and i == 0 else "")
                             + (f'<span class="count">{e(n)}</span>' if n else "") + e(rest))
            out.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    out.append("</tbody>\n</table>")
    out += [f"<p><small>{e(n)}</small></p>" for n in t.notes]
    return "\n".join(out)


def tables_html(tables, title: str) -> str:
    """Every table as plain HTML (one file, no style sheet, no script): select all, copy, paste into Word."""
    body = "\n<br>\n".join(_table_html(t) for t in tables)
    return (f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n<title>{html.escape(plain(title))}'
            f" - tables</title>\n</head>\n<body>\n{body}\n</body>\n</html>\n")
