; Scala — imports, definitions, skeleton.
; Capture vocabulary: docs/languages.md (and the repoctx.parsing.parse docstring).

; ---- imports ---------------------------------------------------------------

; import a.b.C  (the dotted path is several nodes: the capture spans them)
(import_declaration
  . ((identifier) @import.module ("." (identifier) @import.module)*)) @import.use

; import a.b.{C, D => E}  → "a.b", names ("C", "D")
(import_declaration
  . ((identifier) @import.module ("." (identifier) @import.module)*)
  (namespace_selectors
    [(identifier) @import.name
     (arrow_renamed_identifier name: (_) @import.name)])) @import.use

; import a.b._ / import a.b.*  → "a.b", names ("_",) / ("*",)
(import_declaration
  . ((identifier) @import.module ("." (identifier) @import.module)*)
  (namespace_wildcard) @import.name) @import.use

; ---- definitions and skeleton ------------------------------------------------

(package_clause) @keep

(class_definition name: (_) @name body: (template_body)? @members) @definition.class

(trait_definition name: (_) @name body: (template_body)? @members) @definition.trait

(object_definition name: (_) @name body: (template_body)? @members) @definition.object

(enum_definition name: (_) @name) @definition.enum

(type_definition name: (_) @name) @definition.type

(function_definition name: (_) @name body: (_) @body) @definition.function

(function_declaration name: (_) @name) @definition.function

(template_body [(val_definition) (var_definition) (val_declaration) (var_declaration)] @keep)
