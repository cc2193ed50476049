"""The paper letters of the receipt confirmation (收訖明細確認通知), many in one PDF.

Students who have left school answer the central database's receipt (收訖明細) by paper
letter: one letter per student, each starting on a new page, with the receipt's lines
grouped by section in a table and a reply slip (回條) to cut off and send back. This module
is pure: it takes plain ``Letter`` values and writes a PDF, knowing nothing of requests or
models; the callers build the letters from the receipts.

The letter is bilingual on purpose (Traditional Chinese, with the English in smaller type),
the same paper for every student whatever the language of the office that prints it, so its
strings are not run through gettext.

Library: fpdf2. It is pure Python (nothing to apt-get in the image, unlike WeasyPrint's
pango), fast enough for a school's leavers in one go, paginates tables itself with their
heading rows repeated, and embeds fonts subset with fontTools.

Font: Noto Sans TC (Taiwan's glyph forms) from the ``pylopdf-fonts-zh-tw`` wheel, a data-only
package of the OFL fonts of notofonts/noto-cjk, so ``make run`` on a fresh machine and the
production image get it with the other requirements (hash-pinned in requirements.lock),
without a system font or a download at run time. ``LETTERS_FONT`` (a path to a .otf, .ttf or
.ttc) overrides it; Debian's fonts-noto-cjk is the fallback when neither is there.

Noto's CJK fonts have CFF (PostScript) outlines. fpdf2 can embed those, but as a CIDFontType0
with an embedded encoding CMap that pypdf (and so our own checks and tests) cannot read back
as text. So, per document, fontTools cuts the font down to the characters the letters use (a
few hundred glyphs: about 0.2 s) and redraws that subset with TrueType outlines (cu2qu), which
fpdf2 embeds as a CIDFontType2 with Identity-H and a ToUnicode map: the PDF stays small and
its text extractable, in every reader.
"""

from __future__ import annotations

import dataclasses
import datetime
import functools
import io
import logging
import re
import struct
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO

from django.conf import settings
from fontTools import subset as ft_subset
from fontTools.pens.cu2quPen import Cu2QuPen
from fontTools.pens.ttGlyphPen import TTGlyphPen
from fontTools.ttLib import TTCollection, TTFont, TTLibError, newTable
from fontTools.varLib import instancer
from fpdf import FPDF
from fpdf.enums import (
    MethodReturnValue,
    TableBordersLayout,
    TableHeadingsDisplay,
    TextMode,
    WrapMode,
    XPos,
    YPos,
)
from fpdf.fonts import FontFace

from portfolio.lib.roc import ROC_OFFSET

logger = logging.getLogger(__name__)

# The letter ---------------------------------------------------------------------------------

STATUSES = {
    "received": "已收到",
    "missing": "未收到",
    "different": "內容不符",
}


@dataclasses.dataclass(frozen=True)
class LetterLine:
    section: str  # e.g. "修課紀錄", "課程學習成果", "多元表現", "校內幹部經歷"
    text: str  # the line as the student should read it, e.g. "1121 物理 3學分 85分"
    status: str  # "received" | "missing" | "different"

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"status must be one of {', '.join(STATUSES)}, not {self.status!r}")


@dataclasses.dataclass(frozen=True)
class Letter:
    school_name: str
    school_code: str
    school_year: str  # e.g. "114學年度"
    student_name: str
    student_number: str
    class_label: str  # may be ""
    mailing_address: str  # may be ""
    lines: tuple[LetterLine, ...]
    answer_by: datetime.date  # the day by which the reply must reach the school
    office: str  # the office to reply to, e.g. "教務處註冊組"
    office_contact: str  # phone / e-mail text, may be ""
    issued_on: datetime.date | None = None  # the letter's date (發文日期), when given
    # Whether a student who does not answer in time is taken as confirming (as the platform's
    # receipts_deem does at the close of the receipt-confirmation window): the letter says so.
    deemed_if_silent: bool = True

    def sections(self) -> list[tuple[str, list[LetterLine]]]:
        """The lines grouped by section, sections in the order they first appear."""
        groups: dict[str, list[LetterLine]] = {}
        for line in self.lines:
            groups.setdefault(line.section, []).append(line)
        return list(groups.items())


class LettersFontMissing(RuntimeError):
    """No font with Traditional Chinese glyphs to set the letters in."""


# The font -----------------------------------------------------------------------------------

