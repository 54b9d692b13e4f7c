; Rust — imports, definitions, skeleton.
; Capture vocabulary: docs/languages.md (and the repoctx.parsing.parse docstring).
; No @scope.function: a `use` inside a fn is still a compile-time, module-level dependency.

; ---- imports ---------------------------------------------------------------

; mod x;  (a file module; `mod x { … }` is inline and imports nothing)
(mod_item name: (identifier) @import.module !body) @import.mod

; use crate::a::b; use super::x; use crate::a::{b, c};  (use trees stay raw)
(use_declaration argument: (_) @import.module) @import

; use a::b as c;  → "a::b" (the inner capture wins over the whole clause)
(use_declaration argument: (use_as_clause path: (_) @import.module)) @import

; pub use … / pub(crate) use …
(use_declaration (visibility_modifier) argument: (_) @import.module) @import.reexport

(use_declaration
  (visibility_modifier)
  argument: (use_as_clause path: (_) @import.module)) @import.reexport

(extern_crate_declaration name: (identifier) @import.module) @import

; ---- definitions and skeleton ------------------------------------------------

(function_item name: (identifier) @name body: (block) @body) @definition.function

(function_signature_item name: (identifier) @name) @definition.function

(struct_item name: (type_identifier) @name) @definition.struct

(union_item name: (type_identifier) @name) @definition.union

(enum_item name: (type_identifier) @name) @definition.enum

(type_item name: (type_identifier) @name) @definition.type

(trait_item name: (type_identifier) @name body: (declaration_list) @members) @definition.trait

(impl_item type: (_) @name body: (declaration_list) @members) @definition.impl

(mod_item name: (identifier) @name body: (declaration_list) @members) @definition.module

; macro_rules! — long bodies shrink to their first line
(macro_definition) @keep

; //! crate and module docs
(line_comment inner: (inner_doc_comment_marker)) @doc
