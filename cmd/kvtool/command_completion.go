package main

import (
	"fmt"
	"io"
	"strings"
)

func newCompletionCommand() *command {
	c := newCommand("completion", "bash|zsh", "print a shell completion script", 1, 1)
	c.help = `
Completion prints a script that makes the shell complete kvtool's command
names, each command's flags, and file names where a command takes FILE or
DEST. Load it in the running shell, or install it:

  source <(kvtool completion bash)        # bash, now
  kvtool completion bash > /etc/bash_completion.d/kvtool
  source <(kvtool completion zsh)         # zsh, after compinit
  kvtool completion zsh > "${fpath[1]}/_kvtool"

The script is generated from kvtool's own command table, so it matches the
kvtool that printed it.
`
	c.run = func(e *env, args []string) error {
		switch args[0] {
		case "bash":
			return writeBashCompletion(e.stdout)
		case "zsh":
			return writeZshCompletion(e.stdout)
		}
		return usagef("unknown shell %q: kvtool completes bash and zsh", args[0])
	}
	return c
}

// completionFlags returns the flags of c as the shell should offer them.
func completionFlags(c *command) string {
	var fs []string
	for _, name := range flagNames(c.flags) {
		fs = append(fs, flagSpelling(name))
	}
	return strings.Join(append(fs, "--help"), " ")
}

// fileArgs is how many of c's first arguments are file names: FILE, and
// for snapshot DEST too.
func fileArgs(c *command) int {
	switch {
	case c.name == "snapshot":
		return 2
	case strings.HasPrefix(c.args, "FILE"):
		return 1
	}
	return 0
}

func writeBashCompletion(w io.Writer) error {
	var b strings.Builder
	b.WriteString(`# bash completion for kvtool: source <(kvtool completion bash)
_kvtool() {
    local cur=${COMP_WORDS[COMP_CWORD]}
    if (( COMP_CWORD == 1 )); then
        COMPREPLY=($(compgen -W "` + strings.Join(commandNames(), " ") + `" -- "$cur"))
        return
    fi
    local flags="" choices="" files=0
    case ${COMP_WORDS[1]} in
`)
	for _, c := range commands() {
		fmt.Fprintf(&b, "        %s) flags=%q; files=%d", c.name, completionFlags(c), fileArgs(c))
		switch c.name {
		case "help":
			fmt.Fprintf(&b, "; choices=%q", strings.Join(commandNames(), " "))
		case "completion":
			b.WriteString(`; choices="bash zsh"`)
		}
		b.WriteString(" ;;\n")
	}
	b.WriteString(`    esac
    if [[ $cur == -* ]]; then
        COMPREPLY=($(compgen -W "$flags" -- "$cur"))
        return
    fi
    # The position among the arguments, flags and their values left out
    # roughly: a word that starts with "-" is not counted.
    local i n=0
    for (( i = 2; i < COMP_CWORD; i++ )); do
        [[ ${COMP_WORDS[i]} == -* ]] || (( n++ ))
    done
    if [[ -n $choices ]]; then
        (( n == 0 )) && COMPREPLY=($(compgen -W "$choices" -- "$cur"))
    elif (( n < files )); then
        compopt -o filenames 2>/dev/null
        COMPREPLY=($(compgen -f -- "$cur"))
    fi
}
complete -F _kvtool kvtool
`)
	_, err := io.WriteString(w, b.String())
	return err
}

// zshQuote quotes s for a zsh single-quoted word.
func zshQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

func writeZshCompletion(w io.Writer) error {
	var b strings.Builder
	b.WriteString("#compdef kvtool\n# zsh completion for kvtool: source <(kvtool completion zsh), after compinit\n_kvtool() {\n    local -a cmds flags choices\n    cmds=(\n")
	for _, c := range commands() {
		fmt.Fprintf(&b, "        %s\n", zshQuote(c.name+":"+strings.ReplaceAll(c.summary, ":", `\:`)))
	}
	b.WriteString("    )\n    if (( CURRENT == 2 )); then\n        _describe 'command' cmds\n        return\n    fi\n    local files=0\n    case $words[2] in\n")
	for _, c := range commands() {
		fmt.Fprintf(&b, "        %s) flags=(%s); files=%d", c.name, completionFlags(c), fileArgs(c))
		switch c.name {
		case "help":
			fmt.Fprintf(&b, "; choices=(%s)", strings.Join(commandNames(), " "))
		case "completion":
			b.WriteString("; choices=(bash zsh)")
		}
		b.WriteString(" ;;\n")
	}
	b.WriteString(`    esac
    if [[ $PREFIX == -* ]]; then
        compadd -- $flags
        return
    fi
    local i n=0
    for (( i = 3; i < CURRENT; i++ )); do
        [[ $words[i] == -* ]] || (( n++ ))
    done
    if (( ${#choices} > 0 )); then
        (( n == 0 )) && compadd -- $choices
    elif (( n < files )); then
        _files
    fi
}
if [[ $funcstack[1] == _kvtool ]]; then
    _kvtool "$@"
else
    compdef _kvtool kvtool
fi
`)
	_, err := io.WriteString(w, b.String())
	return err
}