# Where Linux distributions put Noto Sans CJK (Debian and Ubuntu's fonts-noto-cjk, Fedora's
# google-noto-sans-cjk-fonts): the fallback when the Python package is not installed.
SYSTEM_FONTS = (
    Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"),
    Path("/usr/share/fonts/google-noto-sans-cjk-fonts/NotoSansCJK-Regular.ttc"),
    Path("/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc"),
)
# A font that sets the letters must have these.
_PROBE = "學生學習歷程檔案收訖明細確認"
_HOW_TO_INSTALL = (
    "Install the project's requirements (pip install --require-hashes -r requirements.lock "
    "brings pylopdf-fonts-zh-tw, with Noto Sans TC), or Debian's fonts-noto-cjk, or set "
    "LETTERS_FONT to the path of an .otf, .ttf or .ttc font with Traditional Chinese glyphs."
)


@dataclasses.dataclass(frozen=True)
class FontChoice:
    path: Path
    number: int = 0  # the face in a collection (.ttc); 0 for a single font


def _configured_font() -> str:
    if not settings.configured:
        return ""
    return str(getattr(settings, "LETTERS_FONT", "") or "").strip()


def _package_font() -> Path | None:
    try:
        import pylopdf_fonts_zh_tw
    except ImportError:
        return None
    return Path(pylopdf_fonts_zh_tw.sans_path())


def find_font(configured: str | None = None) -> FontChoice:
    """The font to set the letters in: ``configured`` (by default the LETTERS_FONT setting)
    when given, else Noto Sans TC from its Python package, else a system Noto Sans CJK.

    Raises LettersFontMissing when the configured path is no usable font, or when there is
    no configured font and none of the others is installed.
    """
    configured = _configured_font() if configured is None else configured
    if configured:
        path = Path(configured).expanduser()
        if not path.is_file():
            raise LettersFontMissing(
                f"LETTERS_FONT is {configured!r}, which is not a file: the paper letters "
                f"need a font with Traditional Chinese glyphs. Point LETTERS_FONT at one, "
                f"or leave it unset to use the installed one. {_HOW_TO_INSTALL}"
            )
        return _face_of(path)
    package = _package_font()
    for path in [package, *SYSTEM_FONTS] if package else SYSTEM_FONTS:
        if path.is_file():
            try:
                return _face_of(path)
            except LettersFontMissing:
                logger.warning("%s has no Traditional Chinese glyphs; trying the next font", path)
    raise LettersFontMissing(
        f"No font with Traditional Chinese glyphs for the paper letters: the package "
        f"pylopdf-fonts-zh-tw is {'there' if package else 'not installed'}, and none of "
        f"{', '.join(str(p) for p in SYSTEM_FONTS)} exists. {_HOW_TO_INSTALL}"
    )


@functools.lru_cache(maxsize=8)
def _face_of(path: Path) -> FontChoice:
    """The face of ``path`` to use: in a collection, the Traditional Chinese one (Noto Sans
    CJK TC) if named so, else the first with the probe's glyphs."""
    usable = []
    try:
        with path.open("rb") as handle:  # closed however fontTools fares with it
            collection = handle.read(4) == b"ttcf"
            handle.seek(0)
            faces = len(TTCollection(handle, lazy=True).fonts) if collection else 1
            for number in range(faces):
                font = TTFont(handle, fontNumber=number if collection else -1, lazy=True)
                cmap = font.getBestCmap() or {}
                if all(ord(char) in cmap for char in _PROBE):
                    usable.append((number, font["name"].getDebugName(1) or ""))
    except (OSError, TTLibError, KeyError, AssertionError, struct.error) as exc:
        raise LettersFontMissing(
            f"{path} is not a font fontTools can read ({exc}). {_HOW_TO_INSTALL}"
        ) from exc
    if not usable:
        raise LettersFontMissing(f"{path} has no Traditional Chinese glyphs. {_HOW_TO_INSTALL}")
    for number, family in usable:
        if family.endswith(" TC"):
            return FontChoice(path, number)
    return FontChoice(path, usable[0][0])


def truetype_subset(font: FontChoice, text: str) -> tuple[bytes, set[str]]:
    """The font cut down to the characters of ``text``, with TrueType outlines; and the
    characters of ``text`` it has no glyph for."""
    with font.path.open("rb") as handle:
        tt = TTFont(handle, fontNumber=font.number)
        cmap = tt.getBestCmap() or {}
        wanted = set(text)
        missing = {char for char in wanted if ord(char) not in cmap and char.isprintable()}
        options = ft_subset.Options()
        options.layout_features = []  # fpdf2 sets one glyph per character, unshaped
        options.drop_tables += ["GSUB", "GPOS", "GDEF", "BASE", "JSTF", "vhea", "vmtx", "VORG"]
        options.hinting = False
        options.desubroutinize = True
        options.notdef_outline = True
        options.glyph_names = True
        subsetter = ft_subset.Subsetter(options)
        subsetter.populate(text="".join(sorted(wanted)))
        subsetter.subset(tt)
        if "fvar" in tt:  # a variable font: its regular weight, static
            location = {
                axis.axisTag: 400
                if axis.axisTag == "wght" and axis.minValue <= 400 <= axis.maxValue
                else axis.defaultValue
                for axis in tt["fvar"].axes
            }
            tt = instancer.instantiateVariableFont(tt, location, static=True)
        if "CFF " in tt or "CFF2" in tt:
            _outlines_to_truetype(tt)
        return _saved(tt), missing


