; Swift — imports, definitions, skeleton.
; Capture vocabulary: docs/languages.md (and the repoctx.parse docstring).

; ---- imports ---------------------------------------------------------------

; import Foundation / @testable import App / import struct Foo.Bar
(import_declaration (identifier) @import.module) @import
