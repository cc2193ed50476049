"""The school records' pages, one module per office or area.

- ``affairs``: student affairs (cadre posts, clubs, attendance);
- ``consultants``: course consultants (their students, consultation records);
- ``counselling``: the counselling office (career exploration);
- ``registry``: enrolment changes and a student's history;
- ``homeroom``: the class roster;
- ``student``: a student's basic data, correction requests, the student's record for staff;
- ``courses``, ``course_enrolments``: the courses of a term, the course-code check, the
  students of a course and their grades;
- ``classes``: classes with their homeroom teachers and consultants;
- ``imports``: the record imports;
- ``kinds``: the add/edit/delete views shared by the records that are alike;
- ``lists``: what the record lists share (filters, pages, xlsx, the student columns).

Every view checks the role, then fetches through ``records.access`` (404 for "not found"
and "not yours" alike).
"""