def _outlines_to_truetype(tt: TTFont) -> None:
    """Replace CFF outlines by TrueType ones (as fontTools' otf2ttf snippet does)."""
    order = tt.getGlyphOrder()
    glyph_set = tt.getGlyphSet()
    glyf = newTable("glyf")
    glyf.glyphOrder = order
    glyf.glyphs = {}
    for name in order:
        pen = TTGlyphPen(glyph_set)
        # Cubic to quadratic within 1 unit of 1,000 per em; TrueType winds the other way.
        glyph_set[name].draw(Cu2QuPen(pen, 1.0, reverse_direction=True))
        glyf.glyphs[name] = pen.glyph()
    for tag in ("CFF ", "CFF2", "VORG"):
        if tag in tt:
            del tt[tag]
    tt["loca"] = newTable("loca")
    tt["glyf"] = glyf
    tt.sfntVersion = "\x00\x01\x00\x00"
    maxp = tt["maxp"]
    maxp.tableVersion = 0x00010000
    maxp.maxZones = 1
    for field in (
        "maxTwilightPoints",
        "maxStorage",
        "maxFunctionDefs",
        "maxInstructionDefs",
        "maxStackElements",
        "maxSizeOfInstructions",
        "maxComponentElements",
    ):
        setattr(maxp, field, 0)
    post = tt["post"]
    post.formatType = 2.0
    post.extraNames = []
    post.mapping = {}
    post.glyphOrder = order
    tt["head"].glyphDataFormat = 0


def _saved(tt: TTFont) -> bytes:
    buffer = io.BytesIO()
    tt.save(buffer)
    return buffer.getvalue()


# The words ----------------------------------------------------------------------------------

_WEEKDAYS = "一二三四五六日"
# Not strftime's names, which follow the process's locale.
_ENGLISH_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_ENGLISH_MONTHS = (
    "January", "February", "March", "April", "May", "June", "July", "August", "September",
    "October", "November", "December",
)  # fmt: skip


def roc_long_date(day: datetime.date) -> str:
    """民國114年12月31日（星期三）: the date as a Taiwanese letter writes it."""
    return (
        f"民國{day.year - ROC_OFFSET}年{day.month}月{day.day}日（星期{_WEEKDAYS[day.weekday()]}）"
    )


def english_date(day: datetime.date) -> str:
    """Wednesday, 31 December 2025"""
    return (
        f"{_ENGLISH_WEEKDAYS[day.weekday()]}, {day.day} {_ENGLISH_MONTHS[day.month - 1]} {day.year}"
    )


@dataclasses.dataclass(frozen=True)
class _Text:
    """What a letter says, worked out once: the font's subset is cut from it too."""

    heading: str
    school: str
    greeting: tuple[str, str]
    paragraphs: tuple[tuple[str, str], ...]
    summary: tuple[str, str]
    fields: tuple[tuple[str, str], ...]
    running_head: str
    footer: str
    slip_title: str
    slip_school: str
    slip_student: str
    slip_return: str

    def strings(self) -> Iterator[str]:
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if isinstance(value, str):
                yield value
            else:
                for item in value:
                    yield from ((item,) if isinstance(item, str) else item)


