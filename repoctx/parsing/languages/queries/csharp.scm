; C# — imports, definitions, skeleton.
; Capture vocabulary: docs/languages.md (and the repoctx.parsing.parse docstring).

; ---- imports ---------------------------------------------------------------

; using A.B; using static A.B.C; global using A;
(using_directive !name [(qualified_name) (identifier)] @import.module) @import.use

; using X = A.B;  → "A.B"
(using_directive name: (_) "=" . (_) @import.module) @import.use

; ---- definitions and skeleton ------------------------------------------------

(namespace_declaration name: (_) @name body: (declaration_list) @members) @definition.namespace

(file_scoped_namespace_declaration) @keep

(class_declaration name: (identifier) @name body: (declaration_list) @members) @definition.class

(struct_declaration name: (identifier) @name body: (declaration_list) @members) @definition.struct

(interface_declaration
  name: (identifier) @name body: (declaration_list) @members) @definition.interface

(record_declaration name: (identifier) @name body: (declaration_list)? @members) @definition.record

(enum_declaration name: (identifier) @name) @definition.enum

(delegate_declaration name: (identifier) @name) @definition.type

; `body` is a block, an `=> expr` clause, or absent (abstract/interface members)
[(method_declaration name: (identifier) @name body: (_)? @body)
 (constructor_declaration name: (identifier) @name body: (_)? @body)
 (destructor_declaration name: (identifier) @name body: (_)? @body)
 (operator_declaration body: (_)? @body)] @definition.method

(declaration_list
  [(field_declaration) (property_declaration) (event_field_declaration) (event_declaration)
   (indexer_declaration)] @keep)
