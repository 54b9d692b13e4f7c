"""The pre-commit hook: refactor suggestions for the staged change, advisory by default.

:mod:`run` decides whether and how to review (settings, model choice, the time limit) and
returns an outcome; :mod:`git` reads the staged change; :mod:`prompt` builds the request (the
diff, a pack focused on the changed files, the findings schema); :mod:`job` runs it in a worker
thread and validates the findings; :mod:`install` writes or removes the git hook.
"""
