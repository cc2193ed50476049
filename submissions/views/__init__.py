"""The pages of what students submit, one module per area.

- ``outcomes``: the student's portfolio page and course outcomes (add, edit, replace,
  withdraw, send for certification);
- ``performances``: diverse performances, the student's own and those the offices enter;
- ``extensions``: upload windows the registry opens late for one student;
- ``export``: a student's whole portfolio as a zip;
- ``files``: stored files, downloaded or previewed by whoever may open them.

Objects are fetched through ``submissions.access`` (404 for "not found" and "not yours").
"""
