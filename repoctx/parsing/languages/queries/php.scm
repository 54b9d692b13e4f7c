; PHP — imports, scopes, definitions, skeleton.
; Capture vocabulary: docs/languages.md (and the repoctx.parsing.parse docstring).

; ---- imports ---------------------------------------------------------------

; use A\B\C;  use A\B\C as D;  use function A\f;  use const A\K;
(namespace_use_declaration
  (namespace_use_clause . [(qualified_name) (name)] @import.module)) @import.use

; use A\{B, C\D as E};  → "A", names ("B", "C\D")  (aliases are not names)
(namespace_use_declaration
  (namespace_name) @import.module
  body: (namespace_use_group
    (namespace_use_clause . [(qualified_name) (name)] @import.name))) @import.use

; require 'x.php'; require_once "y.php"; include …  (literal strings only)
(require_expression [(string) (encapsed_string)] @import.module
  (#not-match? @import.module "[$]")) @import.require
(require_once_expression [(string) (encapsed_string)] @import.module
  (#not-match? @import.module "[$]")) @import.require
(include_expression [(string) (encapsed_string)] @import.module
  (#not-match? @import.module "[$]")) @import.include
(include_once_expression [(string) (encapsed_string)] @import.module
  (#not-match? @import.module "[$]")) @import.include

; require __DIR__ . '/x.php';  → "./x.php"
(require_expression
  (binary_expression left: (name) @_dir right: [(string) (encapsed_string)] @import.relative)
  (#eq? @_dir "__DIR__") (#not-match? @import.relative "[$]")) @import.require
(require_once_expression
  (binary_expression left: (name) @_dir right: [(string) (encapsed_string)] @import.relative)
  (#eq? @_dir "__DIR__") (#not-match? @import.relative "[$]")) @import.require
(include_expression
  (binary_expression left: (name) @_dir right: [(string) (encapsed_string)] @import.relative)
  (#eq? @_dir "__DIR__") (#not-match? @import.relative "[$]")) @import.include
(include_once_expression
  (binary_expression left: (name) @_dir right: [(string) (encapsed_string)] @import.relative)
  (#eq? @_dir "__DIR__") (#not-match? @import.relative "[$]")) @import.include

; ---- scopes ----------------------------------------------------------------

[(function_definition) (method_declaration) (anonymous_function) (arrow_function)] @scope.function

; ---- definitions and skeleton ------------------------------------------------

(php_tag) @keep

(namespace_definition name: (_) @name) @keep

(namespace_definition name: (_) @name body: (compound_statement) @members) @definition.namespace

(class_declaration name: (name) @name body: (declaration_list) @members) @definition.class

(interface_declaration name: (name) @name body: (declaration_list) @members) @definition.interface

(trait_declaration name: (name) @name body: (declaration_list) @members) @definition.trait

(enum_declaration name: (name) @name) @definition.enum

(method_declaration name: (name) @name body: (compound_statement)? @body) @definition.method

(function_definition name: (name) @name body: (compound_statement) @body) @definition.function

(declaration_list
  [(use_declaration) (const_declaration) (property_declaration)] @keep)
