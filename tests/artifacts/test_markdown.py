"""The artifact Markdown renderer: the common Markdown reports use, and nothing unsafe."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest

from artifacts.markdown import render, safe_url

ALLOWED_TAGS = {
    "h1", "h2", "h3", "h4", "h5", "h6", "p", "em", "strong", "del", "code", "pre", "ul", "ol", "li",
    "blockquote", "hr", "br", "table", "thead", "tbody", "tr", "th", "td", "a", "img",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {"href", "src", "alt", "title", "rel", "loading", "class", "start"}


def parsed(html: str) -> list[tuple[str, list[tuple[str, str]]]]:
    """Every start tag of `html` with its attributes, as a browser reads them."""
    found = []

    class Collector(HTMLParser):
        def handle_starttag(self, tag, attrs):
            found.append((tag, attrs))

    Collector().feed(html)
    return found


def test_it_renders_headings_paragraphs_and_emphasis():
    assert render("# Report\n\nsome *markdown*") == "<h1>Report</h1>\n<p>some <em>markdown</em></p>"
    assert render("### Three ###") == "<h3>Three</h3>"
    assert render("**bold** __also__ _em_ ~~gone~~") == (
        "<p><strong>bold</strong> <strong>also</strong> <em>em</em> <del>gone</del></p>"
    )


def test_underscores_inside_words_are_not_emphasis():
    assert render("snake_case_name and 2*3*4") == "<p>snake_case_name and 2<em>3</em>4</p>"


def test_it_renders_code_spans_and_blocks_literally():
    assert render("use `a *b* <c>`") == "<p>use <code>a *b* &lt;c&gt;</code></p>"
    assert render("```python\nif a < b:\n    print('*')\n```") == (
        '<pre><code class="language-python">if a &lt; b:\n    print(&#x27;*&#x27;)</code></pre>'
    )
    assert render("    indented\n    code") == "<pre><code>indented\ncode</code></pre>"


def test_an_unclosed_fence_runs_to_the_end():
    assert render("```\nopen") == "<pre><code>open</code></pre>"


def test_it_renders_lists_nested_and_numbered():
    html = render("- one\n- two\n  - two a\n  - two b\n- three\n\n3. c\n4. d")

    assert html == (
        "<ul>\n<li>one</li>\n<li>two\n<ul>\n<li>two a</li>\n<li>two b</li>\n</ul></li>\n<li>three</li>\n</ul>\n"
        '<ol start="3">\n<li>c</li>\n<li>d</li>\n</ol>'
    )


def test_it_renders_quotes_rules_and_line_breaks():
    assert render("> quoted\n> *text*") == "<blockquote>\n<p>quoted\n<em>text</em></p>\n</blockquote>"
    assert render("a\n\n---\n\nb") == "<p>a</p>\n<hr>\n<p>b</p>"
    assert render("line one  \nline two") == "<p>line one<br>\nline two</p>"


def test_it_renders_github_tables_with_alignment():
    html = render("| name | n |\n|:-----|--:|\n| a \\| b | 1 |\n| c |")

    assert html == (
        '<table>\n<thead>\n<tr><th class="align-left">name</th><th class="align-right">n</th></tr>\n</thead>\n'
        '<tbody>\n<tr><td class="align-left">a | b</td><td class="align-right">1</td></tr>\n'
        '<tr><td class="align-left">c</td><td class="align-right"></td></tr>\n</tbody>\n</table>'
    )


def test_it_renders_links_images_and_bare_urls():
    assert render("[Example](https://example.com)") == (
        '<p><a href="https://example.com" rel="nofollow noopener">Example</a></p>'
    )
    assert render('[t](/runs/ "Runs")') == '<p><a href="/runs/" title="Runs" rel="nofollow noopener">t</a></p>'
    assert render("![chart](https://x.org/c.png)") == (
        '<p><img src="https://x.org/c.png" alt="chart" loading="lazy"></p>'
    )
    assert render("see https://example.org/a?b=1&c=2.") == (
        '<p>see <a href="https://example.org/a?b=1&amp;c=2" rel="nofollow noopener">'
        "https://example.org/a?b=1&amp;c=2</a>.</p>"
    )
    assert render("<https://example.org>") == (
        '<p><a href="https://example.org" rel="nofollow noopener">https://example.org</a></p>'
    )


def test_a_link_label_keeps_its_emphasis_and_its_url_keeps_its_underscores():
    assert render("[**big** news](https://x.org/a_b_c)") == (
        '<p><a href="https://x.org/a_b_c" rel="nofollow noopener"><strong>big</strong> news</a></p>'
    )


def test_backslash_escapes_are_literal():
    assert render(r"\*not em\* and \# not a heading") == "<p>*not em* and # not a heading</p>"


@pytest.mark.parametrize(
    "source",
    [
        "<script>alert(1)</script>",
        "<img src=x onerror=alert(1)>",
        "[x](javascript:alert(1))",
        "[x](JaVaScRiPt:alert(1))",
        "[x](java\tscript:alert(1))",
        "[x](data:text/html,<script>alert(1)</script>)",
        "![x](javascript:alert(1))",
        '[x](https://ok.org" onmouseover="alert(1))',
        '![a" onerror="alert(1)](https://x.org/i.png)',
        "<a href='javascript:alert(1)'>x</a>",
        "`</code><script>alert(1)</script>`",
        "```\n</code></pre><script>alert(1)</script>\n```",
        "| <script> |\n|---|\n| <b onclick=x> |",
        "[x](vbscript:msgbox)",
    ],
)
def test_nothing_in_the_source_becomes_script_or_an_attribute(source):
    tags = parsed(render(source))

    for tag, attrs in tags:
        assert tag in ALLOWED_TAGS, tag
        for name, value in attrs:
            assert name in ALLOWED_ATTRIBUTES, (tag, name)
            if name in ("href", "src"):
                assert value.lower().startswith(("https:", "http:", "mailto:", "/")), value


def test_safe_urls():
    assert safe_url("https://a.org") == "https://a.org"
    assert safe_url("/relative/path") == "/relative/path"
    assert safe_url("mailto:a@b.org") == "mailto:a@b.org"
    assert safe_url("mailto:a@b.org", image=True) is None
    assert safe_url(" javascript:alert(1)") is None
    assert safe_url("data:image/png;base64,xx") is None


def test_empty_and_huge_sources():
    assert render(None) == ""
    assert render("") == ""
    huge = "<b>" + "x" * 600_000
    assert render(huge).startswith("<pre>&lt;b&gt;xxx")


def test_markers_without_partners_take_linear_time():
    import time

    source = "*a _b `c [d ~~e " * 20_000
    started = time.monotonic()
    render(source)
    assert time.monotonic() - started < 5


def test_deep_nesting_is_bounded():
    html = render("> " * 200 + "deep")

    assert "deep" in html
    assert html.count("<blockquote>") <= 21
