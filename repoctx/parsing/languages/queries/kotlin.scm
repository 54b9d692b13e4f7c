; Kotlin — imports, definitions, skeleton.
; Capture vocabulary: docs/languages.md (and the repoctx.parsing.parse docstring).

; ---- imports ---------------------------------------------------------------

; import a.b.C / import a.b.C as D
(import (qualified_identifier) @import.module) @import.use

; import a.b.*  → "a.b", names ("*",)
(import (qualified_identifier) @import.module "*" @import.name) @import.use

; ---- definitions and skeleton ------------------------------------------------
; General patterns first: a later pattern's kind wins, and body/members captures merge in.

(package_header) @keep

(class_declaration name: (identifier) @name) @definition.class

(class_declaration name: (identifier) @name (class_body) @members) @definition.class

(class_declaration "interface" name: (identifier) @name) @definition.interface

; enum classes stay whole
(class_declaration name: (identifier) @name (enum_class_body)) @definition.enum

(object_declaration name: (identifier) @name (class_body) @members) @definition.object

(companion_object (class_body) @members) @definition.object

; fun f() { … }  /  fun f() = expr  /  abstract fun f()
(function_declaration name: (identifier) @name) @definition.function

(function_declaration name: (identifier) @name (function_body (block) @body)) @definition.function

(function_declaration name: (identifier) @name (function_body "=") @body) @definition.function

(type_alias type: (identifier) @name) @definition.type

(class_body (property_declaration) @keep)
