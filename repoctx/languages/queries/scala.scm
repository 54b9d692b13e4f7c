; Scala — imports, definitions, skeleton.
; Capture vocabulary: docs/languages.md (and the repoctx.parse docstring).

; ---- imports ---------------------------------------------------------------

; import a.b.C  (the dotted path is several nodes: the capture spans them)
(import_declaration
  . ((identifier) @import.module ("." (identifier) @import.module)*)) @import.use

; import a.b.{C, D => E}  → "a.b", names ("C", "D")
(import_declaration
  . ((identifier) @import.module ("." (identifier) @import.module)*)
  (namespace_selectors
    [(identifier) @import.name
     (arrow_renamed_identifier name: (_) @import.name)])) @import.use

; import a.b._ / import a.b.*  → "a.b", names ("_",) / ("*",)
(import_declaration
  . ((identifier) @import.module ("." (identifier) @import.module)*)
  (namespace_wildcard) @import.name) @import.use
