; Java — imports, definitions, skeleton.
; Capture vocabulary: docs/languages.md (and the repoctx.parse docstring).

; ---- imports ---------------------------------------------------------------

; import a.b.C;
(import_declaration [(scoped_identifier) (identifier)] @import.module) @import.use

; import a.b.*;  → "a.b", names ("*",)
(import_declaration [(scoped_identifier) (identifier)] @import.module (asterisk) @import.name) @import.use

; import static a.b.C.m;  → "a.b.C", names ("m",)  (inner capture wins)
(import_declaration
  "static"
  (scoped_identifier scope: (_) @import.module name: (identifier) @import.name) .) @import.use
