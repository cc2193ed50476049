"""What offices keep about students: enrolment, courses and grades, and the records of
the registry, curriculum, student-affairs, counselling and consultant staff."""

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from accounts.models import Division, Role
from portfolio.crypto import EncryptedTextField, keyed_hash
from portfolio.lib import national_id
from portfolio.models import GRADE_CHOICES, School, SchoolYear, Term


class SchoolClassQuerySet(models.QuerySet):
    def for_school(self, school: School) -> "SchoolClassQuerySet":
        return self.filter(school=school)


class SchoolClass(models.Model):
    school = models.ForeignKey(School, on_delete=models.CASCADE, related_name="classes")
    school_year = models.ForeignKey(SchoolYear, on_delete=models.CASCADE, related_name="classes")
    name = models.CharField(_("class"), max_length=20)
    grade = models.PositiveSmallIntegerField(_("grade"), choices=GRADE_CHOICES)
    division = models.CharField(
        _("division"), max_length=16, choices=Division.choices, default=Division.DAY
    )
    homeroom_teacher = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="homeroom_classes",
        verbose_name=_("homeroom teacher"),
    )
    consultants = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        blank=True,
        related_name="consulted_classes",
        verbose_name=_("course consultants"),
    )

    objects = SchoolClassQuerySet.as_manager()

    class Meta:
        ordering = ["school_year", "grade", "name"]
        verbose_name = _("class")
        constraints = [
            models.UniqueConstraint(
                fields=["school_year", "division", "name"], name="unique_class_name"
            )
        ]

    def __str__(self) -> str:
        return self.name


class Gender(models.TextChoices):
    MALE = "1", _("Male")
    FEMALE = "2", _("Female")


class StudentStatus(models.TextChoices):
    ENROLLED = "enrolled", _("Enrolled")
    SUSPENDED = "suspended", _("Suspended")
    TRANSFERRED_OUT = "transferred_out", _("Transferred out")
    GRADUATED = "graduated", _("Graduated")


class StudentQuerySet(models.QuerySet):
    def for_school(self, school: School) -> "StudentQuerySet":
        return self.filter(school=school)

    def with_national_id(self, value: str) -> "StudentQuerySet":
        return self.filter(national_id_hash=keyed_hash(national_id.normalize(value)))


