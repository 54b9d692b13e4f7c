; Ruby — imports, scopes, definitions, skeleton.
; Capture vocabulary: docs/languages.md (and the repoctx.parse docstring).

; ---- imports ---------------------------------------------------------------

; require "json"  (load-path relative)
(call
  method: (identifier) @_fn
  arguments: (argument_list . (string . (string_content) @import.module .) .)
  (#eq? @_fn "require")) @import.require

; require_relative "../lib/x"  → "../lib/x";  require_relative "x" → "./x"
(call
  method: (identifier) @_fn
  arguments: (argument_list . (string . (string_content) @import.relative .) .)
  (#eq? @_fn "require_relative")) @import.require

; ---- scopes ----------------------------------------------------------------

[(method) (singleton_method) (lambda)] @scope.function
