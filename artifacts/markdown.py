"""A small, safe Markdown renderer for artifacts and their descriptions.

It knows the Markdown that reports use: headings, paragraphs, emphasis, `code`, fenced and
indented code blocks, block quotes, nested lists, rules, GitHub-style tables, links, images and
bare URLs. It never passes HTML through: every piece of the source is escaped before any tag is
added, and link and image addresses must be http(s), mailto or relative, so an artifact cannot
run script in the dashboard. Anything it does not understand shows as the text it is.

    render("# Report\\n\\nsome *markdown*")
    -> '<h1>Report</h1>\\n<p>some <em>markdown</em></p>'
"""

from __future__ import annotations

import html
import re
from urllib.parse import urlsplit

MAX_SOURCE = 500_000  # characters; a longer document is shown as plain text
MAX_DEPTH = 20  # nested quotes and lists deeper than this are shown as text

SAFE_SCHEMES = {"http", "https", "mailto"}

# Placeholders for finished HTML inside a line being rendered: \x00 + index + \x01.
# NUL cannot come from the source (it is replaced on the way in).
_SLOT = re.compile(r"\x00(\d+)\x01")

_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})\s*([^`\s]*)[^`]*$")
_HEADING = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$")
_RULE = re.compile(r"^ {0,3}([-*_])(?:[ \t]*\1){2,}[ \t]*$")
_QUOTE = re.compile(r"^ {0,3}> ?(.*)$")
_BULLET = re.compile(r"^( {0,3})([-*+])[ \t]+(.*)$")
_ORDERED = re.compile(r"^( {0,3})(\d{1,9})[.)][ \t]+(.*)$")
_TABLE_SEPARATOR = re.compile(r"^ {0,3}\|?\s*:?-+:?\s*(\|\s*:?-+:?\s*)*\|?\s*$")

_ESCAPABLE = re.compile(r"\\([\\`*_{}\[\]()#+\-.!|~>])")
_CODE_SPAN = re.compile(r"(`+)(.{1,5000}?)(?<!`)\1(?!`)", re.S)
_AUTOLINK = re.compile(r"&lt;((?:https?|mailto):[^\s&]+?)&gt;")
_IMAGE = re.compile(r"!\[([^\]]{0,1000})\]\(\s*([^\s)]{1,4000})(?:\s+&quot;(.{0,1000}?)&quot;)?\s*\)")
_LINK = re.compile(
    r"\[((?:[^\[\]]|\[[^\[\]]{0,1000}\]){1,1000})\]\(\s*([^\s)]{0,4000})(?:\s+&quot;(.{0,1000}?)&quot;)?\s*\)"
)
_BARE_URL = re.compile(r"(?<![\w/])https?://(?:(?!&quot;|&#x27;|&lt;|&gt;)[^\s\x00\x01]){1,4000}")
_URL_TRAILER = re.compile(r"[.,;:!?)\]*_~]+$")
# Spans are bounded so that a paragraph full of unmatched markers cannot take quadratic time.
_STRONG = re.compile(r"(\*\*|__)(?=\S)(.{1,2000}?)(?<=\S)\1", re.S)
_EM_STAR = re.compile(r"\*(?=[^\s*])(.{1,2000}?)(?<=[^\s*])\*", re.S)
_EM_UNDERSCORE = re.compile(r"(?<![\w])_(?=[^\s_])(.{1,2000}?)(?<=[^\s_])_(?![\w])", re.S)
_STRIKE = re.compile(r"~~(?=\S)(.{1,2000}?)(?<=\S)~~", re.S)
_HARD_BREAK = re.compile(r"(?: {2,}|\\)\n")


def render(source: str | None) -> str:
    """The HTML of a Markdown document, safe to put in a page as it is."""
    if not source:
        return ""
    if len(source) > MAX_SOURCE:
        return f"<pre>{_escape(source)}</pre>"
    text = str(source).replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "\ufffd").replace("\t", "    ")
    return "\n".join(_blocks(text.split("\n"), 0))


def safe_url(url: str, image: bool = False) -> str | None:
    """The address if a page may link to it (or show it, for an image); None if not."""
    url = url.strip()
    # Browsers ignore control characters and whitespace inside a scheme ("java\tscript:").
    compact = re.sub(r"[\x00-\x20\x7f]", "", url)
    try:
        scheme = urlsplit(compact).scheme.lower()
    except ValueError:
        return None
    if not scheme:
        return url  # relative
    if scheme in SAFE_SCHEMES and not (image and scheme == "mailto"):
        return url
    return None


# --- blocks ---------------------------------------------------------------------------------


