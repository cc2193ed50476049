"""Import files as offices send them (xlsx, CSV in UTF-8 or Big5), and running an import."""

import csv
import io

from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from openpyxl import Workbook

from portfolio.models import Job
from records.demo.students import national_id_with_checksum
from records.services.imports import import_apply, import_preview

STUDENT_HEADER = ["學號", "身分證號", "姓名", "性別", "出生日期", "班級", "座號"]
INDEX = reverse("imports:index")


def bad_checksum(value: str) -> str:
    return value[:-1] + str((int(value[-1]) + 1) % 10)


def xlsx_bytes(rows, *, sheets=None, title="學生資料") -> bytes:
    """A workbook with ``rows`` on a sheet ``title``; ``sheets`` (name -> rows) first."""
    book = Workbook()
    book.remove(book.active)
    for name, sheet_rows in (sheets or {}).items():
        sheet = book.create_sheet(name)
        for row in sheet_rows:
            sheet.append(row)
    sheet = book.create_sheet(title)
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def csv_bytes(rows, encoding: str = "utf-8-sig") -> bytes:
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    return out.getvalue().encode(encoding)


def student_row(i: int, *, class_name="101", seat=None, name=None, gender="1", born="0980321"):
    return [f"S{i:04d}", nid(i, gender), name or f"學生{i}", gender, born, class_name, seat or i]


def roster(count: int, **kwargs) -> list[list]:
    return [STUDENT_HEADER, *(student_row(i, **kwargs) for i in range(1, count + 1))]


def run(kind, data, school, *, term=None, apply=False, name="file.xlsx", by=None):
    arguments = {
        "kind": kind,
        "stream": io.BytesIO(data),
        "file_name": name,
        "school": school,
        "term": term,
    }
    if apply:
        return import_apply(by=by, **arguments)
    return import_preview(**arguments)


def problems(result) -> set[tuple]:
    """(row, column, code) of every problem."""
    return {(p["row"], p["column"], p["code"]) for p in result["errors"]}


def start(client, data, capture, *, kind="students", term=None, name="roster.xlsx"):
    """Post a file to the import page; the preview job runs on commit."""
    form = {"kind": kind, "file": upload(data, name)}
    if term is not None:
        form["term"] = term.pk
    with capture(execute=True):
        response = client.post(INDEX, form)
    assert response.status_code == 302, response.content.decode()[:2000]
    job = Job.objects.latest("pk")
    assert response.url == reverse("imports:detail", args=[job.pk])
    return job


def page(client, job, **query) -> str:
    response = client.get(reverse("imports:detail", args=[job.pk]), query)
    assert response.status_code == 200
    return response.content.decode()


def nid(n: int, gender: str = "1", letter: str = "A") -> str:
    """A valid national ID, different for each ``n``."""
    return national_id_with_checksum(letter, f"{gender}{n:07d}")


def upload(data: bytes, name: str = "roster.xlsx") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data)
