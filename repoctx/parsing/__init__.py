"""Stage 2, parsing: one file's bytes to its imports, definitions and signature skeleton.

:mod:`parse` runs tree-sitter with the language's query file (``languages/queries/*.scm``:
languages are data, see :mod:`repoctx.parsing.languages`) and returns a
:class:`~repoctx.types.ParsedFile`; :mod:`skeleton` chooses which definitions the signature
skeleton keeps and :mod:`skeleton_text` slices their text out of the source. Grammar wheels are
imported only when a file of their language is parsed.
"""