class Student(models.Model):
    school = models.ForeignKey(School, on_delete=models.CASCADE, related_name="students")
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="student",
    )
    student_number = models.CharField(_("student number"), max_length=20)
    name = models.CharField(_("name"), max_length=100)
    school_class = models.ForeignKey(
        SchoolClass,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="students",
        verbose_name=_("class"),
    )
    seat_number = models.PositiveSmallIntegerField(
        _("seat number"),
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(99)],
    )

    # Encrypted at rest; found through the keyed hash; shown masked except to registry.
    national_id = EncryptedTextField(_("national ID"), blank=True)
    national_id_hash = models.CharField(max_length=64, blank=True, db_index=True, editable=False)
    gender = models.CharField(_("gender"), max_length=1, choices=Gender.choices, blank=True)
    birth_date = models.DateField(_("date of birth"), null=True, blank=True)
    department_code = models.CharField(_("department/program code"), max_length=10, blank=True)
    status = models.CharField(
        _("enrolment status"),
        max_length=20,
        choices=StudentStatus.choices,
        default=StudentStatus.ENROLLED,
    )

    objects = StudentQuerySet.as_manager()

    class Meta:
        ordering = ["school_class__name", "seat_number", "student_number"]
        constraints = [
            models.UniqueConstraint(
                fields=["school", "student_number"], name="unique_student_number"
            ),
            models.UniqueConstraint(
                fields=["school", "national_id_hash"],
                condition=~models.Q(national_id_hash=""),
                name="unique_student_national_id",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.student_number} {self.name}"

    @property
    def is_enrolled(self) -> bool:
        return self.status == StudentStatus.ENROLLED

    @property
    def national_id_masked(self) -> str:
        return national_id.mask(self.national_id) if self.national_id else ""


class EnrolmentChangeKind(models.TextChoices):
    TRANSFER_IN = "transfer_in", _("Transfer in")
    TRANSFER_OUT = "transfer_out", _("Transfer out")
    REPEAT = "repeat", _("Repeat a year")
    SUSPEND = "suspend", _("Suspend")
    RESUME = "resume", _("Resume")
    BORROWED = "borrowed", _("Borrowed study")
    GRADUATE = "graduate", _("Graduate")


class EnrolmentChange(models.Model):
    """A dated change of a student's enrolment (學籍異動)."""

    school = models.ForeignKey(School, on_delete=models.CASCADE, related_name="+")
    student = models.ForeignKey(Student, on_delete=models.CASCADE, related_name="changes")
    kind = models.CharField(_("change"), max_length=20, choices=EnrolmentChangeKind.choices)
    effective_on = models.DateField(_("effective date"))
    note = models.CharField(_("note"), max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["effective_on", "id"]

    def __str__(self) -> str:
        return f"{self.student} {self.get_kind_display()} {self.effective_on}"


class Course(models.Model):
    """A course offered in a term: its 23-character code, name, grade, credits, teachers."""

    school = models.ForeignKey(School, on_delete=models.CASCADE, related_name="courses")
    term = models.ForeignKey(Term, on_delete=models.CASCADE, related_name="courses")
    code = models.CharField(_("course code"), max_length=23)
    section = models.CharField(
        _("section"),
        max_length=30,
        blank=True,
        help_text=_("The class or group the course is offered to, when one code has several."),
    )
    name = models.CharField(_("subject name"), max_length=100)
    grade = models.PositiveSmallIntegerField(_("grade offered"), choices=GRADE_CHOICES)
    credits = models.PositiveSmallIntegerField(_("credits"), validators=[MaxValueValidator(30)])
    teachers = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        blank=True,
        related_name="courses_taught",
        verbose_name=_("teachers"),
    )
    changed_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["term", "code", "section"]
        constraints = [
            models.UniqueConstraint(fields=["term", "code", "section"], name="unique_course_offer")
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.code}{' ' + self.section if self.section else ''})"


class CourseEnrolment(models.Model):
    """A student taking a course (修課紀錄), with the term grade once it is known."""

    school = models.ForeignKey(School, on_delete=models.CASCADE, related_name="+")
    student = models.ForeignKey(Student, on_delete=models.CASCADE, related_name="enrolments")
    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="enrolments")
    score = models.DecimalField(
        _("term score"),
        max_digits=5,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(0), MaxValueValidator(100)],
    )
    passed = models.BooleanField(_("passed"), null=True, blank=True)
    makeup_score = models.DecimalField(
        _("make-up score"),
        max_digits=5,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(0), MaxValueValidator(100)],
    )
    makeup_passed = models.BooleanField(_("make-up passed"), null=True, blank=True)
    counts_credit = models.CharField(_("credit counted (code)"), max_length=1, blank=True)
    description = models.CharField(_("qualitative description"), max_length=500, blank=True)

    class Meta:
        ordering = ["course__code"]
        constraints = [
            models.UniqueConstraint(fields=["student", "course"], name="unique_course_enrolment")
        ]

    def __str__(self) -> str:
        return f"{self.student} · {self.course}"


class CadreLevel(models.TextChoices):
    SCHOOL = "1", _("School")
    CLASS = "2", _("Class")
    CLUB = "3", _("Club")
    PRACTICUM = "4", _("Practicum")
    OTHER = "5", _("Other")


class CadrePost(models.Model):
    """A cadre post (幹部經歷) held in a term, as student affairs records it."""

    school = models.ForeignKey(School, on_delete=models.CASCADE, related_name="+")
    student = models.ForeignKey(Student, on_delete=models.CASCADE, related_name="cadre_posts")
    term = models.ForeignKey(Term, on_delete=models.CASCADE, related_name="+")
    unit = models.CharField(_("unit"), max_length=100)
    title = models.CharField(_("post"), max_length=100)
    level = models.CharField(_("level"), max_length=1, choices=CadreLevel.choices)
    starts_on = models.DateField(_("from"))
    ends_on = models.DateField(_("until"))

    class Meta:
        ordering = ["starts_on", "id"]

    def __str__(self) -> str:
        return f"{self.student} · {self.unit} {self.title}"


