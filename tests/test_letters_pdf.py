"""The paper letters of the receipt confirmation (submissions/letters.py), read back as a
reader would: pypdf's text of each page, the embedded font, the glyphs the text is drawn with."""

import datetime as dt
import io
import re
from pathlib import Path

import pypdf
import pytest
from fontTools.fontBuilder import FontBuilder
from fontTools.pens.ttGlyphPen import TTGlyphPen
from fontTools.ttLib import TTFont

from submissions import letters as letters_module
from submissions.letters import (
    SYSTEM_FONTS,
    Letter,
    LetterLine,
    LettersFontMissing,
    find_font,
    letters_pdf,
)

SECTIONS = ("修課紀錄", "課程學習成果", "多元表現", "校內幹部經歷")


def make_letter(name: str, number: str, lines: tuple[LetterLine, ...], **changes) -> Letter:
    fields = {
        "school_name": "國立示範高級中學",
        "school_code": "999001",
        "school_year": "114學年度",
        "student_name": name,
        "student_number": number,
        "class_label": "301",
        "mailing_address": "臺北市中正區重慶南路一段122號",
        "lines": lines,
        "answer_by": dt.date(2026, 1, 15),
        "office": "教務處註冊組",
        "office_contact": "(02) 2345-6789",
    }
    return Letter(**{**fields, **changes})


