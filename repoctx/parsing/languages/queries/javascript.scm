; JavaScript (and JSX) — imports, scopes, definitions, skeleton.
; Capture vocabulary: docs/languages.md (and the repoctx.parsing.parse docstring).

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

; ---- definitions and skeleton ------------------------------------------------

(function_declaration name: (identifier) @name body: (statement_block) @body) @definition.function

(generator_function_declaration
  name: (identifier) @name body: (statement_block) @body) @definition.function

(class_declaration name: (identifier) @name body: (class_body) @members) @definition.class

(method_definition name: (_) @name body: (statement_block) @body) @definition.method

; const f = (a) => { … };  const g = function () { … };
(lexical_declaration
  (variable_declarator
    name: (identifier) @name
    value: [(arrow_function body: (_) @body)
            (function_expression body: (_) @body)])) @definition.function

(variable_declaration
  (variable_declarator
    name: (identifier) @name
    value: [(arrow_function body: (_) @body)
            (function_expression body: (_) @body)])) @definition.function

; exports.f = function () { … };  Foo.prototype.bar = (…) => …;
(expression_statement
  (assignment_expression
    left: (member_expression property: (property_identifier) @name)
    right: [(arrow_function body: (_) @body)
            (function_expression body: (_) @body)])) @definition.function

; const Memo = memo((props) => { … });  the first argument of a wrapping call
(lexical_declaration
  (variable_declarator
    name: (identifier) @name
    value: (call_expression
      arguments: (arguments . [(arrow_function body: (_) @body)
                               (function_expression body: (_) @body)])))) @definition.function

(class_body (field_definition) @keep)

(export_statement) @wrapper