def _blocks(lines: list[str], depth: int) -> list[str]:
    out: list[str] = []
    i = 0
    n = len(lines)
    while i < n:
        line = lines[i]
        if not line.strip():
            i += 1
            continue
        if depth >= MAX_DEPTH:
            out.append(f"<p>{_escape(' '.join(x.strip() for x in lines[i:] if x.strip()))}</p>")
            break

        fence = _FENCE.match(line)
        if fence:
            marker = fence.group(1)
            body: list[str] = []
            i += 1
            while i < n and not _closes(lines[i], marker):
                body.append(lines[i])
                i += 1
            i += 1  # the closing fence (or the end)
            language = fence.group(2)
            css = f' class="language-{_escape(language)}"' if language else ""
            out.append(f"<pre><code{css}>{_escape(chr(10).join(body))}</code></pre>")
            continue

        if line.startswith("    "):
            body = []
            while i < n and (lines[i].startswith("    ") or not lines[i].strip()):
                body.append(lines[i][4:])
                i += 1
            while body and not body[-1].strip():
                body.pop()
            out.append(f"<pre><code>{_escape(chr(10).join(body))}</code></pre>")
            continue

        heading = _HEADING.match(line)
        if heading:
            level = len(heading.group(1))
            out.append(f"<h{level}>{_inline(heading.group(2) or '')}</h{level}>")
            i += 1
            continue

        if _RULE.match(line):
            out.append("<hr>")
            i += 1
            continue

        if _QUOTE.match(line):
            quoted = []
            while i < n and lines[i].strip():
                match = _QUOTE.match(lines[i])
                quoted.append(match.group(1) if match else lines[i])
                i += 1
            out.append("<blockquote>\n" + "\n".join(_blocks(quoted, depth + 1)) + "\n</blockquote>")
            continue

        if _BULLET.match(line) or _ORDERED.match(line):
            html_list, i = _list(lines, i, depth)
            out.append(html_list)
            continue

        if "|" in line and i + 1 < n and _TABLE_SEPARATOR.match(lines[i + 1]) and "-" in lines[i + 1]:
            table, i = _table(lines, i)
            out.append(table)
            continue

        paragraph = []
        while i < n and lines[i].strip() and not _starts_block(lines, i):
            paragraph.append(lines[i].strip() if not lines[i].endswith("  ") else lines[i].lstrip())
            i += 1
        if not paragraph:  # a line that looked like a block but was not one
            paragraph.append(lines[i].strip())
            i += 1
        out.append(f"<p>{_inline(chr(10).join(paragraph))}</p>")
    return out


def _closes(line: str, fence: str) -> bool:
    """Whether the line ends a code block opened with `fence` (as long a run of its character)."""
    stripped = line.strip()
    return len(stripped) >= len(fence) and stripped == fence[0] * len(stripped)


def _starts_block(lines: list[str], i: int) -> bool:
    line = lines[i]
    return bool(
        _FENCE.match(line)
        or _HEADING.match(line)
        or _RULE.match(line)
        or _QUOTE.match(line)
        or _BULLET.match(line)
        or _ORDERED.match(line)
        or ("|" in line and i + 1 < len(lines) and _TABLE_SEPARATOR.match(lines[i + 1]) and "-" in lines[i + 1])
    )


def _list(lines: list[str], i: int, depth: int) -> tuple[str, int]:
    """A list starting at line i: its items, each item's continuation and nested lines."""
    first = _BULLET.match(lines[i]) or _ORDERED.match(lines[i])
    ordered = first.re is _ORDERED
    pattern = _ORDERED if ordered else _BULLET
    indent = len(first.group(1))
    items: list[list[str]] = []
    n = len(lines)
    while i < n:
        line = lines[i]
        match = pattern.match(line)
        if match and len(match.group(1)) == indent:
            items.append([match.group(3)])
            i += 1
            continue
        if not line.strip():
            # A blank line ends the list unless the next line continues it.
            nxt = lines[i + 1] if i + 1 < n else ""
            nxt_match = pattern.match(nxt)
            if (nxt_match and len(nxt_match.group(1)) == indent) or (
                nxt.startswith(" " * (indent + 2)) and nxt.strip()
            ):
                items[-1].append("")
                i += 1
                continue
            break
        leading = len(line) - len(line.lstrip(" "))
        if leading > indent:
            items[-1].append(line[min(leading, indent + 4) if leading >= indent + 2 else leading :])
            i += 1
            continue
        other = _BULLET.match(line) or _ORDERED.match(line)
        if other or _starts_block(lines, i):
            break
        items[-1].append(line.strip())  # a lazy continuation of the item's paragraph
        i += 1
    tag = "ol" if ordered else "ul"
    start = int(first.group(2)) if ordered else 1
    opening = f'<{tag} start="{start}">' if ordered and start != 1 else f"<{tag}>"
    rendered = []
    for item in items:
        blocks = _blocks(item, depth + 1)
        # A tight item (one paragraph, maybe a nested list) shows without <p>.
        if blocks and blocks[0].startswith("<p>") and "" not in item:
            blocks[0] = blocks[0][3:-4]
        rendered.append("<li>" + "\n".join(blocks) + "</li>")
    return opening + "\n" + "\n".join(rendered) + f"\n</{tag}>", i


