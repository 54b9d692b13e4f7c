"""Stage 1, scanning: from a directory to a :class:`~repoctx.scanning.repo.Repo` record.

:mod:`walk` decides which files make up the repository (git-tracked plus untracked-not-ignored,
``.repoctxignore``, binary sniffing, size caps, generated/vendored/lock detection);
:mod:`workers` reads, hashes, parses and counts each file, in forked worker processes for a cold
scan; :mod:`cache` keeps those per-file facts keyed by content hash and tool version, and
:mod:`memo` remembers a whole pack for an unchanged tree; :mod:`tokens` counts exact Qwen 3.5
tokens; :mod:`history` reads git churn for ordering. :mod:`scan` orchestrates the stage and
:mod:`repo` is its result: files, parsed facts, the dependency graph, problems. Nothing here
prints; progress goes out through a callback.
"""
