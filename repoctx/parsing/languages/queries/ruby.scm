; Ruby — imports, scopes, definitions, skeleton.
; Capture vocabulary: docs/languages.md (and the repoctx.parsing.parse docstring).

; ---- imports ---------------------------------------------------------------

; require "json" / load "tasks.rb"  (load-path relative)
(call
  method: (identifier) @_fn
  arguments: (argument_list . (string . (string_content) @import.module .) .)
  (#any-of? @_fn "require" "load")) @import.require

; autoload :Client, "acme/client"  (loaded on the constant's first use: lazy)
(call
  method: (identifier) @_fn
  arguments: (argument_list . (simple_symbol) . (string . (string_content) @import.module .) .)
  (#eq? @_fn "autoload")) @import.lazy

; require_relative "../lib/x"  → "../lib/x";  require_relative "x" → "./x"
(call
  method: (identifier) @_fn
  arguments: (argument_list . (string . (string_content) @import.relative .) .)
  (#eq? @_fn "require_relative")) @import.require

; ---- scopes ----------------------------------------------------------------

[(method) (singleton_method) (lambda)] @scope.function

; ---- definitions and skeleton ------------------------------------------------

(module name: (_) @name body: (body_statement)? @members) @definition.module

(class name: (_) @name body: (body_statement)? @members) @definition.class

; every Ruby def is a method (top-level ones belong to Object)
(method name: (_) @name body: (_)? @body) @definition.method

(singleton_method name: (_) @name body: (_)? @body) @definition.method

; the class-level lines that shape an API: attr_*, include/extend, visibility, constants
(body_statement
  (call method: (identifier) @_fn
    (#any-of? @_fn "attr_reader" "attr_writer" "attr_accessor" "include" "extend" "prepend"
                   "private" "protected" "public" "module_function")) @keep)

(body_statement
  (identifier) @keep
  (#any-of? @keep "private" "protected" "public" "module_function"))

(body_statement (assignment left: (constant)) @keep)