def numbered_lines(count: int, prefix: str) -> tuple[LetterLine, ...]:
    return tuple(
        LetterLine(SECTIONS[index * len(SECTIONS) // count], f"{prefix}{index:03d} 物理 3學分", "received")
        for index in range(count)
    )  # fmt: skip


def render(letters, font=None) -> tuple[int, bytes]:
    target = io.BytesIO()
    pages = letters_pdf(letters, target, font=font)
    return pages, target.getvalue()


def page_texts(data: bytes) -> list[str]:
    return [page.extract_text() for page in pypdf.PdfReader(io.BytesIO(data)).pages]


def letter_page_runs(texts: list[str]) -> list[tuple[int, int]]:
    """(first page index, page count) of each letter, from its pages' footers."""
    runs = []
    for index, text in enumerate(texts):
        match = re.search(r"Page 1 of (\d+)", text)
        if match:
            runs.append((index, int(match.group(1))))
    return runs


@pytest.fixture(scope="module")
def font():
    return find_font("")  # the installed one, whatever LETTERS_FONT says here


@pytest.fixture(scope="module")
def three_letters(font):
    letters = [
        make_letter(
            "王小明",
            "B000001",
            (
                LetterLine("修課紀錄", "1121 物理 3學分 85分", "missing"),
                LetterLine("修課紀錄", "1121 化學 2學分 90分", "received"),
                LetterLine("多元表現", "校際科展 佳作", "different"),
                LetterLine("修課紀錄", "1122 國語文 4學分 78分", "received"),
            ),
        ),
        make_letter("林怡君", "B000002", numbered_lines(12, "林項"), class_label=""),
        make_letter("陳志明", "B000003", (), mailing_address=""),
    ]
    pages, data = render(letters, font)
    return letters, pages, data, page_texts(data)


def test_the_page_count_is_the_pdfs(three_letters):
    _letters, pages, _data, texts = three_letters
    assert pages == len(texts)
    assert pages >= 3


def test_each_letter_starts_on_a_new_page_with_its_students_name(three_letters):
    letters, pages, _data, texts = three_letters
    runs = letter_page_runs(texts)
    assert len(runs) == len(letters)
    assert runs[0][0] == 0
    # The letters follow one another: each starts right after the pages of the one before.
    for (start, count), (next_start, _) in zip(runs, runs[1:], strict=False):
        assert next_start == start + count
    assert runs[-1][0] + runs[-1][1] == pages
    for letter, (start, count) in zip(letters, runs, strict=True):
        first = texts[start]
        assert f"{letter.student_name} 同學您好" in first
        assert letter.student_number in first
        assert "學生學習歷程檔案收訖明細確認通知" in first
        for other in letters:
            if other is not letter:
                assert other.student_name not in "".join(texts[start : start + count])


def test_the_chinese_text_is_extractable(three_letters):
    _letters, _pages, _data, texts = three_letters
    first = texts[0]
    assert "王小明" in first
    assert "收訖明細" in first
    assert "國立示範高級中學" in first
    assert "臺北市中正區重慶南路一段122號" in first
    assert "民國115年1月15日" in first  # the answer-by day, in ROC years
    letter = "\n".join(texts[: letter_page_runs(texts)[1][0]])
    # Each line with its status as words, in its row of the table.
    assert re.search(r"1121 物理 3學分 85分\s*未收到", letter)
    assert re.search(r"1121 化學 2學分 90分\s*已收到", letter)
    assert re.search(r"校際科展 佳作\s*內容不符", letter)
    assert "修課紀錄　共 3 項" in letter  # the lines grouped by section
    assert "多元表現　共 1 項" in letter
    assert "收訖明細共 4 項：已收到 2 項、未收到 1 項、內容不符 1 項" in letter


def test_the_reply_slip_ends_each_letter(three_letters):
    _letters, _pages, _data, texts = three_letters
    for start, count in letter_page_runs(texts):
        last = texts[start + count - 1]
        for words in (
            "請沿虛線剪下",
            "回條",
            "確認無誤",
            "有誤，說明如下",
            "學生簽名",
            "家長（監護人）簽名",
            "日期 Date",
        ):
            assert words in last, words
        # The slip comes after the receipt's table.
        assert last.index("回條") > max(last.rfind("已收到"), last.rfind("收訖狀態"))


def test_a_student_without_lines_gets_a_letter_saying_so(three_letters):
    _letters, _pages, _data, texts = three_letters
    start, count = letter_page_runs(texts)[2]
    letter = "\n".join(texts[start : start + count])
    assert "陳志明" in letter
    assert "收訖明細中沒有您的資料" in letter
    assert "回條" in letter


def test_200_lines_flow_onto_further_pages_without_losing_one(font):
    lines = tuple(
        LetterLine(SECTIONS[index // 50], f"第{index:03d}筆 1121 物理 3學分 {index % 100}分", status)
        for index, status in zip(range(200), ["received", "missing", "different"] * 67, strict=False)
    )  # fmt: skip
    pages, data = render([make_letter("張雅婷", "B000200", lines)], font)
    texts = page_texts(data)
    assert pages == len(texts) >= 5
    everything = "\n".join(texts)
    for line in lines:
        assert line.text in everything, line.text
    for section in SECTIONS:
        assert f"{section}　共 50 項" in everything
    for index, text in enumerate(texts):
        assert f"Page {index + 1} of {pages}" in text
        if 0 < index < pages - 1:
            # A page the table flows onto: the student's name on top, the heading row repeated.
            assert text.startswith("張雅婷（學號 B000200"), text[:80]
            assert re.search(r"序號\s*項目 Item\s*收訖狀態 Status", text)
    # Every row once: a line's number is not repeated within its section on the next page.
    assert len(re.findall(r"第\d{3}筆", everything)) == 200


def test_a_long_unbroken_chinese_text_wraps_inside_the_page(font):
    long_text = "長" * 1500 + "終點SENTINEL"
    lines = (
        LetterLine("多元表現", "短的項目", "received"),
        LetterLine("多元表現", long_text, "missing"),
        LetterLine("多元表現", "W" * 900 + "WIDE-END", "received"),
    )
    pages, data = render([make_letter("李承恩", "B000300", lines)], font)
    texts = page_texts(data)
    everything = "\n".join(texts)
    # In order, to the last character: only line breaks between them.
    assert "長長長終點SENTINEL" in everything.replace("\n", "")
    assert "WIDE-END" in everything
    assert everything.count("W") >= 900
    # No character lost to the wrapping, and no text line wider than the item column.
    table_runs = re.findall(r"長+", everything)
    assert sum(len(run) for run in table_runs if len(run) > 3) == 1500
    assert max(len(run) for run in table_runs) <= 40
    assert max(len(run) for run in re.findall(r"W+", everything)) <= 80
    reader = pypdf.PdfReader(io.BytesIO(data))
    assert_text_inside_pages(reader)


def assert_text_inside_pages(reader: pypdf.PdfReader) -> None:
    """Every piece of text starts inside its page's printable area (A4 less 5 mm)."""
    edge = 5 * 72 / 25.4
    for number, page in enumerate(reader.pages, start=1):
        width, height = float(page.mediabox.width), float(page.mediabox.height)
        outside = []

        def visit(text, _cm, tm, _font, _size, width=width, height=height, outside=outside):
            if text.strip():
                x, y = tm[4], tm[5]
                if not (edge <= x <= width - edge and edge <= y <= height - edge):
                    outside.append((text, x, y))

        page.extract_text(visitor_text=visit)
        assert outside == [], f"page {number}: {outside[:3]}"


def pdf_fonts(data: bytes) -> list[dict]:
    reader = pypdf.PdfReader(io.BytesIO(data))
    fonts = {}
    for page in reader.pages:
        for font in page["/Resources"]["/Font"].values():
            font = font.get_object()
            fonts[font["/BaseFont"]] = font
    return list(fonts.values())


def test_the_font_is_embedded_as_a_subset(three_letters):
    _letters, _pages, data, _texts = three_letters
    fonts = pdf_fonts(data)
    assert fonts
    for font in fonts:
        assert font["/Subtype"] == "/Type0"
        assert "/ToUnicode" in font  # the text can be copied and searched
        assert re.fullmatch(r"/[A-Z]{6}\+.+", font["/BaseFont"])  # a subset
        descendant = font["/DescendantFonts"][0].get_object()
        descriptor = descendant["/FontDescriptor"].get_object()
        assert "/FontFile2" in descriptor or "/FontFile3" in descriptor
        program = (descriptor.get("/FontFile2") or descriptor["/FontFile3"]).get_object()
        assert 1_000 < len(program.get_data()) < 2_000_000  # a subset, not the whole font


def test_the_chinese_is_drawn_with_real_glyphs_not_boxes(three_letters):
    """Each character maps (ToUnicode, CIDToGIDMap) to a glyph of the embedded font that has
    an outline and is not .notdef, the empty box a missing glyph shows."""
    _letters, _pages, data, _texts = three_letters
    (font,) = pdf_fonts(data)
    to_unicode = font["/ToUnicode"].get_object().get_data().decode("ascii")
    code_of = {
        chr(int(target, 16)): int(code, 16)
        for code, target in re.findall(r"<([0-9A-F]{4})> <([0-9A-F]{4})>", to_unicode)
    }
    descendant = font["/DescendantFonts"][0].get_object()
    cid_to_gid = descendant.get("/CIDToGIDMap")
    mapping = None if cid_to_gid in (None, "/Identity") else cid_to_gid.get_object().get_data()
    descriptor = descendant["/FontDescriptor"].get_object()
    program = descriptor["/FontFile2"].get_object().get_data()
    embedded = TTFont(io.BytesIO(program))
    glyf = embedded["glyf"]
    order = embedded.getGlyphOrder()
    notdef = outline(glyf, order[0])
    outlines = {}
    for char in set("王小明收訖明細未收到已收到內容不符回條確認無誤"):
        code = code_of[char]
        gid = code if mapping is None else int.from_bytes(mapping[2 * code : 2 * code + 2], "big")
        assert gid != 0, char
        assert glyf[order[gid]].numberOfContours > 0, char
        outlines[char] = outline(glyf, order[gid])
        assert outlines[char] != notdef, char
    assert len(set(outlines.values())) == len(outlines)  # each character its own glyph


def outline(glyf, name: str) -> tuple:
    coordinates, _ends, _flags = glyf[name].getCoordinates(glyf)
    return tuple(coordinates)


def test_the_font_comes_from_the_installed_package(settings):
    settings.LETTERS_FONT = ""
    import pylopdf_fonts_zh_tw

    assert find_font().path == Path(pylopdf_fonts_zh_tw.sans_path())


def test_a_font_setting_that_points_nowhere_raises_a_clear_error(settings, tmp_path):
    settings.LETTERS_FONT = str(tmp_path / "no-such-font.otf")
    letter = make_letter("王小明", "B000001", numbered_lines(2, "項"))
    with pytest.raises(LettersFontMissing) as caught:
        letters_pdf([letter], io.BytesIO())
    message = str(caught.value)
    assert "LETTERS_FONT" in message
    assert "no-such-font.otf" in message
    assert "pylopdf-fonts-zh-tw" in message
    assert "fonts-noto-cjk" in message


def test_without_any_font_the_error_says_what_to_install(settings, monkeypatch, tmp_path):
    settings.LETTERS_FONT = ""
    monkeypatch.setattr(letters_module, "_package_font", lambda: None)
    monkeypatch.setattr(letters_module, "SYSTEM_FONTS", (tmp_path / "NotoSansCJK-Regular.ttc",))
    with pytest.raises(LettersFontMissing) as caught:
        letters_pdf([make_letter("王小明", "B1", ())], io.BytesIO())
    message = str(caught.value)
    assert "pylopdf-fonts-zh-tw" in message
    assert "fonts-noto-cjk" in message
    assert "LETTERS_FONT" in message


def test_a_font_setting_that_is_not_a_font_raises_a_clear_error(settings, tmp_path):
    path = tmp_path / "notes.ttf"
    path.write_text("not a font")
    settings.LETTERS_FONT = str(path)
    with pytest.raises(LettersFontMissing, match="not a font"):
        letters_pdf([make_letter("王小明", "B1", ())], io.BytesIO())


def test_a_font_without_chinese_glyphs_is_refused(settings, tmp_path):
    path = tmp_path / "latin.ttf"
    latin_only_font(path)
    settings.LETTERS_FONT = str(path)
    with pytest.raises(LettersFontMissing, match="no Traditional Chinese glyphs"):
        letters_pdf([make_letter("王小明", "B1", ())], io.BytesIO())


def latin_only_font(path: Path) -> None:
    builder = FontBuilder(1000, isTTF=True)
    builder.setupGlyphOrder([".notdef", "A"])
    builder.setupCharacterMap({ord("A"): "A"})
    pen = TTGlyphPen(None)
    pen.moveTo((0, 0))
    pen.lineTo((500, 700))
    pen.lineTo((1000, 0))
    pen.closePath()
    glyph = pen.glyph()
    builder.setupGlyf({".notdef": glyph, "A": glyph})
    builder.setupHorizontalMetrics({".notdef": (1000, 0), "A": (1000, 0)})
    builder.setupHorizontalHeader(ascent=800, descent=-200)
    builder.setupNameTable({"familyName": "Latin Only", "styleName": "Regular"})
    builder.setupOS2()
    builder.setupPost()
    builder.save(str(path))


@pytest.mark.skipif(not SYSTEM_FONTS[0].is_file(), reason="Debian's fonts-noto-cjk not here")
def test_debians_noto_collection_works_too(settings):
    """The fallback: a CFF collection, whose Traditional Chinese face is picked by name."""
    settings.LETTERS_FONT = str(SYSTEM_FONTS[0])
    chosen = find_font()
    with TTFont(chosen.path, fontNumber=chosen.number, lazy=True) as face:
        assert face["name"].getDebugName(1).endswith(" TC")
    letter = make_letter("王小明", "B000001", (LetterLine("修課紀錄", "1121 物理", "missing"),))
    _pages, data = render([letter])
    text = page_texts(data)[0]
    assert "王小明 同學您好" in text
    assert "收訖明細" in text


def test_a_line_with_an_unknown_status_is_refused():
    with pytest.raises(ValueError, match="status"):
        LetterLine("修課紀錄", "1121 物理", "lost")


def test_no_letters_is_an_error_not_an_empty_pdf(font):
    with pytest.raises(ValueError, match="no letters"):
        letters_pdf([], io.BytesIO(), font=font)
