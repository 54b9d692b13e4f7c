; Lua — imports, scopes, definitions, skeleton.
; Capture vocabulary: docs/languages.md (and the repoctx.parsing.parse docstring).

; ---- imports ---------------------------------------------------------------

; require("a.b") / require "a.b" / require 'a.b'
(function_call
  name: (identifier) @_fn
  arguments: (arguments . (string content: (string_content) @import.module))
  (#eq? @_fn "require")) @import.require

; ---- scopes ----------------------------------------------------------------

[(function_declaration) (function_definition)] @scope.function

; ---- definitions and skeleton ------------------------------------------------

; function f() … end / local function f() … end / function M.f() / function M:m()
(function_declaration name: (_) @name body: (block)? @body) @definition.function

; M.f = function(…) … end
(assignment_statement
  (variable_list name: (_) @name)
  (expression_list value: (function_definition body: (block)? @body))) @definition.function

; what the module hands out
(chunk (return_statement) @keep)