def _split_row(line: str) -> list[str]:
    line = line.strip()
    if line.startswith("|"):
        line = line[1:]
    if line.endswith("|") and not line.endswith("\\|"):
        line = line[:-1]
    cells = re.split(r"(?<!\\)\|", line)
    return [cell.strip().replace("\\|", "|") for cell in cells]


def _table(lines: list[str], i: int) -> tuple[str, int]:
    header = _split_row(lines[i])
    aligns = []
    for spec in _split_row(lines[i + 1]):
        left, right = spec.startswith(":"), spec.endswith(":")
        aligns.append("center" if left and right else "right" if right else "left" if left else None)
    i += 2
    rows = []
    while i < len(lines) and lines[i].strip() and "|" in lines[i]:
        rows.append(_split_row(lines[i]))
        i += 1

    def cell(tag: str, text: str, column: int) -> str:
        align = aligns[column] if column < len(aligns) else None
        css = f' class="align-{align}"' if align else ""
        return f"<{tag}{css}>{_inline(text)}</{tag}>"

    width = len(header)
    head = "<tr>" + "".join(cell("th", text, c) for c, text in enumerate(header)) + "</tr>"
    body = [
        "<tr>" + "".join(cell("td", row[c] if c < len(row) else "", c) for c in range(width)) + "</tr>" for row in rows
    ]
    tbody = "\n<tbody>\n" + "\n".join(body) + "\n</tbody>" if body else ""
    return f"<table>\n<thead>\n{head}\n</thead>{tbody}\n</table>", i


# --- inline ----------------------------------------------------------------------------------


def _escape(text: str) -> str:
    return html.escape(text, quote=True)


def _inline(text: str) -> str:
    """One block's text: escaped first, then the few inline forms turned into tags."""
    slots: list[str] = []

    def keep(fragment: str) -> str:
        slots.append(fragment)
        return f"\x00{len(slots) - 1}\x01"

    # Code spans and backslash escapes are literal: nothing inside them is Markdown.
    text = _CODE_SPAN.sub(lambda m: keep(f"<code>{_escape(m.group(2).strip())}</code>"), text)
    text = _ESCAPABLE.sub(lambda m: keep(_escape(m.group(1))), text)
    text = _escape(text)

    def image(m: re.Match) -> str:
        url = safe_url(html.unescape(m.group(2)), image=True)
        if url is None:
            return keep(m.group(1))  # the alt text, escaped already
        title = f' title="{m.group(3)}"' if m.group(3) else ""
        return keep(f'<img src="{_escape(url)}" alt="{m.group(1)}"{title} loading="lazy">')

    def link(m: re.Match) -> str:
        label = _emphasis(m.group(1))
        url = safe_url(html.unescape(m.group(2)))
        if url is None or not m.group(2):
            return keep(label)
        title = f' title="{m.group(3)}"' if m.group(3) else ""
        return keep(f'<a href="{_escape(url)}"{title} rel="nofollow noopener">{label}</a>')

    def autolink(m: re.Match) -> str:
        return keep(f'<a href="{_escape(html.unescape(m.group(1)))}" rel="nofollow noopener">{m.group(1)}</a>')

    def bare(m: re.Match) -> str:
        shown = m.group(0)
        trailer = _URL_TRAILER.search(shown)
        tail = trailer.group(0) if trailer else ""
        shown = shown[: len(shown) - len(tail)]
        return keep(f'<a href="{_escape(html.unescape(shown))}" rel="nofollow noopener">{shown}</a>') + tail

    text = _IMAGE.sub(image, text)
    text = _LINK.sub(link, text)
    text = _AUTOLINK.sub(autolink, text)
    text = _BARE_URL.sub(bare, text)
    text = _emphasis(text)
    text = _HARD_BREAK.sub("<br>\n", text)
    # Placeholders may hold placeholders (a link label with code): restore until none is left.
    for _ in range(3):
        if "\x00" not in text:
            break
        text = _SLOT.sub(lambda m: slots[int(m.group(1))], text)
    return text


def _emphasis(text: str) -> str:
    text = _STRONG.sub(r"<strong>\2</strong>", text)
    text = _EM_STAR.sub(r"<em>\1</em>", text)
    text = _EM_UNDERSCORE.sub(r"<em>\1</em>", text)
    return _STRIKE.sub(r"<del>\1</del>", text)