def _words(letter: Letter) -> _Text:
    name = letter.student_name
    due_zh, due_en = roc_long_date(letter.answer_by), english_date(letter.answer_by)
    contact_zh = (
        f"如有疑問，請洽{letter.office}：{letter.office_contact}。" if letter.office_contact else ""
    )
    contact_en = (
        f" Questions: {letter.office}, {letter.office_contact}." if letter.office_contact else ""
    )
    silent_zh, silent_en = (
        (
            "逾期未回覆者，本校將視同您確認無誤。",
            " Without a reply by then, the receipt is taken as confirmed.",
        )
        if letter.deemed_if_silent
        else ("", "")
    )
    counts = dict.fromkeys(STATUSES, 0)
    for line in letter.lines:
        counts[line.status] += 1
    total = len(letter.lines)
    if total:
        summary = (
            f"收訖明細共 {total} 項：已收到 {counts['received']} 項、"
            f"未收到 {counts['missing']} 項、內容不符 {counts['different']} 項。",
            f"The receipt has {total} lines: {counts['received']} received, "
            f"{counts['missing']} not received, {counts['different']} different.",
        )
    else:
        summary = (
            "中央資料庫的收訖明細中沒有您的資料。",
            "The central database's receipt holds no lines for you.",
        )
    fields = [
        ("姓名 Name", name),
        ("學號 Student number", letter.student_number),
        ("班級 Class", letter.class_label or "—"),
        ("通訊地址 Address", letter.mailing_address or "—"),
    ]
    if letter.issued_on:
        fields.append(("發文日期 Date", roc_long_date(letter.issued_on)))
    student = f"{name}（學號 {letter.student_number}"
    student += f"，班級 {letter.class_label}）" if letter.class_label else "）"
    return _Text(
        heading=f"{letter.school_year}學生學習歷程檔案收訖明細確認通知",
        school=f"{letter.school_name}（學校代碼 {letter.school_code}）",
        greeting=(f"{name} 同學您好：", f"Dear {name},"),
        paragraphs=(
            (
                "本校已將您在校期間的學生學習歷程檔案資料（修課紀錄、課程學習成果、多元表現等）"
                "提交至教育部「高級中等教育階段學生學習歷程資料庫」（以下簡稱中央資料庫）。"
                "下表是中央資料庫回覆本校的收訖明細，逐項列出每一筆資料是否已經收到。"
                "由於您已離校，本校以書面方式請您確認。",
                "The school has submitted your learning portfolio records (course records, "
                "course learning outcomes, diverse performances and more) to the Ministry of "
                "Education's central database of senior-high learning portfolios. The table "
                "below is the central database's receipt: for each record it shows whether it "
                "was received. As you have left the school, we ask you to confirm it on paper.",
            ),
            (
                "請逐項核對：「已收到」表示該筆資料已存入中央資料庫；「未收到」表示中央資料庫"
                "沒有收到該筆資料；「內容不符」表示中央資料庫收到的內容與本校的紀錄不同。",
                "Please check each line. 已收到 (received): the record is in the central "
                "database. 未收到 (not received): the central database did not receive it. "
                "內容不符 (different): what it received differs from the school's record.",
            ),
            (
                "請填寫本通知最後的回條：勾選「確認無誤」，或勾選「有誤，說明如下」並寫明有誤"
                f"的項目；由您與家長（監護人）簽名後，剪下寄回或親自交回{letter.office}，"
                f"務必於{due_zh}前送達。{silent_zh}{contact_zh}",
                "Please fill in the reply slip at the end of this letter: tick 'confirmed, no "
                "errors', or tick 'there are errors' and say which lines are wrong. Sign it "
                f"with your parent or guardian, cut it off, and post it or hand it in to "
                f"{letter.office}: it must reach the school by {due_en}.{silent_en}{contact_en}",
            ),
        ),
        summary=summary,
        fields=tuple(fields),
        # Who the page is for first: a long school name is what gets cut short.
        running_head=f"{student}　收訖明細確認通知（續）　{letter.school_name}",
        footer=f"{letter.student_number} {name}　{letter.school_name}",
        slip_title="回條 Reply slip",
        slip_school=f"{letter.school_name}　{letter.school_year}學生學習歷程檔案收訖明細確認",
        slip_student=f"學生 {student}",
        slip_return=(
            f"請於{due_zh}前寄回或交回{letter.school_name}{letter.office}。"
            f"Please return by {due_en}."
        ),
    )


# Fixed words: with the letters' own, they make the font's subset.
_SECTION_HEAD = "{section}　共 {count} 項"
_COLUMNS = ("序號", "項目 Item", "收訖狀態 Status")
_PAGE = "第 {page}／{pages} 頁 Page {page} of {pages}"
_CUT = "請沿虛線剪下 Cut along the dashed line"
_TICKS = ("確認無誤 Confirmed: no errors", "有誤，說明如下 There are errors, explained below:")
_SIGNATURES = ("學生簽名 Student", "家長（監護人）簽名 Parent or guardian")
_DATE = "日期 Date：民國　　　年　　　月　　　日"
_NO_LINES = "（無資料 No lines）"
_FIXED = "".join(
    (
        _SECTION_HEAD,
        *_COLUMNS,
        _PAGE,
        _CUT,
        *_TICKS,
        *_SIGNATURES,
        _DATE,
        _NO_LINES,
        *STATUSES.values(),
        "".join(chr(code) for code in range(0x20, 0x7F)),  # ASCII: numbers, English
        "　（）：；，、。「」／—…",
        _WEEKDAYS,
    )
)