class Club(models.Model):
    school = models.ForeignKey(School, on_delete=models.CASCADE, related_name="clubs")
    school_year = models.ForeignKey(SchoolYear, on_delete=models.CASCADE, related_name="+")
    name = models.CharField(_("club"), max_length=100)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["school_year", "name"], name="unique_club_name")
        ]

    def __str__(self) -> str:
        return self.name


class ClubMembership(models.Model):
    school = models.ForeignKey(School, on_delete=models.CASCADE, related_name="+")
    club = models.ForeignKey(Club, on_delete=models.CASCADE, related_name="memberships")
    student = models.ForeignKey(Student, on_delete=models.CASCADE, related_name="club_memberships")
    term = models.ForeignKey(Term, on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["club", "student", "term"], name="unique_club_member")
        ]

    def __str__(self) -> str:
        return f"{self.student} · {self.club}"


class AbsenceKind(models.TextChoices):
    OFFICIAL = "01", _("Official leave")
    PERSONAL = "02", _("Personal leave")
    SICK = "03", _("Sick leave")
    MARRIAGE = "04", _("Marriage leave")
    PRENATAL = "05", _("Prenatal leave")
    MATERNITY = "06", _("Maternity leave")
    PATERNITY = "07", _("Paternity leave")
    MISCARRIAGE = "08", _("Miscarriage leave")
    PARENTAL = "09", _("Parental leave")
    MENSTRUAL = "10", _("Menstrual leave")
    BEREAVEMENT = "11", _("Bereavement leave")
    TRUANCY = "12", _("Truancy")


class AttendanceSummary(models.Model):
    """Periods of one kind of absence a student had in a term."""

    school = models.ForeignKey(School, on_delete=models.CASCADE, related_name="+")
    student = models.ForeignKey(Student, on_delete=models.CASCADE, related_name="attendance")
    term = models.ForeignKey(Term, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(_("kind"), max_length=2, choices=AbsenceKind.choices)
    periods = models.PositiveSmallIntegerField(_("periods"))

    class Meta:
        ordering = ["term", "kind"]
        constraints = [
            models.UniqueConstraint(
                fields=["student", "term", "kind"], name="unique_attendance_kind"
            )
        ]

    def __str__(self) -> str:
        return f"{self.student} · {self.get_kind_display()} {self.periods}"


class Consultation(models.Model):
    """A course consultant's record of a consultation (諮詢紀錄)."""

    school = models.ForeignKey(School, on_delete=models.CASCADE, related_name="+")
    student = models.ForeignKey(Student, on_delete=models.CASCADE, related_name="consultations")
    consultant = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("consultant"),
    )
    held_at = models.DateTimeField(_("date and time"))
    place = models.CharField(_("place"), max_length=100)
    content = models.TextField(_("content"))
    advice = models.TextField(_("advice"), blank=True)

    class Meta:
        ordering = ["-held_at"]

    def __str__(self) -> str:
        return f"{self.student} · {self.held_at:%Y-%m-%d %H:%M}"


class Cluster(models.TextChoices):
    """The 18 academic clusters (學群)."""

    INFORMATION = "01", _("Information")
    ENGINEERING = "02", _("Engineering")
    MATH_PHYSICS_CHEMISTRY = "03", _("Mathematics, physics and chemistry")
    MEDICINE_HEALTH = "04", _("Medicine and health")
    LIFE_SCIENCE = "05", _("Life science")
    BIO_RESOURCES = "06", _("Biological resources")
    EARTH_ENVIRONMENT = "07", _("Earth and environment")
    ARCHITECTURE_DESIGN = "08", _("Architecture and design")
    ARTS = "09", _("Arts")
    SOCIAL_PSYCHOLOGY = "10", _("Society and psychology")
    MASS_COMMUNICATION = "11", _("Mass communication")
    FOREIGN_LANGUAGES = "12", _("Foreign languages")
    LITERATURE_HISTORY_PHILOSOPHY = "13", _("Literature, history and philosophy")
    EDUCATION = "14", _("Education")
    LAW_POLITICS = "15", _("Law and politics")
    MANAGEMENT = "16", _("Management")
    FINANCE_ECONOMICS = "17", _("Finance and economics")
    RECREATION_SPORTS = "18", _("Recreation and sports")


