; Swift — imports, definitions, skeleton.
; Capture vocabulary: docs/languages.md (and the repoctx.parsing.parse docstring).

; ---- imports ---------------------------------------------------------------

; import Foundation / @testable import App / import struct Foo.Bar
(import_declaration (identifier) @import.module) @import

; ---- definitions and skeleton ------------------------------------------------
; class, struct, enum, extension and actor all parse as class_declaration; the kind
; comes from the keyword (a later pattern's kind wins over the general one).

(class_declaration name: (_) @name body: [(class_body) (enum_class_body)] @members) @definition.class

(class_declaration declaration_kind: "struct" name: (_) @name) @definition.struct

(class_declaration declaration_kind: "enum" name: (_) @name) @definition.enum

(class_declaration declaration_kind: "extension" name: (_) @name) @definition.extension

(class_declaration declaration_kind: "actor" name: (_) @name) @definition.class

; protocols stay whole: their requirements are signatures
(protocol_declaration name: (_) @name) @definition.protocol

(function_declaration name: (simple_identifier) @name body: (function_body)? @body) @definition.function

(init_declaration name: "init" @name body: (function_body)? @body) @definition.method

(deinit_declaration body: (function_body) @body) @definition.method

(typealias_declaration name: (_) @name) @definition.type

(class_body (property_declaration) @keep)

(enum_class_body [(property_declaration) (enum_entry)] @keep)
