"""The report's pages from jinja2 templates (report/templates/): HTML and Markdown.

Tables are pandas DataFrames: ``DataFrame.to_html`` (escaped) for the page, ``to_markdown`` for
report.md. Autoescaping is on for HTML, so a variant name can never inject markup.
"""

from __future__ import annotations

import functools

import jinja2
import pandas as pd
from markupsafe import Markup


@functools.lru_cache(maxsize=2)
def _env(autoescape: bool) -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.PackageLoader("ganrepro.report", "templates"), autoescape=autoescape,
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
                             keep_trailing_newline=True)
    env.filters["html_table"] = lambda df: Markup(_html_table(df))
    env.filters["md_table"] = lambda df: df.to_markdown(index=False, disable_numparse=True)
    return env


def _html_table(df: pd.DataFrame) -> str:
    return df.to_html(index=False, escape=True, border=0, classes="data")


def html(context: dict) -> str:
    return _env(True).get_template("index.html.j2").render(**context)


def markdown(context: dict) -> str:
    return _env(False).get_template("report.md.j2").render(**context)