class CareerExploration(models.Model):
    """The counselling office's record of a student's career exploration (學群探索)."""

    school = models.ForeignKey(School, on_delete=models.CASCADE, related_name="+")
    student = models.ForeignKey(Student, on_delete=models.CASCADE, related_name="career_records")
    counsellor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("counsellor"),
    )
    held_on = models.DateField(_("date"))
    clusters = models.JSONField(_("academic clusters"), default=list)
    content = models.TextField(_("exploration and plans"))

    class Meta:
        ordering = ["-held_on", "-id"]

    def __str__(self) -> str:
        return f"{self.student} · {self.held_on}"

    @property
    def cluster_names(self) -> list[str]:
        """The clusters explored, by name (an unknown code as it is)."""
        labels = dict(Cluster.choices)
        return [str(labels.get(code, code)) for code in self.clusters]


class CorrectionStatus(models.TextChoices):
    OPEN = "open", _("Open")
    RESOLVED = "resolved", _("Resolved")


CORRECTION_OFFICES = [Role.REGISTRY, Role.CURRICULUM, Role.STUDENT_AFFAIRS, Role.COUNSELLOR]


class CorrectionRequest(models.Model):
    """A student's request to correct their basic data, answered by the office in charge."""

    school = models.ForeignKey(School, on_delete=models.CASCADE, related_name="+")
    student = models.ForeignKey(Student, on_delete=models.CASCADE, related_name="corrections")
    office = models.CharField(
        _("office"), max_length=32, choices=[(r.value, r.label) for r in CORRECTION_OFFICES]
    )
    topic = models.CharField(_("what is wrong"), max_length=100)
    message = models.TextField(_("details"))
    status = models.CharField(
        max_length=10, choices=CorrectionStatus.choices, default=CorrectionStatus.OPEN
    )
    reply = models.TextField(_("reply"), blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    resolved_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.student} · {self.topic}"

    @property
    def is_open(self) -> bool:
        return self.status == CorrectionStatus.OPEN

    @property
    def is_resolved(self) -> bool:
        return self.status == CorrectionStatus.RESOLVED


class CourseCodeList(models.Model):
    """The official course-code list of a term, uploaded from the national course-plan
    platform (TXT or CSV); the course-code check compares the school's courses with it."""

    school = models.ForeignKey(School, on_delete=models.CASCADE, related_name="+")
    term = models.ForeignKey(Term, on_delete=models.CASCADE, related_name="code_lists")
    file_name = models.CharField(max_length=200)
    codes = models.JSONField(default=list)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    uploaded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-uploaded_at"]

    def __str__(self) -> str:
        return f"{self.term} · {self.file_name}"


class CodeCheckState(models.TextChoices):
    """Where a term's course-code check stands (``course_code_check_status``)."""

    NOT_RUN = "not_run", _("Not run yet")
    OVERDUE = "overdue", _("Overdue")
    OUTDATED = "outdated", _("Run again")
    FAILED = "failed", _("Codes to fix")
    LATE = "late", _("Passed (late)")
    OK = "ok", _("Passed")

    @property
    def tone(self) -> str:
        """The chip's colour class, which the words always accompany."""
        if self in (CodeCheckState.OK, CodeCheckState.LATE):
            return "open"
        return "scheduled" if self == CodeCheckState.NOT_RUN else "closed"


class CourseCodeCheck(models.Model):
    """One run of the course-code check (課程代碼比對) for a term, with its findings."""

    school = models.ForeignKey(School, on_delete=models.CASCADE, related_name="+")
    term = models.ForeignKey(Term, on_delete=models.CASCADE, related_name="code_checks")
    code_list = models.ForeignKey(
        CourseCodeList, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    ran_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    ran_at = models.DateTimeField()
    courses_checked = models.PositiveIntegerField(default=0)
    findings = models.JSONField(default=list)

    class Meta:
        ordering = ["-ran_at"]

    def __str__(self) -> str:
        return f"{self.term} · {self.ran_at:%Y-%m-%d %H:%M}"

    @property
    def passed(self) -> bool:
        """Warnings (a note the school should read) do not fail a run; errors do."""
        return not any(f.get("severity", "error") == "error" for f in self.findings)
