; JavaScript (and JSX) — imports, scopes, definitions, skeleton.
; Capture vocabulary: docs/languages.md (and the repoctx.parse docstring).

; ---- imports ---------------------------------------------------------------

(import_statement source: (string) @import.module) @import

(export_statement source: (string) @import.module) @import.reexport

; require("x") / require(`x`) with a literal specifier
(call_expression
  function: (identifier) @_fn
  arguments: (arguments . [(string) (template_string)] @import.module .)
  (#eq? @_fn "require")
  (#not-match? @import.module "\\$\\{")) @import.require

; import("x")
(call_expression
  function: (import)
  arguments: (arguments . [(string) (template_string)] @import.module)
  (#not-match? @import.module "\\$\\{")) @import.dynamic

; ---- scopes ----------------------------------------------------------------

[(function_declaration) (function_expression) (arrow_function) (method_definition)
 (generator_function_declaration) (generator_function)] @scope.function