# The layout (millimetres, font sizes in points) -----------------------------------------------

FAMILY = "letters"
PT = 25.4 / 72
MARGIN_X, MARGIN_TOP, MARGIN_BOTTOM = 18.0, 15.0, 20.0
LEADING = 1.45  # line height / font size
INK, GREY, RULE = (20, 20, 20), (95, 95, 95), (160, 160, 160)
COLUMN_WIDTHS = (13.0, 121.0, 40.0)  # 序號, 項目, 收訖狀態: 174 mm, A4 less the margins
TABLE_SIZE = 9.5
CELL_PADDING = (1.2, 1.6)  # top and bottom, left and right
MAX_CELL_LINES = 36  # a longer item is split over rows, so no row is taller than a page
STATUS_STYLE = {
    "received": FontFace(color=(25, 95, 45)),
    "missing": FontFace(color=(165, 20, 20), fill_color=(252, 228, 226)),
    "different": FontFace(color=(140, 80, 0), fill_color=(255, 242, 204)),
}
SECTION_STYLE = FontFace(color=INK, fill_color=(222, 230, 240))
COLUMNS_STYLE = FontFace(color=GREY, fill_color=(244, 244, 244), size_pt=8.5)


class _Document(FPDF):
    """The PDF: a running head on the pages a letter flows onto."""

    def __init__(self) -> None:
        super().__init__(orientation="portrait", unit="mm", format="A4")
        self.running_head = ""
        self.letter_first_page = 0
        self.char_widths: dict[tuple[float, str], float] = {}  # (size, character): width

    def header(self) -> None:
        if not self.running_head or self.page == self.letter_first_page:
            return
        self.set_font(FAMILY, size=8)
        _block(self, _fit(self, self.running_head, self.epw), size=8, color=GREY)
        self.set_draw_color(*RULE)
        self.set_line_width(0.2)
        self.line(self.l_margin, self.y + 0.8, self.w - self.r_margin, self.y + 0.8)
        self.set_y(self.y + 3.5)


# Line breaking, for Chinese mixed with numbers and English: a line may break between two
# Chinese characters and at spaces, not inside a run of Latin letters and digits ("85分",
# "register@example.edu.tw" stay whole unless longer than a line), and not before a closing
# mark nor after an opening one (the 禁則 of CJK typesetting). fpdf2 breaks either at spaces
# only (WORD: a Chinese sentence would go to the next line whole) or anywhere (CHAR); so the
# text is broken here, and fpdf2 gets the lines (with CHAR as a safety net).
_CLOSING = set("，。、；：？！）」』】》〉〕,.;:?!)]}%…—")
_OPENING = set("（「『【《〈〔([{")
_WORD = re.compile(r"[0-9A-Za-z\u00C0-\u024F_@#&+*=~'\"\-./\\:]")


def _tokens(paragraph: str) -> list[str]:
    """The unbreakable pieces of ``paragraph``: spaces alone, runs of Latin letters and
    digits, single Chinese characters; closing marks joined to what they follow and opening
    marks to what follows them."""
    pieces: list[str] = []
    for char in paragraph:
        if char.isspace():
            pieces.append(char)
        elif _WORD.match(char) and pieces and _WORD.match(pieces[-1][-1]):
            pieces[-1] += char
        else:
            pieces.append(char)
    tokens: list[str] = []
    for piece in pieces:
        if (
            tokens
            and not tokens[-1][-1].isspace()
            and (piece[0] in _CLOSING or tokens[-1][-1] in _OPENING)
        ):
            tokens[-1] += piece
        else:
            tokens.append(piece)
    return tokens


def _width(pdf: _Document, text: str) -> float:
    """The width of ``text`` in the current font, from each character's (no kerning: fpdf2
    sets text unshaped), remembered per document: much faster than asking fpdf2 each time."""
    widths = pdf.char_widths
    size = pdf.font_size_pt
    total = 0.0
    for char in text:
        width = widths.get((size, char))
        if width is None:
            width = widths[size, char] = pdf.get_string_width(char)
        total += width
    return total


def wrap(pdf: _Document, text: str, width: float) -> list[str]:
    """``text`` broken into lines no wider than ``width`` in the current font."""
    width -= 0.3  # a little room, so that fpdf2 finds each line fits as it is
    lines: list[str] = []
    for paragraph in text.split("\n"):
        line, line_width = "", 0.0
        for token in _tokens(paragraph):
            token_width = _width(pdf, token)
            if token.isspace():
                if line:  # a space at the start of a line is dropped
                    line, line_width = line + token, line_width + token_width
                continue
            if line_width + token_width <= width:
                line, line_width = line + token, line_width + token_width
                continue
            if line.strip():
                lines.append(line.rstrip())
            while token_width > width:  # longer than a line: broken by characters
                cut = _longest_prefix(pdf, token, width)
                lines.append(token[:cut])
                token = token[cut:]
                token_width = _width(pdf, token)
            line, line_width = token, token_width
        lines.append(line.rstrip())
    return lines


