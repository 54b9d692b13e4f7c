; C — includes, definitions, skeleton.
; Capture vocabulary: docs/languages.md (and the repoctx.parsing.parse docstring).

; ---- imports ---------------------------------------------------------------

; #include "x.h" / #include <x.h>  (angle brackets → ImportRef.system)
(preproc_include path: [(string_literal) (system_lib_string)] @import.module) @import.include

; ---- definitions and skeleton ------------------------------------------------

(function_definition
  declarator: (function_declarator declarator: (identifier) @name)
  body: (compound_statement) @body) @definition.function

(function_definition
  declarator: (pointer_declarator
    declarator: [(function_declarator declarator: (identifier) @name)
                 (pointer_declarator declarator: (function_declarator declarator: (identifier) @name))])
  body: (compound_statement) @body) @definition.function

; prototypes: a header's skeleton is its declarations
(declaration
  declarator: (function_declarator declarator: (identifier) @name)) @definition.function

(declaration
  declarator: (pointer_declarator
    declarator: [(function_declarator declarator: (identifier) @name)
                 (pointer_declarator declarator: (function_declarator declarator: (identifier) @name))]
  )) @definition.function

; structs, unions, enums and typedefs stay whole
(struct_specifier name: (type_identifier) @name body: (field_declaration_list)) @definition.struct

(union_specifier name: (type_identifier) @name body: (field_declaration_list)) @definition.union

(enum_specifier name: (type_identifier) @name body: (enumerator_list)) @definition.enum

(type_definition declarator: (type_identifier) @name) @definition.type

; function-like macros are API too (long ones shrink to their first line)
(preproc_function_def) @keep
