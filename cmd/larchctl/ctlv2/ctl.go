package ctlv2

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Version is what `larchctl --version` reports in v2 mode: the etcdctl release whose v2
// behaviour this command set reproduces.
const Version = "3.5.21"

// cliName is the program name in help text and hints, as etcdctl prints it.
const cliName = "etcdctl"

// Exit codes of etcdctl 3.5 in v2 mode (pkg/v3/cobrautl, plus urfave/cli's 3).
const (
	exitSuccess           = 0
	exitError             = 1 // bad flags, bad endpoints, member commands, get on a dir
	exitBadConnection     = 2 // connection errors during the initial sync
	exitNoHelpTopic       = 3 // unknown command (urfave/cli)
	exitServerError       = 4 // server or cluster errors in the keys commands
	exitClusterNotHealthy = 5
	exitBadArgs           = 128 // a missing key or value
)

// Env is everything one invocation sees of its process.
type Env struct {
	Args    []string // command line without the program name
	Environ []string // "KEY=value" pairs, as os.Environ returns them
	Stdin   io.Reader
	Stdout  io.Writer
	Stderr  io.Writer
}

// Getenv returns the value of key in e.Environ, "" when absent. Like os.Getenv, the first
// of duplicate entries wins.
func (e Env) Getenv(key string) string {
	for _, kv := range e.Environ {
		if len(kv) > len(key) && kv[len(key)] == '=' && kv[:len(key)] == key {
			return kv[len(key)+1:]
		}
	}
	return ""
}

// withoutAPI returns environ without ETCDCTL_API, which etcdctl removes from its own
// environment once it has picked the command set (exec-watch children do not see it).
func withoutAPI(environ []string) []string {
	out := make([]string, 0, len(environ))
	for _, kv := range environ {
		if !strings.HasPrefix(kv, "ETCDCTL_API=") {
			out = append(out, kv)
		}
	}
	return out
}

// ctl is the state of one invocation.
type ctl struct {
	env    Env
	global *flagValues
}

// Run runs one larchctl invocation in v2 mode and returns its exit code.
func Run(env Env) int {
	env.Environ = withoutAPI(env.Environ)
	c := &ctl{env: env}
	return c.runApp(env.Args)
}

// exitStatus ends a command with a code after its output has been written.
type exitStatus int

func (e exitStatus) Error() string { return "exit status " + strconv.Itoa(int(e)) }

// flagKind is the type of a flag's value.
type flagKind int

const (
	boolFlag flagKind = iota
	stringFlag
	intFlag
	durationFlag
	stringSliceFlag // repeatable: each use adds one value, commas and all (urfave's StringSliceFlag)
)

// stringSlice is the value of a stringSliceFlag.
type stringSlice []string

func (s *stringSlice) String() string { return strings.Join(*s, ",") }

func (s *stringSlice) Set(v string) error {
	*s = append(*s, v)
	return nil
}

// flagDef describes one flag: its names (the first is the long one), type, default as
// text and usage line.
type flagDef struct {
	names []string
	kind  flagKind
	value string
	usage string
}

var helpFlag = flagDef{names: []string{"help", "h"}, kind: boolFlag, usage: "show help"}

// flagValues is a parsed set of flags.
type flagValues struct {
	fs   *flag.FlagSet
	defs []flagDef
	set  map[string]bool
}

