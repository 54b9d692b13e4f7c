"""The whole-repo review: a repository too large for one context, reviewed part by part.

:mod:`job` runs it: the packing plan's parts are reviewed (:mod:`run`, with prompts from
:mod:`prompts`), their findings reduced to digests and merged in one or more passes
(:mod:`merge`, :mod:`merge_pass`), and every part's answer is kept in :mod:`store` so an
interrupted review resumes where it stopped. Events go out as a stream; nothing here prints.
"""