def _longest_prefix(pdf: _Document, text: str, width: float) -> int:
    low, high = 1, len(text)  # at least one character, or nothing would move
    while low < high:
        middle = (low + high + 1) // 2
        if _width(pdf, text[:middle]) <= width:
            low = middle
        else:
            high = middle - 1
    return low


def _block(
    pdf: _Document,
    text: str,
    *,
    size: float,
    color: tuple[int, int, int] = INK,
    align: str = "L",
    width: float = 0,
    heavy: bool = False,
    measure: bool = False,
) -> float:
    """Write ``text`` wrapped to ``width`` (the rest of the line by default) from the current
    position, and go to the next line at the left margin; return its height. ``measure``
    only returns the height. ``heavy`` strokes the glyphs as well, for headings: the font
    has one weight."""
    pdf.set_font(FAMILY, size=size)
    pdf.set_text_color(*color)
    height = size * PT * LEADING
    text = "\n".join(wrap(pdf, text, width or pdf.w - pdf.r_margin - pdf.x))
    if measure:
        result = pdf.multi_cell(
            width, height, text, align=align, wrapmode=WrapMode.CHAR, dry_run=True,
            output=MethodReturnValue.HEIGHT,
        )  # fmt: skip
        assert isinstance(result, int | float)
        return float(result)
    top = pdf.y
    if heavy:
        pdf.text_mode = TextMode.FILL_STROKE
        pdf.set_draw_color(*color)
        pdf.set_line_width(size * 0.012)
    pdf.multi_cell(
        width,
        height,
        text,
        align=align,
        wrapmode=WrapMode.CHAR,
        new_x=XPos.LMARGIN,
        new_y=YPos.NEXT,
    )
    if heavy:
        pdf.text_mode = TextMode.FILL
    return pdf.y - top


def _fit(pdf: _Document, text: str, width: float) -> str:
    """``text`` cut short with an ellipsis to fit on one line of ``width`` in the current
    font: for the running heads and footers, which repeat what the first page says whole."""
    width -= 0.5  # fpdf2 wraps a line that fills the width exactly
    if pdf.get_string_width(text) <= width:
        return text
    low, high = 0, len(text)  # the longest prefix that fits with the ellipsis
    while low < high:
        middle = (low + high + 1) // 2
        if pdf.get_string_width(text[:middle] + "…") <= width:
            low = middle
        else:
            high = middle - 1
    return text[:low] + "…"


def _bilingual(
    pdf: _Document, zh: str, en: str, *, size: float = 10, measure: bool = False
) -> float:
    height = _block(pdf, zh, size=size, measure=measure)
    height += _block(pdf, en, size=size * 0.75, color=GREY, measure=measure)
    return height


def _gap(pdf: _Document, height: float) -> None:
    pdf.set_y(pdf.y + height)


def _rule(pdf: _Document, *, width: float = 0.3, color: tuple[int, int, int] = RULE) -> None:
    pdf.set_draw_color(*color)
    pdf.set_line_width(width)
    pdf.line(pdf.l_margin, pdf.y, pdf.w - pdf.r_margin, pdf.y)


def _letter(pdf: _Document, letter: Letter, words: _Text) -> None:
    pdf.running_head = ""
    pdf.add_page()
    first = pdf.letter_first_page = pdf.page
    pdf.running_head = words.running_head
    _top(pdf, words)
    _receipt(pdf, letter)
    _reply_slip(pdf, words)
    _footers(pdf, words, first, pdf.page)


def _top(pdf: _Document, words: _Text) -> None:
    _block(pdf, words.school, size=10.5, align="C")
    _gap(pdf, 1)
    _block(pdf, words.heading, size=15, align="C", heavy=True)
    _block(pdf, "Receipt of the learning portfolio: please confirm", size=9, color=GREY, align="C")
    _gap(pdf, 2.5)
    _rule(pdf, width=0.5, color=INK)
    _gap(pdf, 3)
    label_width = 36.0
    for label, value in words.fields:
        top = pdf.y
        _block(pdf, label, size=8.5, color=GREY, width=label_width)
        bottom = pdf.y
        pdf.set_xy(pdf.l_margin + label_width, top)
        _block(pdf, value, size=10.5)
        pdf.set_y(max(bottom, pdf.y) + 0.6)
    _gap(pdf, 2)
    _rule(pdf)
    _gap(pdf, 3)
    _bilingual(pdf, *words.greeting)
    _gap(pdf, 1.5)
    for zh, en in words.paragraphs:
        _bilingual(pdf, zh, en)
        _gap(pdf, 2)
    _bilingual(pdf, *words.summary)
    _gap(pdf, 3)


