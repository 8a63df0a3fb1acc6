"""The report's pages from jinja2 templates (report/templates/): HTML and Markdown.

A ``Table`` is a frame of display strings plus what the page marks: the best value per column,
reference rows (real data) and a verdict column coloured by its value. Autoescaping is on for
HTML, so a variant name or a claim's text can never inject markup.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

import jinja2
import pandas as pd

# A cell that reads as a number (possibly "± sd", "[lo, hi]", "%", "a / b") is right-aligned; text is left-aligned.
NUMERIC = re.compile(r"^[▲\s]*[-+−]?(\d[\d.,e+−-]*|–)(\s*(±|/)\s*[\d.e+−-]+)?\s*(%|\[[^\]]*\]|\([^)]*\))?$")


@dataclass(frozen=True)
class Table:
    frame: pd.DataFrame  # display strings
    best: frozenset[tuple[int, str]] = frozenset()  # (row position, column) holding a column's best value
    row_classes: tuple[str, ...] = ()  # CSS class per row, e.g. "reference"
    verdict_column: str | None = None  # its cells get the class v-<verdict>

    def rows(self) -> list[list[dict]]:
        """Cells as {text, cls} for the templates."""
        out = []
        for i, values in enumerate(self.frame.itertuples(index=False)):
            cells = []
            for col, value in zip(self.frame.columns, values, strict=True):
                cls = [] if NUMERIC.match(str(value)) or str(value) == "" else ["txt"]
                if (i, col) in self.best:
                    cls.append("best")
                if col == self.verdict_column:
                    cls.append("v-" + str(value).replace(" ", "-"))
                cells.append({"text": "" if value is None else str(value), "cls": " ".join(cls),
                              "best": (i, col) in self.best})
            out.append(cells)
        return out

    def row_class(self, i: int) -> str:
        return self.row_classes[i] if i < len(self.row_classes) else ""


def _md_cell(cell: dict) -> str:
    text = cell["text"].replace("|", "\\|").replace("\n", "<br>")
    verdict = any(c.startswith("v-") for c in cell["cls"].split())
    return f"**{text}**" if cell["best"] or verdict else text


def md_table(table: Table) -> str:
    head = "| " + " | ".join(str(c) for c in table.frame.columns) + " |"
    rule = "|" + "|".join("---" for _ in table.frame.columns) + "|"
    body = ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in table.rows()]
    return "\n".join([head, rule, *body])


@functools.lru_cache(maxsize=2)
def _env(autoescape: bool) -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.PackageLoader("ganrepro.report", "templates"), autoescape=autoescape,
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
                             keep_trailing_newline=True)
    env.filters["md_table"] = md_table
    return env


def html(context: dict, template: str = "index.html.j2") -> str:
    return _env(True).get_template(template).render(**context)


def markdown(context: dict) -> str:
    return _env(False).get_template("report.md.j2").render(**context)