// parseFlags parses args against defs the way urfave/cli v1 does: the standard library's
// flag package, output discarded, stopping at the first non-flag word or "--".
func parseFlags(defs []flagDef, args []string) (*flagValues, error) {
	fs := flag.NewFlagSet(cliName, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	for _, d := range defs {
		for _, n := range d.names {
			switch d.kind {
			case boolFlag:
				fs.Bool(n, false, d.usage)
			case stringFlag:
				fs.String(n, d.value, d.usage)
			case intFlag:
				v, _ := strconv.Atoi(d.value)
				fs.Int(n, v, d.usage)
			case durationFlag:
				v, _ := time.ParseDuration(d.value)
				fs.Duration(n, v, d.usage)
			case stringSliceFlag:
				fs.Var(new(stringSlice), n, d.usage)
			}
		}
	}
	err := fs.Parse(args)
	fv := &flagValues{fs: fs, defs: defs, set: map[string]bool{}}
	fs.Visit(func(f *flag.Flag) { fv.set[f.Name] = true })
	if err != nil {
		return fv, err
	}
	// Two names of one flag may not both be given (urfave's normalizeFlags).
	for _, d := range defs {
		var given []string
		for _, n := range d.names {
			if fv.set[n] {
				given = append(given, n)
			}
		}
		if len(given) > 1 {
			sort.Strings(given)
			return fv, fmt.Errorf("Cannot use two forms of the same flag: %s", strings.Join(given, " "))
		}
	}
	return fv, nil
}

// raw returns the text value of the flag named name (any of its names): the one given on
// the command line, or the default.
func (f *flagValues) raw(name string) string {
	for _, d := range f.defs {
		if !d.has(name) {
			continue
		}
		for _, n := range d.names {
			if f.set[n] {
				return f.fs.Lookup(n).Value.String()
			}
		}
		return f.fs.Lookup(d.names[0]).Value.String()
	}
	return ""
}

func (d flagDef) has(name string) bool {
	for _, n := range d.names {
		if n == name {
			return true
		}
	}
	return false
}

func (f *flagValues) String(name string) string { return f.raw(name) }

func (f *flagValues) Bool(name string) bool {
	v, _ := strconv.ParseBool(f.raw(name))
	return v
}

func (f *flagValues) Int(name string) int {
	v, _ := strconv.ParseInt(f.raw(name), 0, 64)
	return int(v)
}

// Uint64 reads an int flag as urfave's Context.Uint64 does: 0 when it does not parse as
// an unsigned number.
func (f *flagValues) Uint64(name string) uint64 {
	v, _ := strconv.ParseUint(f.raw(name), 0, 64)
	return v
}

func (f *flagValues) Duration(name string) time.Duration {
	v, _ := time.ParseDuration(f.raw(name))
	return v
}

// StringSlice returns the values a stringSliceFlag was given, in order.
func (f *flagValues) StringSlice(name string) []string {
	for _, d := range f.defs {
		if !d.has(name) {
			continue
		}
		var out []string
		for _, n := range d.names {
			if v, ok := f.fs.Lookup(n).Value.(*stringSlice); ok {
				out = append(out, *v...)
			}
		}
		return out
	}
	return nil
}

func (f *flagValues) Args() []string { return f.fs.Args() }

// reorderArgs moves the command's own flags (and the word after each flag without "=",
// unless it starts with "-") in front of the other arguments, keeping everything from
// "--" on in place, as urfave/cli v1 does before parsing a command's flags.
func reorderArgs(defs []flagDef, args []string) []string {
	var flags, rest []string
	mayBeValue := false
	for i, a := range args {
		switch {
		case a == "--":
			rest = append(rest, args[i:]...)
			return append(flags, rest...)
		case mayBeValue && !strings.HasPrefix(a, "-"):
			mayBeValue = false
			flags = append(flags, a)
		case isFlagOf(defs, a):
			flags = append(flags, a)
			mayBeValue = !strings.Contains(a, "=")
		default:
			rest = append(rest, a)
		}
	}
	return append(flags, rest...)
}

func isFlagOf(defs []flagDef, arg string) bool {
	if arg == "-" || !strings.HasPrefix(arg, "-") {
		return false
	}
	name := strings.TrimPrefix(strings.TrimPrefix(arg, "-"), "-")
	name, _, _ = strings.Cut(name, "=")
	for _, d := range defs {
		if d.has(name) {
			return true
		}
	}
	return false
}

// runApp parses the global flags and runs the command they are followed by.
func (c *ctl) runApp(args []string) int {
	defs := append(append([]flagDef{}, globalFlags...), helpFlag, versionFlag)
	fv, err := parseFlags(defs, args)
	c.global = fv
	if err != nil {
		if strings.HasPrefix(err.Error(), "Cannot use two forms") {
			fmt.Fprintln(c.env.Stdout, err)
		} else {
			fmt.Fprintf(c.env.Stdout, "Incorrect Usage. %s\n\n", err)
		}
		c.writeHelp(appHelp(rootApp))
		fmt.Fprintln(c.env.Stderr, err)
		return exitError
	}
	if fv.Bool("help") {
		c.writeHelp(appHelp(rootApp))
		return exitSuccess
	}
	if fv.Bool("version") {
		fmt.Fprintf(c.env.Stdout, "etcdctl version: %s\nAPI version: 2\n", Version)
		return exitSuccess
	}
	rest := fv.Args()
	if len(rest) > 0 {
		if cmd := rootApp.find(rest[0]); cmd != nil {
			return c.runCommand(rootApp, cmd, rest[1:])
		}
	}
	return c.helpAction(rootApp, rest, true)
}

// helpAction is urfave's help command: help for the named command, or for the app.
func (c *ctl) helpAction(app *command, args []string, appLevel bool) int {
	if len(args) > 0 {
		cmd := app.find(args[0])
		if cmd == nil {
			fmt.Fprintf(c.env.Stderr, "No help topic for '%s'\n", args[0])
			return exitNoHelpTopic
		}
		c.writeHelp(commandHelp(cmd))
		return exitSuccess
	}
	if appLevel {
		c.writeHelp(appHelp(app))
	} else {
		c.writeHelp(subcommandHelp(app))
	}
	return exitSuccess
}

// runCommand parses a command's flags and runs it; app is the command set it belongs to.
func (c *ctl) runCommand(app, cmd *command, args []string) int {
	if cmd.name == "help" {
		fv, err := parseFlags([]flagDef{helpFlag}, reorderArgs([]flagDef{helpFlag}, args))
		if err == nil && fv.Bool("help") {
			c.writeHelp(commandHelp(cmd))
			return exitSuccess
		}
		if err != nil {
			return c.usageError(cmd, err)
		}
		return c.helpAction(app, fv.Args(), true)
	}
	if len(cmd.sub) > 0 {
		return c.runSubApp(cmd, args)
	}
	defs := append(append([]flagDef{}, cmd.flags...), helpFlag)
	fv, err := parseFlags(defs, reorderArgs(defs, args))
	if err != nil {
		return c.usageError(cmd, err)
	}
	if fv.Bool("help") {
		c.writeHelp(commandHelp(cmd))
		return exitSuccess
	}
	if cmd.run == nil {
		fmt.Fprintf(c.env.Stderr, "Error:  %s is not supported by larchctl yet\n", cmd.helpName())
		return exitError
	}
	err = cmd.run(c, fv)
	var st exitStatus
	if errors.As(err, &st) {
		return int(st)
	}
	if err != nil {
		fmt.Fprintln(c.env.Stderr, err)
		return exitError
	}
	return exitSuccess
}

func (c *ctl) usageError(cmd *command, err error) int {
	fmt.Fprintf(c.env.Stdout, "Incorrect Usage: %s\n\n", err)
	c.writeHelp(commandHelp(cmd))
	fmt.Fprintln(c.env.Stderr, err)
	return exitError
}

// runSubApp runs a command that has subcommands (member, user, role, auth), which
// urfave/cli runs as an app of its own with only a help flag.
func (c *ctl) runSubApp(app *command, args []string) int {
	fv, err := parseFlags([]flagDef{helpFlag}, args)
	if err != nil {
		fmt.Fprintf(c.env.Stdout, "Incorrect Usage. %s\n\n", err)
		c.writeHelp(subcommandHelp(app))
		fmt.Fprintln(c.env.Stderr, err)
		return exitError
	}
	if fv.Bool("help") {
		c.writeHelp(subcommandHelp(app))
		return exitSuccess
	}
	rest := fv.Args()
	if len(rest) > 0 {
		if rest[0] == "help" || rest[0] == "h" {
			return c.helpAction(app, rest[1:], true)
		}
		if cmd := app.find(rest[0]); cmd != nil {
			return c.runCommand(app, cmd, rest[1:])
		}
	}
	return c.helpAction(app, rest, false)
}

func (c *ctl) writeHelp(text string) { io.WriteString(c.env.Stdout, text) }

// handleError prints a keys-command error as etcdctl does ("Error: " and the error,
// joined by a space, then a cluster error's detail) and returns code.
func (c *ctl) handleError(code int, err error) error {
	fmt.Fprintln(c.env.Stderr, "Error: ", err)
	if d, ok := clusterErrorDetail(err); ok {
		fmt.Fprintln(c.env.Stderr, d)
	}
	return exitStatus(code)
}