def _receipt(pdf: _Document, letter: Letter) -> None:
    """One table per section: the section's name and the column names head every page the
    table flows onto."""
    for section, lines in letter.sections():
        with pdf.table(
            width=pdf.epw,
            col_widths=COLUMN_WIDTHS,
            text_align=("CENTER", "LEFT", "CENTER"),
            v_align="MIDDLE",
            wrapmode=WrapMode.CHAR,
            line_height=TABLE_SIZE * PT * LEADING,
            padding=CELL_PADDING,
            num_heading_rows=2,
            repeat_headings=TableHeadingsDisplay.ON_TOP_OF_EVERY_PAGE,
            headings_style=SECTION_STYLE,
            borders_layout=TableBordersLayout.HORIZONTAL_LINES,
        ) as table:
            pdf.set_font(FAMILY, size=TABLE_SIZE)
            pdf.set_draw_color(*RULE)
            pdf.set_line_width(0.2)
            table.row(style=SECTION_STYLE).cell(
                "\n".join(
                    wrap(
                        pdf,
                        _SECTION_HEAD.format(section=section, count=len(lines)),
                        pdf.epw - 2 * CELL_PADDING[1],
                    )
                ),
                colspan=3,
                align="LEFT",
            )
            heading = table.row(style=COLUMNS_STYLE)
            for name, align in zip(_COLUMNS, ("CENTER", "LEFT", "CENTER"), strict=True):
                heading.cell(name, align=align)
            for number, line in enumerate(lines, start=1):
                word = STATUSES[line.status]
                style = STATUS_STYLE[line.status]
                for text in _cell_chunks(pdf, line.text):
                    row = table.row()
                    row.cell(str(number))  # again on the rows a long item continues on
                    row.cell(text)
                    row.cell(word, style=style)
        _gap(pdf, 3)
    if not letter.lines:
        _block(pdf, _NO_LINES, size=TABLE_SIZE, color=GREY)


def _cell_chunks(pdf: _Document, text: str) -> list[str]:
    """``text`` wrapped to the item column, in pieces of at most MAX_CELL_LINES lines:
    fpdf2 does not split a row over pages, and refuses a row taller than one."""
    pdf.set_font(FAMILY, size=TABLE_SIZE)
    lines = wrap(pdf, text, COLUMN_WIDTHS[1] - 2 * CELL_PADDING[1])
    return [
        "\n".join(lines[start : start + MAX_CELL_LINES])
        for start in range(0, len(lines), MAX_CELL_LINES)
    ]


def _reply_slip(pdf: _Document, words: _Text) -> None:
    """The reply slip, whole on one page: on the next if it does not fit on this one."""
    if pdf.will_page_break(_slip(pdf, words, measure=True) + 2):
        pdf.add_page()
    _slip(pdf, words, measure=False)


