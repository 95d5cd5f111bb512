# bash completion for the boxkit tools: chrootify nsjail-lite cgctl imgpack
# regpull netfwd. Options and subcommands come from the tool's own --help, so
# the completion never drifts from the tool. Installed once per tool name.

_boxkit() {
  local cur=${COMP_WORDS[COMP_CWORD]} tool=${COMP_WORDS[0]} i
  # After "--" the rest is the command: complete it as a command line.
  for ((i = 1; i < COMP_CWORD; i++)); do
    if [ "${COMP_WORDS[i]}" = "--" ]; then
      COMPREPLY=($(compgen -c -- "$cur"))
      return
    fi
  done
  local help
  help=$("$tool" --help 2>/dev/null) || return
  if [[ $cur == -* ]]; then
    COMPREPLY=($(compgen -W "$(grep -oE -- '(^|[ ,])--?[A-Za-z][A-Za-z0-9-]*' <<<"$help" | tr -d ' ,' | sort -u)" -- "$cur"))
  else
    # Subcommands are listed under "Subcommands:" by CLI11.
    local subs
    subs=$(awk '/^Subcommands:/ {on=1; next} on && /^  [a-z]/ {print $1} on && /^$/ {on=0}' <<<"$help")
    COMPREPLY=($(compgen -W "$subs" -- "$cur") $(compgen -f -- "$cur"))
  fi
}
complete -F _boxkit chrootify nsjail-lite cgctl imgpack regpull netfwd
