"""The answer as safe HTML: escaped text, paragraphs, bullet lists, **bold**, and listing
citations ([#42]) turned into links to listings that exist."""

from __future__ import annotations

import re
from collections.abc import Collection

from markupsafe import Markup, escape

_BULLET = re.compile(r"^\s*(?:[-*•]|\d{1,2}[.)])\s+")
_BOLD = re.compile(r"\*\*(.+?)\*\*")
_CITE = re.compile(r"\[#(\d{1,12})\]|(?<![\w&/#])#(\d{1,12})\b")
_MD_LINK = re.compile(r"\[([^\]\n]{1,200})\]\(\s*/listings/(\d{1,12})\s*\)")


def _inline(line: str, known: Collection[int]) -> str:
    html = str(escape(line))

    def link(match: re.Match[str]) -> str:
        text, ref = match.group(1), int(match.group(2))
        return f'<a href="/listings/{ref}">{text}</a>' if ref in known else text

    def cite(match: re.Match[str]) -> str:
        ref = int(match.group(1) or match.group(2))
        if ref not in known:
            return match.group(0)
        return f'<a class="cite" href="/listings/{ref}">#{ref}</a>'

    html = _MD_LINK.sub(link, html)
    html = _CITE.sub(cite, html)
    return _BOLD.sub(r"<strong>\1</strong>", html)


def answer_html(text: str, known: Collection[int]) -> Markup:
    blocks: list[str] = []
    items: list[str] = []
    para: list[str] = []

    def flush() -> None:
        if para:
            blocks.append("<p>" + "<br>".join(para) + "</p>")
            para.clear()
        if items:
            blocks.append("<ul>" + "".join(f"<li>{i}</li>" for i in items) + "</ul>")
            items.clear()

    for raw in text.splitlines():
        if not raw.strip():
            flush()
        elif _BULLET.match(raw):
            if para:
                blocks.append("<p>" + "<br>".join(para) + "</p>")
                para.clear()
            items.append(_inline(_BULLET.sub("", raw, count=1), known))
        else:
            if items:
                flush()
            para.append(_inline(raw.strip(), known))
    flush()
    return Markup("".join(blocks))
