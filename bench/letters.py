"""The receipt confirmation's paper letters (``submissions/letters.py``): 100 students with
60 receipt lines each (four sections, every tenth line not received and every tenth
different), rendered into one PDF in its own process (``manage.py shell``, so the settings
and their LETTERS_FONT apply as in the platform): wall time and peak memory. The PDF is then
read back, untimed: one letter per student, each starting on a page of its own with the
student's name."""

import io
import re
from collections.abc import Mapping
from pathlib import Path

import pypdf

from bench.errors import BenchError, log
from bench.imports import timed_manage

STUDENTS = 100
LINES_EACH = 60

RENDER = """
import datetime
from submissions.letters import Letter, LetterLine, letters_pdf
SECTIONS = ["修課紀錄", "課程學習成果", "多元表現", "校內幹部經歷"]
STATUSES = ["received"] * 8 + ["missing", "different"]
SURNAMES = "陳林黃張李王吳劉蔡楊許鄭謝郭洪曾邱廖賴周"
GIVEN = "家豪雅婷志明淑芬冠宇怡君承恩佳穎柏翰詩涵"


def lines(student):
    return tuple(
        LetterLine(
            SECTIONS[k * len(SECTIONS) // LINES_EACH],
            f"{112 + k % 2}{1 + k % 2} 科目{k:02d} 物理實驗與探究 {2 + k % 3}學分 {60 + (k + student) % 40}分",
            STATUSES[(k + student) % 10],
        )
        for k in range(LINES_EACH)
    )


letters = [
    Letter(
        school_name="國立示範高級中學",
        school_code="999001",
        school_year="114學年度",
        student_name=SURNAMES[i % 20] + GIVEN[(i * 2) % 20 : (i * 2) % 20 + 2] + f"{i:03d}",
        student_number=f"L{i:06d}",
        class_label=f"3{i % 20 + 1:02d}",
        mailing_address=f"臺北市中正區重慶南路一段{i + 1}號{i % 12 + 1}樓",
        lines=lines(i),
        answer_by=datetime.date(2026, 1, 15),
        office="教務處註冊組",
        office_contact="(02) 2345-6789 分機 123",
    )
    for i in range(STUDENTS)
]
with open(TARGET, "wb") as target:
    pages = letters_pdf(letters, target)
print("LETTERS", pages)
"""


def letters(env: Mapping[str, str]) -> list[tuple[str, float, str, int]]:
    target = Path(env["PORTFOLIO_VAR_DIR"]) / "bench-letters.pdf"
    target.unlink(missing_ok=True)
    header = f"TARGET = {str(target)!r}\nSTUDENTS = {STUDENTS}\nLINES_EACH = {LINES_EACH}\n"
    seconds, peak = timed_manage(env, "shell", "-c", header + RENDER)
    if not target.is_file():
        raise BenchError(f"the letters were not written to {target}")
    reader = pypdf.PdfReader(io.BytesIO(target.read_bytes()))
    texts = [page.extract_text() for page in reader.pages]
    firsts = [text for text in texts if re.search(r"Page 1 of \d+", text)]
    if len(firsts) != STUDENTS:
        raise BenchError(f"{len(firsts)} letters start a page in the PDF, not {STUDENTS}")
    for number, text in enumerate(firsts):
        if f"L{number:06d}" not in text or f"{number:03d} 同學您好" not in text:
            raise BenchError(f"letter {number} does not start with its student:\n{text[:500]}")
    log(
        f"letters: {STUDENTS} students x {LINES_EACH} lines, {len(texts)} pages "
        f"({target.stat().st_size / 1e6:.1f} MB), {seconds:.1f} s, peak {peak:.0f} MB"
    )
    return [
        (f"letters_{STUDENTS}_s", seconds, "s", 1),
        ("letters_peak_mb", peak, "MB", 0),
    ]
