# bash completion for tpark: the candidates come from the binary itself
# (`tpark __complete`), so they always match the installed command tree.
_tpark() {
  local IFS=$'\n'
  COMPREPLY=($("${COMP_WORDS[0]}" __complete "$COMP_CWORD" "${COMP_WORDS[@]:1}" 2>/dev/null))
}
complete -o default -F _tpark tpark
