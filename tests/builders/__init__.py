"""What tests build their data and requests with, shared by every test file (a test file
never imports another: tests/test_test_layout.py checks).

- ``people``: schools with a year, members, signed-in clients, acting contexts, English pages;
- ``files``: real small files (PDF, PNG with GPS, MP3, MP4) and what storage holds;
- ``imports``: import files (xlsx, CSV) and running an import;
- ``records``: classes, students, course codes;
- ``portfolio``: a student with courses and outcomes (``World``), performances, files served;
- ``certification``: the certification world;
- ``concurrency``: calls run at once in threads;
- ``rosters``: a term's students and courses, valid IDs and course codes, stored files with
  real bytes, a year of final selections (``SelectedYear``), a roster built to its end;
- ``worker``: a real Celery worker subprocess on the test database;
- ``central_server``: a fake central database speaking the 2018 upload protocol over HTTP;
- ``smtp``: a real SMTP server (aiosmtpd) that keeps what it receives;
- ``web``: a real gunicorn on the test database whose workers a test can kill;
- ``services``: a private redis-server and a private PostgreSQL cluster a test stops and starts;
- ``flows``: the certification world with students who sign in, for the browser flows.
"""
