"""The comparison report: ``results/report/{index.html, report.md, *.csv, *.png, img/}``.

A step like the others: it reads exactly the files the pipeline declared (``pipeline.report_inputs``)
into a ``Study`` (``study``), tests the study's claims (``claims``, on ``stats``), splits each
metric's spread into its sources and checks rank stability (``variance``), builds tables
(``tables``) and figures (``figures``), and renders both pages from jinja2 templates (``render``);
``build.build_report`` puts it together. ``provenance`` adds what produced the report; the
Snakemake-only provenance step uses it too.

This file imports nothing: a step's source dependencies follow its imports (``ganrepro.pipeline.codedeps``),
and the provenance step, which imports ``report.provenance``, must not depend on the report's tables.
"""
