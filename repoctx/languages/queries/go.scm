; Go — imports, definitions, skeleton.
; Capture vocabulary: docs/languages.md (and the repoctx.parse docstring).

; ---- imports ---------------------------------------------------------------

; import "fmt" / import ( f "os"; _ "embed"; . "strings" ) — one ImportRef per spec
(import_spec
  path: [(interpreted_string_literal) (raw_string_literal)] @import.module) @import
