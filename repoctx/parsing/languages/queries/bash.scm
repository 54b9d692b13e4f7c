; Bash — sourced files, definitions, skeleton.
; Capture vocabulary: docs/languages.md (and the repoctx.parsing.parse docstring).

; ---- imports ---------------------------------------------------------------

; source ./lib.sh / . "lib.sh"  (literal paths only: no $ or ` expansion)
(command
  name: (command_name) @_cmd
  .
  argument: [(word) (raw_string) (string)] @import.module
  (#any-of? @_cmd "source" ".")
  (#not-match? @import.module "[$`]")) @import.include

; ---- scopes ----------------------------------------------------------------

(function_definition) @scope.function

; ---- definitions and skeleton ------------------------------------------------

(function_definition name: (word) @name body: (_) @body) @definition.function
