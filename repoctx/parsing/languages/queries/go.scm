; Go — imports, definitions, skeleton.
; Capture vocabulary: docs/languages.md (and the repoctx.parsing.parse docstring).

; ---- imports ---------------------------------------------------------------

; import "fmt" / import ( f "os"; _ "embed"; . "strings" ) — one ImportRef per spec
(import_spec
  path: [(interpreted_string_literal) (raw_string_literal)] @import.module) @import

; ---- definitions and skeleton ------------------------------------------------

(package_clause) @keep

(function_declaration name: (identifier) @name body: (block)? @body) @definition.function

(method_declaration name: (field_identifier) @name body: (block)? @body) @definition.method

; type declarations stay whole: a struct's fields and an interface's methods are its signature
(type_declaration [(type_spec name: (type_identifier) @name)
                   (type_alias name: (type_identifier) @name)]) @definition.type

(type_declaration (type_spec name: (type_identifier) @name type: (struct_type))) @definition.struct

(type_declaration
  (type_spec name: (type_identifier) @name type: (interface_type))) @definition.interface
