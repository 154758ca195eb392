"""HTML and Markdown writers: the same report (every sentence, table and picture of the DOCX)
for the web and for plain-text review. HTML is self-contained (pictures as data URIs, one
inline stylesheet); Markdown puts pictures beside the file (``images="files"``) or inline as
data URIs (``images="inline"``).
"""
from __future__ import annotations

import base64
import html
from pathlib import Path

from bienmoc.report.docx import MOTTO, date_line
from bienmoc.report.model import Image, Placeholder, Report, Table

__all__ = ["write_html", "write_markdown", "html_text", "markdown_text"]

STYLE = """body{font-family:"Times New Roman",Times,serif;font-size:14pt;max-width:48em;
margin:2em auto;line-height:1.4;color:#000}
.head{display:flex;justify-content:space-between;text-align:center;gap:2em}
.head div{flex:1}.motto{font-weight:bold}.rule{border-bottom:1px solid #000;display:inline-block}
.date{font-style:italic}h1,h2{font-size:14pt;text-align:center}h3{font-size:14pt}
table{border-collapse:collapse;margin:.5em auto;font-size:11pt}
td,th{border:1px solid #444;padding:2px 6px}caption,figcaption{font-style:italic}
figure{text-align:center}img{max-width:100%}mark{background:#ff0}
p{text-align:justify;text-indent:1cm}"""


def _uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def html_text(report: Report) -> str:
    e = html.escape
    m1, m2 = MOTTO[report.lang]
    body = "<br>".join(e(x) for x in report.issuing_body.split("\n"))
    out = [f'<!DOCTYPE html><html lang="{report.lang}"><head><meta charset="utf-8">'
           f"<title>{e(report.title)} – {e(report.subtitle)}</title><style>{STYLE}</style>"
           "</head><body>",
           f'<div class="head"><div><span class="rule">{body}</span><br>{e(report.number)}'
           f'</div><div class="motto">{e(m1)}<br><span class="rule">{e(m2)}</span><br>'
           f'<span class="date">{e(date_line(report))}</span></div></div>',
           f"<h1>{e(report.title)}</h1><h2>{e(report.subtitle)}</h2>"]
    for sec in report.sections:
        if sec.heading:
            out.append(f"<h3>{e(sec.heading)}</h3>")
        for b in sec.blocks:
            if isinstance(b, str):
                out.append(f"<p>{e(b)}</p>")
            elif isinstance(b, Placeholder):
                out.append(f"<p><mark>{e(b.text)}</mark></p>")
            elif isinstance(b, Table):
                head = "".join(f"<th>{e(str(c))}</th>" for c in b.frame.columns)
                rows = "".join("<tr>" + "".join(f"<td>{e('' if v is None else str(v))}</td>"
                                                for v in r) + "</tr>"
                               for r in b.frame.itertuples(index=False))
                out.append(f"<table><caption>{e(b.caption)}</caption><thead><tr>{head}</tr>"
                           f"</thead><tbody>{rows}</tbody></table>")
            elif isinstance(b, Image):
                out.append(f'<figure><img src="{_uri(b.png)}" alt="{e(b.caption)}">'
                           f"<figcaption>{e(b.caption)}</figcaption></figure>")
    out.append("</body></html>")
    return "\n".join(out)


def write_html(report: Report, path) -> Path:
    path = Path(path)
    path.write_text(html_text(report), encoding="utf-8")
    return path


def _md_cell(v) -> str:
    return ("" if v is None else str(v)).replace("|", "\\|").replace("\n", " ")


def markdown_text(report: Report, image_names: list[str] | None = None) -> str:
    """The report as Markdown; ``image_names`` are the files of the pictures (else data URIs)."""
    m1, m2 = MOTTO[report.lang]
    out = [" / ".join(report.issuing_body.split("\n")) + "  ", report.number, "",
           f"**{m1}**  ", f"**{m2}**", "", f"*{date_line(report)}*", "",
           f"# {report.title}", "", f"## {report.subtitle}", ""]
    k = 0
    for sec in report.sections:
        if sec.heading:
            out += [f"### {sec.heading}", ""]
        for b in sec.blocks:
            if isinstance(b, str):
                out += [b, ""]
            elif isinstance(b, Placeholder):
                out += [f"**{b.text}**", ""]
            elif isinstance(b, Table):
                cols = [_md_cell(c) for c in b.frame.columns]
                out += [f"*{b.caption}*", "", "| " + " | ".join(cols) + " |",
                        "|" + "|".join("---" for _ in cols) + "|"]
                out += ["| " + " | ".join(_md_cell(v) for v in r) + " |"
                        for r in b.frame.itertuples(index=False)]
                out.append("")
            elif isinstance(b, Image):
                src = image_names[k] if image_names else _uri(b.png)
                k += 1
                out += [f"![{b.caption}]({src})", "", f"*{b.caption}*", ""]
    return "\n".join(out)


def write_markdown(report: Report, path, *, images: str = "files") -> Path:
    """Markdown at ``path``; ``images="files"`` writes each picture beside it
    (``<stem>_1.png``…), ``"inline"`` embeds them as data URIs."""
    path = Path(path)
    names = None
    if images == "files":
        names = []
        for i, img in enumerate(report.images(), 1):
            name = f"{path.stem}_{i}.png"
            (path.parent / name).write_bytes(img.png)
            names.append(name)
    elif images != "inline":
        raise ValueError("images must be 'files' or 'inline'")
    path.write_text(markdown_text(report, names), encoding="utf-8")
    return path
