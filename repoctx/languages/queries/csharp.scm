; C# — imports, definitions, skeleton.
; Capture vocabulary: docs/languages.md (and the repoctx.parse docstring).

; ---- imports ---------------------------------------------------------------

; using A.B; using static A.B.C; global using A;
(using_directive !name [(qualified_name) (identifier)] @import.module) @import.use

; using X = A.B;  → "A.B"
(using_directive name: (_) "=" . (_) @import.module) @import.use
