"""A small document model that renders the same report as GitHub Markdown and as HTML.

Blocks are headings, paragraphs, bullet lists, tables (DataFrames), images, code and
collapsible details. Inline text may use **bold**, `code` and [links](target); the HTML
renderer converts exactly these and escapes everything else.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field

import pandas as pd

_INLINE = [
    (re.compile(r"\*\*(.+?)\*\*"), r"<strong>\1</strong>"),
    (re.compile(r"`(.+?)`"), r"<code>\1</code>"),
    (re.compile(r"\[([^\]]+)\]\(([^)\s]+)\)"), r'<a href="\2">\1</a>'),
]

STYLE = """
body { font-family: system-ui, sans-serif; max-width: 60rem; margin: 2rem auto; padding: 0 1rem;
       line-height: 1.45; color: #222; }
table { border-collapse: collapse; font-size: 0.85rem; }
.table { overflow-x: auto; margin: 0.5rem 0 1rem; }  /* a wide table scrolls, not the page */
th, td { border: 1px solid #ccc; padding: 0.25rem 0.5rem; text-align: left; }
th { background: #f2f2f2; }
img { max-width: 100%; }
pre { background: #f6f6f6; padding: 0.75rem; overflow-x: auto; font-size: 0.8rem; }
figcaption { font-size: 0.85rem; color: #444; margin-bottom: 1.5rem; }
"""


def inline_html(text: str) -> str:
    out = html.escape(text, quote=False)
    for pattern, replacement in _INLINE:
        out = pattern.sub(replacement, out)
    return out


def _cell_md(value) -> str:
    return str(value).replace("|", "\\|").replace("\n", " ")


@dataclass
class Document:
    """An ordered list of blocks; `markdown()` and `html()` render all of them."""

    title: str
    blocks: list[tuple] = field(default_factory=list)

    def heading(self, text: str, level: int = 2):
        self.blocks.append(("heading", level, text))

    def paragraph(self, text: str):
        self.blocks.append(("paragraph", text))

    def bullets(self, items: list[str]):
        if items:
            self.blocks.append(("bullets", list(items)))

    def table(self, frame: pd.DataFrame):
        self.blocks.append(("table", frame))

    def image(self, path: str, alt: str, caption: str):
        self.blocks.append(("image", path, alt, caption))

    def code(self, text: str, language: str = ""):
        self.blocks.append(("code", text, language))

    def details(self, summary: str, text: str, language: str = ""):
        self.blocks.append(("details", summary, text, language))

    # --- rendering -----------------------------------------------------------------------------

    def markdown(self) -> str:
        lines = [f"# {self.title}", ""]
        for kind, *args in self.blocks:
            if kind == "heading":
                lines += ["#" * args[0] + " " + args[1], ""]
            elif kind == "paragraph":
                lines += [args[0], ""]
            elif kind == "bullets":
                lines += [f"- {item}" for item in args[0]] + [""]
            elif kind == "table":
                frame = args[0]
                lines.append("| " + " | ".join(_cell_md(c) for c in frame.columns) + " |")
                lines.append("|" + "---|" * len(frame.columns))
                for row in frame.itertuples(index=False):
                    lines.append("| " + " | ".join(_cell_md(v) for v in row) + " |")
                lines.append("")
            elif kind == "image":
                path, alt, caption = args
                lines += [f"![{alt}]({path})", "", f"*{caption}*", ""]
            elif kind == "code":
                lines += [f"```{args[1]}", args[0].rstrip("\n"), "```", ""]
            elif kind == "details":
                summary, text, language = args
                lines += [
                    "<details>",
                    f"<summary>{html.escape(summary, quote=False)}</summary>",
                    "",
                ]
                lines += [f"```{language}", text.rstrip("\n"), "```", "", "</details>", ""]
        return "\n".join(lines).rstrip("\n") + "\n"

    def html(self) -> str:
        parts = [
            "<!DOCTYPE html>",
            '<html lang="en"><head><meta charset="utf-8">',
            f"<title>{html.escape(self.title)}</title><style>{STYLE}</style></head><body>",
            f"<h1>{inline_html(self.title)}</h1>",
        ]
        for kind, *args in self.blocks:
            if kind == "heading":
                parts.append(f"<h{args[0]}>{inline_html(args[1])}</h{args[0]}>")
            elif kind == "paragraph":
                parts.append(f"<p>{inline_html(args[0])}</p>")
            elif kind == "bullets":
                parts.append("<ul>" + "".join(f"<li>{inline_html(i)}</li>" for i in args[0]))
                parts.append("</ul>")
            elif kind == "table":
                frame = args[0]
                head = "".join(  # a dotted lever name may break after its dots
                    f"<th>{html.escape(str(c)).replace('.', '.<wbr>')}</th>" for c in frame.columns
                )
                body = "".join(
                    "<tr>" + "".join(f"<td>{html.escape(str(v))}</td>" for v in row) + "</tr>"
                    for row in frame.itertuples(index=False)
                )
                table = f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
                parts.append(f'<div class="table">{table}</div>')
            elif kind == "image":
                path, alt, caption = args
                parts.append(
                    f'<figure><img src="{html.escape(path)}" alt="{html.escape(alt)}">'
                    f"<figcaption>{inline_html(caption)}</figcaption></figure>"
                )
            elif kind == "code":
                parts.append(f"<pre><code>{html.escape(args[0])}</code></pre>")
            elif kind == "details":
                summary, text, _ = args
                parts.append(
                    f"<details><summary>{html.escape(summary)}</summary>"
                    f"<pre><code>{html.escape(text)}</code></pre></details>"
                )
        parts.append("</body></html>")
        return "\n".join(parts) + "\n"
