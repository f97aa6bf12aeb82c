"""The reports that go to committee: one model each, computed by the query side from the
read models (``quarterly``, ``six_monthly``), and its renderings (``render``: HTML, PDF
and XLSX), which the pages, the API and the CLI all use."""
