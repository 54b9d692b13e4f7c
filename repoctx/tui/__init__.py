"""The Textual front end (``repoctx tui``): a tree of what the model sees, a budget gauge, and a
chat whose questions reuse the once-read repository.

Importing this package is cheap; Textual loads when :mod:`repoctx.tui.app` is imported.
"""
