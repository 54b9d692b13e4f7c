; Rust — imports, definitions, skeleton.
; Capture vocabulary: docs/languages.md (and the repoctx.parse docstring).
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
