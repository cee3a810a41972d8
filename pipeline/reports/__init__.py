"""Weekly lists and monthly reports (HTML and PDF), internal or redacted for publication.

`build_report` is the one entry point the CLI and the API use; the modules behind it are
small steps: `period` (which days), `data` (what happened), `pictures` and `redact` (the
evidence pictures, blurred for the public variant), `charts` (matplotlib), `html` and `pdf`.
"""

from pipeline.reports.build import ReportRequest, build_report
from pipeline.reports.period import Period, parse_month, parse_week

__all__ = ["Period", "ReportRequest", "build_report", "parse_month", "parse_week"]
