; Lua — imports, scopes, definitions, skeleton.
; Capture vocabulary: docs/languages.md (and the repoctx.parse docstring).

; ---- imports ---------------------------------------------------------------

; require("a.b") / require "a.b" / require 'a.b'
(function_call
  name: (identifier) @_fn
  arguments: (arguments . (string content: (string_content) @import.module))
  (#eq? @_fn "require")) @import.require

; ---- scopes ----------------------------------------------------------------

[(function_declaration) (function_definition)] @scope.function