def _slip(pdf: _Document, words: _Text, *, measure: bool) -> float:
    """Draw the reply slip from the current position, or only measure it; return its height."""
    left, right = pdf.l_margin, pdf.w - pdf.r_margin
    height = 0.0

    def space(amount: float) -> None:
        nonlocal height
        height += amount
        if not measure:
            _gap(pdf, amount)

    def text(
        value: str, size: float, *, color: tuple[int, int, int] = INK, align: str = "L",
        heavy: bool = False,
    ) -> None:  # fmt: skip
        nonlocal height
        height += _block(
            pdf, value, size=size, color=color, align=align, heavy=heavy, measure=measure
        )

    space(4)
    if not measure:  # the cut line, dashed, with its words over it
        pdf.set_draw_color(*GREY)
        pdf.set_line_width(0.3)
        pdf.set_dash_pattern(dash=1.6, gap=1.2)
        pdf.line(left, pdf.y + 2, right, pdf.y + 2)
        pdf.set_dash_pattern()
        pdf.set_font(FAMILY, size=7.5)
        label_width = pdf.get_string_width(_CUT) + 6
        pdf.set_fill_color(255, 255, 255)
        pdf.set_text_color(*GREY)
        pdf.set_xy((left + right - label_width) / 2, pdf.y)
        pdf.cell(label_width, 4, _CUT, align="C", fill=True, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    height += 4
    space(4)
    text(words.slip_title, 13, align="C", heavy=True)
    text(words.slip_school, 9, color=GREY, align="C")
    space(3)
    text(words.slip_student, 10)
    space(2.5)
    box = 3.6
    for tick in _TICKS:
        if not measure:
            top = pdf.y
            pdf.set_draw_color(*INK)
            pdf.set_line_width(0.3)
            pdf.rect(left, top + 0.9, box, box)
            pdf.set_x(left + box + 2.5)
        text(tick, 10)
        space(1.5)
    for _ in range(4):  # lines to write the explanation on
        space(7.5)
        if not measure:
            pdf.set_draw_color(*RULE)
            pdf.set_line_width(0.2)
            pdf.line(left + box + 2.5, pdf.y, right, pdf.y)
    space(10)
    half = (right - left) / 2
    if not measure:
        top = pdf.y
        for index, label in enumerate(_SIGNATURES):
            x = left + index * half
            pdf.set_xy(x, top)
            _block(pdf, label, size=8.5, color=GREY, width=half - 4)
            pdf.set_draw_color(*INK)
            pdf.set_line_width(0.3)
            pdf.line(x, top + 12, x + half - 6, top + 12)
        pdf.set_xy(left, top + 14)
    height += 14
    space(3)
    text(_DATE, 10)
    space(2)
    text(words.slip_return, 8.5, color=GREY)
    return height


def _footers(pdf: _Document, words: _Text, first: int, last: int) -> None:
    """Each page of the letter: who it is for, and its page of the letter's pages (known
    only now, so written on the pages afterwards)."""
    pages = last - first + 1
    pdf.set_auto_page_break(False)
    try:
        for page in range(first, last + 1):
            pdf.page = page
            _state_anew(pdf)
            y = pdf.h - MARGIN_BOTTOM + 6
            pdf.line(pdf.l_margin, y - 1.5, pdf.w - pdf.r_margin, y - 1.5)
            number = _PAGE.format(page=page - first + 1, pages=pages)
            pdf.set_xy(pdf.w - pdf.r_margin - 50, y)
            _block(pdf, number, size=7.5, color=GREY, align="R", width=50)
            pdf.set_xy(pdf.l_margin, y)
            pdf.set_font(FAMILY, size=7.5)
            footer = _fit(pdf, words.footer, pdf.epw - 54)
            _block(pdf, footer, size=7.5, color=GREY, width=pdf.epw - 54)
    finally:
        pdf.page = last
        pdf.set_auto_page_break(True, margin=MARGIN_BOTTOM)


def _state_anew(pdf: _Document) -> None:
    """Back on an earlier page, whose content stream ends in a drawing state fpdf2 no longer
    knows: set the font, colours and line width again, so that they are written out."""
    pdf.current_font_is_set_on_page = False
    pdf.set_draw_color(0)
    pdf.set_draw_color(*RULE)
    pdf.set_line_width(0.1)
    pdf.set_line_width(0.2)
    pdf.set_fill_color(0)
    pdf.set_fill_color(255)


# The document -------------------------------------------------------------------------------


def letters_pdf(
    letters: Iterable[Letter], target: IO[bytes], *, font: FontChoice | None = None
) -> int:
    """Write one PDF with a letter per student to target; return the page count.

    ``font`` defaults to ``find_font()``: LETTERS_FONT, else the installed Noto Sans TC.
    Raises LettersFontMissing when there is no font to set the letters in.
    """
    letters = list(letters)
    if not letters:
        raise ValueError("no letters to write")
    font = font or find_font()
    texts = [_words(letter) for letter in letters]
    used = {
        *_FIXED,
        *(char for words in texts for string in words.strings() for char in string),
        *(char for letter in letters for line in letter.lines for char in line.section + line.text),
    }
    subset, missing = truetype_subset(font, "".join(used))
    if missing:
        logger.warning(
            "%s has no glyph for %s: the letters show nothing there",
            font.path,
            " ".join(sorted(missing)),
        )
    pdf = _Document()
    pdf.set_margins(MARGIN_X, MARGIN_TOP, MARGIN_X)
    pdf.set_auto_page_break(True, margin=MARGIN_BOTTOM)
    pdf.set_title("學生學習歷程檔案收訖明細確認通知")
    pdf.set_creator("portfolio-platform")
    pdf.set_lang("zh-Hant-TW")
    pdf.c_margin = 0  # text blocks start at the margin; table cells have their own padding
    with tempfile.TemporaryDirectory(prefix="letters-") as folder:
        path = Path(folder) / "letters.ttf"  # fpdf2 reads fonts from files only
        path.write_bytes(subset)
        pdf.add_font(FAMILY, "", path)
        for letter, words in zip(letters, texts, strict=True):
            _letter(pdf, letter, words)
        target.write(pdf.output())
    return pdf.pages_count
