; PHP — imports, scopes, definitions, skeleton.
; Capture vocabulary: docs/languages.md (and the repoctx.parse docstring).

; ---- imports ---------------------------------------------------------------

; use A\B\C;  use A\B\C as D;  use function A\f;  use const A\K;
(namespace_use_declaration
  (namespace_use_clause . [(qualified_name) (name)] @import.module)) @import.use

; use A\{B, C\D};  → "A", names ("B", "C\D")
(namespace_use_declaration
  (namespace_name) @import.module
  body: (namespace_use_group
    (namespace_use_clause [(qualified_name) (name)] @import.name))) @import.use

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
