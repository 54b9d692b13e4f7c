; TypeScript — imports, scopes, definitions, skeleton. tsx.scm inherits this file.
; Capture vocabulary: docs/languages.md (and the repoctx.parse docstring).
; When two patterns give the same statement different kinds, the later pattern wins.

; ---- imports ---------------------------------------------------------------

(import_statement source: (string) @import.module) @import

(export_statement source: (string) @import.module) @import.reexport

; import type {A} from "x" / export type {A} from "x"
(import_statement "type" source: (string) @import.module) @import.type

(export_statement "type" source: (string) @import.module) @import.type

; import x = require("y")
(import_statement (import_require_clause source: (string) @import.module)) @import

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
