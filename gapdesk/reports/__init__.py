"""Reports: where the bot fails, read from the database with pandas.

``gapdesk report`` (gapdesk/cli/report.py) calls :func:`gapdesk.reports.build.build_report`
for a period and writes a self-contained ``report.html`` and ``report.json``. The
modules, in the order the data flows: ``frames`` (the period's rows as DataFrames),
``outcomes`` (what became of each bot turn), ``views``, ``breakdowns`` and
``model_views`` (the figures), ``charts``, ``page`` and ``render`` (the HTML), ``build``.
Every figure's definition is in the docstrings and in docs/reports.md.
"""
