; Java — imports, definitions, skeleton.
; Capture vocabulary: docs/languages.md (and the repoctx.parsing.parse docstring).

; ---- imports ---------------------------------------------------------------

; import a.b.C;
(import_declaration [(scoped_identifier) (identifier)] @import.module) @import.use

; import a.b.*;  → "a.b", names ("*",)
(import_declaration [(scoped_identifier) (identifier)] @import.module (asterisk) @import.name) @import.use

; import static a.b.C.m;  → "a.b.C", names ("m",)  (inner capture wins)
(import_declaration
  "static"
  (scoped_identifier scope: (_) @import.module name: (identifier) @import.name) .) @import.use

; ---- definitions and skeleton ------------------------------------------------

(package_declaration) @keep

(class_declaration name: (identifier) @name body: (class_body) @members) @definition.class

(record_declaration name: (identifier) @name body: (class_body) @members) @definition.record

(interface_declaration
  name: (identifier) @name body: (interface_body) @members) @definition.interface

; enums and annotation types stay whole
(enum_declaration name: (identifier) @name) @definition.enum

(annotation_type_declaration name: (identifier) @name) @definition.interface

(method_declaration name: (identifier) @name body: (block)? @body) @definition.method

(constructor_declaration
  name: (identifier) @name body: (constructor_body) @body) @definition.method

(class_body (field_declaration) @keep)
(interface_body (constant_declaration) @keep)
