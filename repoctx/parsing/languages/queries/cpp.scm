; C++ — includes, definitions, skeleton.
; Capture vocabulary: docs/languages.md (and the repoctx.parsing.parse docstring).

; ---- imports ---------------------------------------------------------------

; #include "x.h" / #include <vector>  (angle brackets → ImportRef.system)
(preproc_include path: [(string_literal) (system_lib_string)] @import.module) @import.include

; ---- definitions and skeleton ------------------------------------------------

(function_definition
  declarator: (function_declarator declarator: (_) @name)
  body: (compound_statement) @body) @definition.function

(function_definition
  declarator: [(pointer_declarator declarator: (function_declarator declarator: (_) @name))
               (reference_declarator (function_declarator declarator: (_) @name))]
  body: (compound_statement) @body) @definition.function

; `virtual ~Shape() = default;` and other bodiless definitions stay whole
(function_definition
  declarator: (function_declarator declarator: (_) @name) !body) @definition.function

; prototypes and method declarations
(declaration declarator: (function_declarator declarator: (_) @name)) @definition.function

(field_declaration declarator: (function_declarator declarator: (_) @name)) @definition.method

(class_specifier name: (_) @name body: (field_declaration_list) @members) @definition.class

(struct_specifier name: (_) @name body: (field_declaration_list) @members) @definition.struct

(union_specifier name: (_) @name body: (field_declaration_list)) @definition.union

(enum_specifier name: (_) @name body: (enumerator_list)) @definition.enum

(namespace_definition name: (_) @name body: (declaration_list) @members) @definition.namespace

(type_definition declarator: (type_identifier) @name) @definition.type

(alias_declaration name: (type_identifier) @name) @definition.type

(field_declaration_list [(field_declaration) (access_specifier)] @keep)

; nested types are declared as fields: `struct X { … };` inside a class
[(template_declaration) (field_declaration)] @wrapper

(preproc_function_def) @keep
