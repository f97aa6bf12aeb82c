"""`qa-service report`, as a committee clerk runs it on the demo data: the quarterly
monitoring report of the 2016 plan, and the six-monthly QA report whose December 2018
Listening and Learning week figures are those the January 2019 paper gives."""

from __future__ import annotations

import io

import openpyxl
import pypdfium2 as pdfium
import pytest

from tests.e2e.test_server import run

AREAS = (
    "A. Early Help and Protection",
    "B. Children Looked After and Achieving Permanence",
    "C. Leadership, Management and Governance",
)


@pytest.fixture
def demo(settings):
    run(settings, "demo", "--until", "2019-04-30")
    return settings


def pdf_text(path) -> str:
    document = pdfium.PdfDocument(path.read_bytes())
    return "\n".join(page.get_textpage().get_text_range() for page in document)


def test_the_quarterly_report_of_the_2016_plan(demo, tmp_path):
    page = tmp_path / "q1.html"
    out = run(demo, "report", "quarterly", "--quarter", "Q1 2016/17", "-o", str(page)).stdout
    assert f"Wrote {page}" in out
    html = page.read_text()
    assert "Quarterly monitoring report, Q1 2016/17" in html
    for area in AREAS:
        assert area in html
    for number in range(1, 10):
        assert f"Recommendation {number}</h" in html
    assert "d) Action plan progress" in html and "f) Recommendations for further action" in html

    pdf = tmp_path / "q1.pdf"
    run(demo, "report", "quarterly", "--quarter", "2016-Q2", "--format", "pdf", "-o", str(pdf))
    text = pdf_text(pdf)
    assert "Quarterly monitoring report, Q1 2016/17 (April to June 2016)" in text
    assert "As of 30 June 2016" in text

    book = tmp_path / "q1.xlsx"
    run(
        demo, "report", "quarterly", "--quarter", "Q1 2016/17", "--known-at",
        "2016-07-20T18:00", "--format", "xlsx", "-o", str(book),
    )  # fmt: skip
    sheets = openpyxl.load_workbook(book)
    assert sheets.sheetnames[:4] == ["Summary", "Monitoring and impact", "RAG history", "Actions"]
    notes = [row[0] for row in sheets["Summary"].iter_rows(max_row=4, values_only=True)]
    assert "As known at 20 July 2016 18:00" in notes


def test_the_six_monthly_report_gives_the_december_2018_week_as_the_paper_does(demo, tmp_path):
    pdf = tmp_path / "qa.pdf"
    run(demo, "report", "six-monthly", "--from", "2018-10", "--to", "2019-03", "--format",
        "pdf", "-o", str(pdf))  # fmt: skip
    text = pdf_text(pdf)
    assert "October 2018 to March 2019" in text
    week = text[text.index("Listening and Learning week, December 2018") :]
    # January 2019 paper, 4.2.2: about 40% good, 34 responses, mean 6.8, 80% knew why.
    assert "40% good or better" in week
    assert "Families who gave feedback 34" in week
    assert "Mean satisfaction 6.8 out of 10" in week
    assert "Knew why they were involved 80% of the 30 who answered" in week

    book = io.BytesIO(
        run_bytes(
            demo,
            "report",
            "six-monthly",
            "--from",
            "2018-10",
            "--to",
            "2019-03",
            "--format",
            "xlsx",
            "-o",
            "-",
        )  # fmt: skip
    )
    weeks = openpyxl.load_workbook(book)["Learning weeks"]
    rows = [r for r in weeks.iter_rows(values_only=True) if r and r[0] and "December" in r[0]]
    assert rows[0][3:8] == (25, 40.0, 34, 6.8, 80.0)


def run_bytes(settings, *args: str) -> bytes:
    import subprocess

    from tests.e2e.test_server import QA, cli_env

    result = subprocess.run([QA, *args], env=cli_env(settings), capture_output=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_report_mistakes_are_explained(demo):
    bad = run(demo, "report", "quarterly", "--quarter", "Q1 2016/18", check=False)
    assert bad.returncode == 2
    assert "a financial year runs from April to March: 2016/17, not 2016/18" in bad.stderr
    early = run(demo, "report", "quarterly", "--quarter", "Q2 2015/16", check=False)
    assert early.returncode == 1
    assert "the plan was published on 2016-02-01, after Q2 2015/16 ended" in early.stderr
    backwards = run(demo, "report", "six-monthly", "--from", "2019-10", "--to", "2019-03",
                    check=False)  # fmt: skip
    assert backwards.returncode == 2 and "--to" in backwards.stderr
