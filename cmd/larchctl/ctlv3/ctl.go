package ctlv3

import (
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/larchkv/larch/cmd/larchctl/internal/owncmd"
	"github.com/spf13/cobra"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// Version and APIVersion are what `larchctl version` reports: the etcdctl release whose
// behaviour this command set reproduces.
const (
	Version    = "3.6.6"
	APIVersion = "3.6"
)

const (
	cliName        = "etcdctl"
	cliDescription = "A simple command line client for etcd3."
)

// Exit codes, as etcdctl (pkg/v3/cobrautl) defines them.
const (
	exitSuccess       = 0
	exitError         = 1 // server/RPC errors, timeouts, cobra flag errors, unknown commands
	exitBadConnection = 2 // the client cannot be built
	exitInvalidInput  = 3 // txn and interactive input errors
	exitBadFeature    = 4 // a valid flag with an unsupported value
	exitInterrupted   = 5 // the server ended a watch
	exitBadArgs       = 128
)

// exitError ends a command with an exit code. A nil err exits without an "Error:" line.
type commandError struct {
	code int
	err  error
}

func (e *commandError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit status %d", e.code)
	}
	return e.err.Error()
}

func (e *commandError) Unwrap() error { return e.err }

// fail wraps err with an exit code.
func fail(code int, err error) error { return &commandError{code: code, err: err} }

// failf is fail with a formatted message.
func failf(code int, format string, a ...any) error {
	return &commandError{code: code, err: fmt.Errorf(format, a...)}
}

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

// ctl is the state of one invocation.
type ctl struct {
	env    Env
	stdout io.Writer
	stderr io.Writer

	global globalFlags

	// display is the printer chosen by --write-out/--hex. It is set when a client is
	// configured, as in etcdctl; until then it is the simple printer.
	display printer

	// sleep is time.Sleep; tests replace it to skip the 2 s warning delay of `del a c`.
	sleep func(time.Duration)

	clients []*clientv3.Client

	// result is the error that the command ran into, if any.
	result error
}

// Run executes one larchctl v3 invocation and returns its exit code.
//
// A few inputs make etcdctl panic (see txn_parse.go); Run lets those panics through,
// so the process ends the same way, with exit status 2.
func Run(env Env) int {
	c := &ctl{env: env, stdout: env.Stdout, stderr: env.Stderr, sleep: time.Sleep}
	c.display = &simplePrinter{w: c.stdout, errw: c.stderr}
	defer c.closeClients()

	// etcdctl turns this on globally; subcommand prefixes (`memb list`) depend on it.
	cobra.EnablePrefixMatching = true

	root := c.newRootCommand()
	args := env.Args
	if args == nil {
		args = []string{} // cobra would read os.Args for nil
	}
	root.SetArgs(args)
	root.SetIn(env.Stdin)
	// etcdctl never sets cobra's writers, whose defaults are both stderr: flag errors and
	// the empty line after them go there, while the usage text itself goes to stdout.
	root.SetOut(env.Stderr)
	root.SetErr(env.Stderr)

	err := root.Execute()
	if c.result != nil {
		return c.report(c.result)
	}
	if err != nil {
		return exitError
	}
	return exitSuccess
}

// report prints err as etcdctl does and returns its exit code.
func (c *ctl) report(err error) int {
	var ee *commandError
	if errors.As(err, &ee) {
		if ee.err != nil {
			fmt.Fprintln(c.stderr, "Error:", ee.err)
		}
		return ee.code
	}
	fmt.Fprintln(c.stderr, "Error:", err)
	return exitError
}

// closeClients closes the clients a command left open. etcdctl leaves them to the process
// exit, so the gRPC debug log must not show their closing.
func (c *ctl) closeClients() {
	grpcLogDebug.Store(false)
	for _, cli := range c.clients {
		cli.Close()
	}
	c.clients = nil
}

// run adapts a command function to cobra's Run: the error is kept for Run to report, so
// cobra never prints it (cobra would add the usage text).
func (c *ctl) run(f func(cmd *cobra.Command, args []string) error) func(*cobra.Command, []string) {
	return func(cmd *cobra.Command, args []string) {
		if err := f(cmd, args); err != nil {
			c.result = err
		}
	}
}

// newOwnCommand is one of larchctl's own commands (package owncmd, shared with the v2
// set): bad command lines exit 128 like etcdctl's argument errors, other errors 1.
func (c *ctl) newOwnCommand(set *owncmd.Set) *cobra.Command {
	return owncmd.Cobra(set, owncmd.IO{Stdin: c.env.Stdin, Stdout: c.stdout}, func(err error) {
		var ue *owncmd.UsageError
		if errors.As(err, &ue) {
			c.result = fail(exitBadArgs, err)
		} else {
			c.result = fail(exitError, err)
		}
	})
}

func (c *ctl) newRootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:        cliName,
		Short:      cliDescription,
		SuggestFor: []string{cliName},
	}
	// etcdctl has its own `completion` command, which larchctl does not have yet; cobra's
	// default one must not appear in its place.
	root.CompletionOptions.DisableDefaultCmd = true

	c.addGlobalFlags(root)
	root.AddCommand(
		c.newGetCommand(),
		c.newPutCommand(),
		c.newDelCommand(),
		c.newTxnCommand(),
		c.newCompactionCommand(),
		c.newEndpointCommand(),
		c.newAlarmCommand(),
		c.newDefragCommand(),
		c.newSnapshotCommand(),
		c.newVersionCommand(),
		c.newMemberCommand(),
		c.newMoveLeaderCommand(),
		c.newWatchCommand(),
		c.newLeaseCommand(),
		c.newLockCommand(),
		c.newElectCommand(),
		c.newAuthCommand(),
		c.newUserCommand(),
		c.newRoleCommand(),
		c.newOwnCommand(owncmd.PKI),
		c.newOwnCommand(owncmd.Discovery),
	)

	root.SetUsageFunc(func(cmd *cobra.Command) error {
		writeUsage(c.stdout, cmd)
		return nil
	})
	// Help is the usage text, as in etcdctl.
	root.SetHelpTemplate(`{{.UsageString}}`)
	return root
}
