// Package owncmd holds larchctl's own commands, which etcdctl does not
// have (`pki`, `discovery`): their flags, texts and behaviour, in one place
// for both command sets. The v3 set (cobra) takes a whole Set from
// [Cobra]; the v2 set builds its own command entries from [Set.Commands]
// and calls [Command.Run] with its parsed flags. The texts and output are
// larchctl's own.
//
// Errors: a wrong number of arguments or a missing required flag is a
// [UsageError] (the v3 set exits 128 on it, like etcdctl's argument errors);
// every other error exits 1. Both sets print "Error: " and the error.
package owncmd

import (
	"fmt"
	"io"
)

// Sets are larchctl's own commands, in help order.
var Sets = []*Set{PKI, Discovery}

// Flag is one flag of a command.
type Flag struct {
	Name    string
	Default string // as text
	Bool    bool
	Usage   string
}

// Values is a parsed command line, as a command set's flag parser holds it.
type Values interface {
	String(name string) string
	Bool(name string) bool
}

// IO is what a command reads and writes.
type IO struct {
	Stdin  io.Reader
	Stdout io.Writer
}

// UsageError is a command line a command cannot run with: wrong arguments
// or a missing required flag.
type UsageError struct{ msg string }

func (e *UsageError) Error() string { return e.msg }

func usagef(format string, a ...any) error { return &UsageError{msg: fmt.Sprintf(format, a...)} }

// Set is one of larchctl's own top-level commands: its runnable commands
// and the groups between them.
type Set struct {
	// Name is the top-level command word: "pki".
	Name  string
	Short string
	// Hidden keeps the set out of the v2 set's command list.
	Hidden bool
	// Groups are the shorts of the command groups below Name, by path.
	Groups map[string]string
	// Commands are the runnable commands, in help order.
	Commands []*Command
}

// Command is one runnable command of a Set.
type Command struct {
	// Path is the command's words after the set's name: {"ca", "init"}, {"cert"}.
	Path []string
	// Args shows the positional arguments in usage lines, "" for none.
	Args  string
	Short string
	Long  string
	Flags []Flag
	run   func(std IO, v Values, args []string) error
}

// Run runs the command with the parsed flags v and positional args.
func (c *Command) Run(std IO, v Values, args []string) error { return c.run(std, v, args) }
