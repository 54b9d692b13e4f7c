; Kotlin — imports, definitions, skeleton.
; Capture vocabulary: docs/languages.md (and the repoctx.parse docstring).

; ---- imports ---------------------------------------------------------------

; import a.b.C / import a.b.C as D
(import (qualified_identifier) @import.module) @import.use

; import a.b.*  → "a.b", names ("*",)
(import (qualified_identifier) @import.module "*" @import.name) @import.use
