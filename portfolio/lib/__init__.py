"""Pure helpers that know nothing of requests: ROC dates, checks, parsing."""
