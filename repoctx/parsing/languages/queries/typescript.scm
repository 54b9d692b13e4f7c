; TypeScript — imports, scopes, definitions, skeleton. tsx.scm inherits this file.
; Capture vocabulary: docs/languages.md (and the repoctx.parsing.parse docstring).
; When two patterns give the same statement different kinds, the later pattern wins.

; ---- imports ---------------------------------------------------------------

(import_statement source: (string) @import.module) @import

(export_statement source: (string) @import.module) @import.reexport

; import type {A} from "x" / export type {A} from "x"
(import_statement "type" source: (string) @import.module) @import.type

(export_statement "type" source: (string) @import.module) @import.type

; export type * from "x" / export type * as ns from "x" (TypeScript 5.0; the grammar reads
; the `type` as an ERROR, see "TypeScript 5 syntax" below)
(export_statement
  (ERROR) @_type . ["*" (namespace_export)]
  source: (string) @import.module
  (#eq? @_type "type")) @import.type

; import x = require("y")
(import_statement (import_require_clause source: (string) @import.module)) @import

; require("x") / require(`x`) with a literal specifier
(call_expression
  function: (identifier) @_fn
  arguments: (arguments . [(string) (template_string)] @import.module .)
  (#eq? @_fn "require")
  (#not-match? @import.module "\\$\\{")) @import.require

; import("x")
(call_expression
  function: (import)
  arguments: (arguments . [(string) (template_string)] @import.module)
  (#not-match? @import.module "\\$\\{")) @import.dynamic

; ---- TypeScript 5 syntax ----------------------------------------------------
; Valid syntax that tree-sitter-typescript 0.23.2 (the newest wheel) reads as an ERROR node;
; each pattern pins the exact shape so a real mistake is still reported.

; export type * from "x"
(export_statement (ERROR) @syntax.valid . ["*" (namespace_export)]
  (#eq? @syntax.valid "type"))

; variance annotations: <in T>, <out T>, <in out T> (the grammar names the parameter `in`
; or `out` and reads the real name as an ERROR)
(type_parameters
  (type_parameter name: (type_identifier) @_variance) . (ERROR) @syntax.valid
  (#any-of? @_variance "in" "out")
  (#match? @syntax.valid "^(out[ \t]+)?[A-Za-z_$][A-Za-z0-9_$]*$"))

(type_parameter
  name: (type_identifier) @_variance . (ERROR) @syntax.valid
  (#any-of? @_variance "in" "out")
  (#match? @syntax.valid "^(out[ \t]+)?[A-Za-z_$][A-Za-z0-9_$]*$"))

; ... and after a line break, the annotation itself is the ERROR, before the parameter
(type_parameters
  (ERROR) @syntax.valid . (type_parameter)
  (#match? @syntax.valid "^(in|out|in[ \t\r\n]+out)$"))

; static accessor x = 1; readonly accessor y (the field is named `accessor`, its name an ERROR)
(public_field_definition
  name: (property_identifier) @_accessor . (ERROR) @syntax.valid
  (#eq? @_accessor "accessor")
  (#match? @syntax.valid "^#?[A-Za-z_$][A-Za-z0-9_$]*$"))

; ---- scopes ----------------------------------------------------------------

[(function_declaration) (function_expression) (arrow_function) (method_definition)
 (generator_function_declaration) (generator_function)] @scope.function

; ---- definitions and skeleton ------------------------------------------------

(function_declaration name: (identifier) @name body: (statement_block) @body) @definition.function

(generator_function_declaration
  name: (identifier) @name body: (statement_block) @body) @definition.function

; overloads and `declare function`: the whole signature is the skeleton
(function_signature name: (identifier) @name) @definition.function

(class_declaration name: (type_identifier) @name body: (class_body) @members) @definition.class

(abstract_class_declaration
  name: (type_identifier) @name body: (class_body) @members) @definition.class

(method_definition name: (_) @name body: (statement_block) @body) @definition.method

[(method_signature name: (_) @name)
 (abstract_method_signature name: (_) @name)] @definition.method

(interface_declaration name: (type_identifier) @name) @definition.interface

(type_alias_declaration name: (type_identifier) @name) @definition.type

(enum_declaration name: (identifier) @name) @definition.enum

(internal_module name: (_) @name body: (statement_block) @members) @definition.namespace

(module name: (_) @name body: (statement_block) @members) @definition.module

; const f = (a: T): R => { … };
(lexical_declaration
  (variable_declarator
    name: (identifier) @name
    value: [(arrow_function body: (_) @body)
            (function_expression body: (_) @body)])) @definition.function

; exports.f = function () { … };  Foo.prototype.bar = (…) => …;
(expression_statement
  (assignment_expression
    left: (member_expression property: (property_identifier) @name)
    right: [(arrow_function body: (_) @body)
            (function_expression body: (_) @body)])) @definition.function

; const Memo = memo((props) => { … });  the first argument of a wrapping call
(lexical_declaration
  (variable_declarator
    name: (identifier) @name
    value: (call_expression
      arguments: (arguments . [(arrow_function body: (_) @body)
                               (function_expression body: (_) @body)])))) @definition.function

(class_body (public_field_definition) @keep)

[(export_statement) (ambient_declaration)] @wrapper
