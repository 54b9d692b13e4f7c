; Python — imports, scopes, definitions, skeleton.
; Capture vocabulary: docs/languages.md (and the repoctx.parsing.parse docstring).

; ---- imports ---------------------------------------------------------------

(import_statement
  name: [(dotted_name) @import.module
         (aliased_import name: (dotted_name) @import.module)]) @import

(import_from_statement module_name: (_) @import.module) @import

(import_from_statement
  module_name: (_) @import.module
  name: [(dotted_name) @import.name
         (aliased_import name: (dotted_name) @import.name)]) @import

(import_from_statement module_name: (_) @import.module (wildcard_import) @import.name) @import

; importlib.import_module("pkg.mod") / __import__("pkg") with a literal name
(call
  function: (attribute object: (identifier) @_obj attribute: (identifier) @_fn)
  arguments: (argument_list . (string . (string_start) . (string_content) @import.module . (string_end)))
  (#eq? @_obj "importlib")
  (#eq? @_fn "import_module")) @import.dynamic

(call
  function: (identifier) @_fn
  arguments: (argument_list . (string . (string_start) . (string_content) @import.module . (string_end)))
  (#eq? @_fn "__import__")) @import.dynamic

; ---- scopes ----------------------------------------------------------------

[(function_definition) (lambda)] @scope.function

(if_statement
  condition: [(identifier) @_tc (attribute attribute: (identifier) @_tc)]
  consequence: (block) @scope.type_checking
  (#eq? @_tc "TYPE_CHECKING"))

; ---- definitions and skeleton ------------------------------------------------

(function_definition name: (identifier) @name body: (block) @body) @definition.function

(function_definition
  name: (identifier) @name
  body: (block . (expression_statement (string)) @doc)) @definition.function

(class_definition name: (identifier) @name body: (block) @members) @definition.class

(class_definition
  name: (identifier) @name
  body: (block . (expression_statement (string)) @doc)) @definition.class

(decorated_definition) @wrapper

; class attributes and dataclass fields: `x: int = 0`, `RED = 1`
(class_definition body: (block (expression_statement (assignment)) @keep))

; the module docstring
(module . (expression_statement (string)) @doc)
