; C++ — includes, definitions, skeleton.
; Capture vocabulary: docs/languages.md (and the repoctx.parse docstring).

; ---- imports ---------------------------------------------------------------

; #include "x.h" / #include <vector>  (angle brackets → ImportRef.system)
(preproc_include path: [(string_literal) (system_lib_string)] @import.module) @import.include
