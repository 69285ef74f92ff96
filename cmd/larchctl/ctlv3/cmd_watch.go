package ctlv3

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"

	"github.com/spf13/cobra"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// The argument errors of watch, in etcdctl's words.
var (
	errWatchArgs          = errors.New("bad number of arguments")
	errWatchArgsEnv       = errors.New("bad number of arguments (found conflicting environment key)")
	errWatchArgsSeparator = errors.New("bad number of arguments (found separator --, but no commands)")
	errWatchRangePrefix   = errors.New("`range_end` and `--prefix` are mutually exclusive")
)

// watchOptions are the flags of watch. In interactive mode each `watch …` line is parsed
// with flags of its own, and the command line's are not used (etcdctl re-declares its
// global flag variables for every line, which resets them).
type watchOptions struct {
	interactive    bool
	prefix         bool
	rev            int64
	prevKV         bool
	progressNotify bool
}

// watchCommand declares watch and its flags; the caller supplies Run.
func watchCommand(o *watchOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "watch [options] [key or prefix] [range_end] [--] [exec-command arg1 arg2 ...]",
		Short: "Watches events stream on keys or prefixes",
	}
	f := cmd.Flags()
	f.BoolVarP(&o.interactive, "interactive", "i", false, "Interactive mode")
	f.BoolVar(&o.prefix, "prefix", false, "Watch on a prefix if prefix is set")
	f.Int64Var(&o.rev, "rev", 0, "Revision to start watching")
	f.BoolVar(&o.prevKV, "prev-kv", false, "get the previous key-value pair before the event happens")
	f.BoolVar(&o.progressNotify, "progress-notify", false, "get periodic watch progress notification from server")
	return cmd
}

// The ETCDCTL_WATCH_* variables give the key and range end in place of arguments. The
// client's environment check takes them as flags, so they draw no "unrecognized
// environment variable" warning (see clientSpec).
const (
	envWatchKey      = "ETCDCTL_WATCH_KEY"
	envWatchRangeEnd = "ETCDCTL_WATCH_RANGE_END"
)

func (c *ctl) newWatchCommand() *cobra.Command {
	o := &watchOptions{}
	cmd := watchCommand(o)
	cmd.Run = c.run(func(cmd *cobra.Command, args []string) error {
		envKey, envRange := c.env.Getenv(envWatchKey), c.env.Getenv(envWatchRangeEnd)
		if envKey == "" && envRange != "" {
			return failf(exitBadArgs, "%s is empty but got %s=%q", envWatchKey, envWatchRangeEnd, envRange)
		}
		if o.interactive {
			return c.watchInteractive(cmd, envKey, envRange)
		}

		keys, execArgs, err := commandLineWatchArgs(rawWatchArgs(c.env.Args), args, envKey, envRange)
		if err != nil {
			return fail(exitBadArgs, err)
		}
		cli, err := c.client(cmd)
		if err != nil {
			return err
		}
		key, opts, err := o.op(keys)
		if err != nil {
			return fail(exitBadArgs, err)
		}
		ctx := clientv3.WithRequireLeader(context.Background())
		w := watchPrinter{ctl: c, ctx: cli.Ctx(), execArgs: execArgs, execOut: c.stdout, execErr: c.stderr}
		if err := w.print(cli.Watch(ctx, key, opts...)); err != nil {
			return err
		}
		// The channel closes only when the server ends the watch.
		if err := cli.Close(); err != nil {
			return fail(exitBadConnection, err)
		}
		return failf(exitInterrupted, "watch is canceled by the server")
	})
	return cmd
}

// op builds the watch request for keys, a key and an optional range end. Words after the
// second are ignored, as in etcdctl.
func (o *watchOptions) op(keys []string) (string, []clientv3.OpOption, error) {
	if len(keys) == 0 {
		return "", nil, errWatchArgs
	}
	opts := []clientv3.OpOption{clientv3.WithRev(o.rev)}
	if len(keys) == 2 {
		if o.prefix {
			return "", nil, errWatchRangePrefix
		}
		opts = append(opts, clientv3.WithRange(keys[1]))
	}
	if o.prefix {
		opts = append(opts, clientv3.WithPrefix())
	}
	if o.prevKV {
		opts = append(opts, clientv3.WithPrevKV())
	}
	if o.progressNotify {
		opts = append(opts, clientv3.WithProgressNotify())
	}
	return keys[0], opts, nil
}

// rawWatchArgs returns the words of the command line that follow the first "watch": cobra
// drops the "--" that starts the command to run, and etcdctl looks for it there. When
// the command was named by a prefix (`wat`), there is no "watch", and etcdctl takes the
// whole command line, program name included; so does larchctl.
func rawWatchArgs(args []string) []string {
	raw := append([]string{cliName}, args...)
	if i := slices.Index(raw, "watch"); i >= 0 {
		return raw[i+1:]
	}
	return raw
}

// commandLineWatchArgs checks the arguments of a watch command line and splits them into
// the key (and range end) and the command to run for each event. raw are the words after
// "watch" (see rawWatchArgs), args the positional arguments cobra found; envKey and
// envRange are the ETCDCTL_WATCH_* variables.
func commandLineWatchArgs(raw, args []string, envKey, envRange string) (keys, execArgs []string, err error) {
	sep := slices.Index(raw, "--")
	switch {
	case sep >= 0 && sep == len(raw)-1:
		return nil, nil, errWatchArgsSeparator
	case sep < 0 && len(raw) == 0 && envKey == "":
		return nil, nil, errWatchArgs
	case sep >= 0 && envKey != "" && argsBeforeSeparator(raw, args, sep):
		return nil, nil, errWatchArgsEnv
	case sep < 0 && len(args) > 0 && envKey != "":
		return nil, nil, errWatchArgsEnv
	}
	keys, execArgs = splitWatchArgs(args, raw, envKey, envRange)
	return keys, execArgs, nil
}

// argsBeforeSeparator reports whether args hold a word from before the "--" at raw[sep],
// that is a key given besides ETCDCTL_WATCH_KEY. It is etcdctl's matching of args against
// raw from their ends, which skips the words of args that do not match.
func argsBeforeSeparator(raw, args []string, sep int) bool {
	r := len(raw) - 1
	for w := len(args) - 1; w >= 0; w-- {
		if args[w] == raw[r] {
			r--
			continue
		}
		if r == sep {
			return true
		}
	}
	return false
}

// lineWatchArgs parses the words after "watch" on a line of watch -i: flags, the key (and
// range end) and the command to run for each event.
func lineWatchArgs(words []string, envKey, envRange string) (o *watchOptions, keys, execArgs []string, err error) {
	sep := slices.Index(words, "--")
	if sep >= 0 && sep == len(words)-1 {
		return nil, nil, nil, errWatchArgsSeparator
	}
	o = &watchOptions{}
	fs := watchCommand(o).Flags()
	if err := fs.Parse(words); err != nil {
		return nil, nil, nil, err
	}
	args := fs.Args()
	switch {
	case sep < 0 && envKey == "" && len(args) == 0:
		return nil, nil, nil, errWatchArgs
	case sep < 0 && envKey != "" && len(args) > 0:
		return nil, nil, nil, errWatchArgsEnv
	}
	keys, execArgs = splitWatchArgs(args, words, envKey, envRange)
	return o, keys, execArgs, nil
}

// splitWatchArgs puts the ETCDCTL_WATCH_* key and range end in front of args, and splits
// off the command that follows the "--" of withSep. args hold the command's words too
// (cobra and pflag drop only the "--"): etcdctl cuts args before the last word equal to
// the command's name, which, when that name is also a key, cuts there instead.
func splitWatchArgs(args, withSep []string, envKey, envRange string) (keys, execArgs []string) {
	if envKey != "" {
		env := []string{envKey}
		if envRange != "" {
			env = append(env, envRange)
		}
		args = append(env, args...)
	}
	sep := slices.Index(withSep, "--")
	if sep < 0 {
		return args, nil
	}
	execArgs = withSep[sep+1:]
	end := len(args) - 1
	for end >= 0 && args[end] != execArgs[0] {
		end--
	}
	return args[:end], execArgs
}

// watchPrinter prints the responses of one watch and runs the command for each event.
type watchPrinter struct {
	ctl *ctl
	// ctx ends the commands that run for events, and the printing when it is done.
	ctx      context.Context
	execArgs []string
	// execOut and execErr are the command's stdout and stderr.
	execOut, execErr io.Writer
}

// print prints the responses of ch until it is closed, which happens when the server
// cancels the watch, or when w.ctx is done. A format without watch output (table) and a
// command that fails end it with their error.
func (w watchPrinter) print(ch clientv3.WatchChan) error {
	c := w.ctl
	for resp := range ch {
		if w.ctx.Err() != nil {
			return nil
		}
		if resp.Canceled {
			fmt.Fprintf(c.stderr, "watch was canceled (%v)\n", resp.Err())
		}
		if resp.IsProgressNotify() {
			fmt.Fprintf(c.stdout, "progress notify: %d\n", resp.Header.Revision)
		}
		if err := c.display.Watch(resp); err != nil {
			return err
		}
		if len(w.execArgs) == 0 {
			continue
		}
		for _, ev := range resp.Events {
			cmd := exec.CommandContext(w.ctx, w.execArgs[0], w.execArgs[1:]...)
			cmd.Env = append(slices.Clip(c.env.Environ),
				fmt.Sprintf("ETCD_WATCH_REVISION=%d", resp.Header.Revision),
				fmt.Sprintf("ETCD_WATCH_EVENT_TYPE=%q", ev.Type),
				fmt.Sprintf("ETCD_WATCH_KEY=%q", ev.Kv.Key),
				fmt.Sprintf("ETCD_WATCH_VALUE=%q", ev.Kv.Value))
			cmd.Stdout, cmd.Stderr = w.execOut, w.execErr
			if err := cmd.Run(); err != nil {
				if w.ctx.Err() != nil {
					return nil // killed because the invocation ends
				}
				fmt.Fprintf(c.stderr, "command %q error (%v)\n", w.execArgs, err)
				return fail(exitError, nil)
			}
		}
	}
	return nil
}

// watchInteractive runs watch -i: it reads `watch [options] <key> [range_end] [-- cmd …]`
// and `progress` lines from stdin until its end, which is an error (exit 3) as in
// etcdctl. Each watch prints on a goroutine of its own; the first of them to fail (a
// format without watch output, a command that fails) ends the invocation with its error,
// as etcdctl exits from that goroutine. Commands that still run for events then are
// killed, where etcdctl would leave them running.
func (c *ctl) watchInteractive(cmd *cobra.Command, envKey, envRange string) error {
	// The watches and the line loop write concurrently: each write is whole, as each
	// write(2) of etcdctl is. A command run for an event writes to the files themselves,
	// if they are files, so that it sees what it would see under etcdctl.
	var mu sync.Mutex
	execOut, execErr := c.stdout, c.stderr
	c.stdout = &syncWriter{mu: &mu, w: c.stdout}
	c.stderr = &syncWriter{mu: &mu, w: c.stderr}
	if _, ok := execOut.(*os.File); !ok {
		execOut = c.stdout
	}
	if _, ok := execErr.(*os.File); !ok {
		execErr = c.stderr
	}

	cli, err := c.client(cmd)
	if err != nil {
		return err
	}

	s := &watchSession{}
	s.ctx, s.cancel = context.WithCancelCause(cli.Ctx())
	// Watches and progress requests share one stream: their contexts carry the same
	// metadata, and RequestProgress finds the stream by it.
	ctx := clientv3.WithRequireLeader(s.ctx)
	defer s.wg.Wait()
	defer s.cancel(nil)

	lines, readErr := readLines(s.ctx, c.env.Stdin)
	for {
		if s.ctx.Err() != nil {
			return context.Cause(s.ctx)
		}
		var l string
		select {
		case l = <-lines:
		case err := <-readErr:
			return failf(exitInvalidInput, "error reading watch request line: %w", err)
		case <-s.ctx.Done():
			return context.Cause(s.ctx)
		}
		l = strings.TrimSuffix(l, "\n")
		args, err := argify(l)
		if err != nil {
			return err
		}
		if len(args) == 0 {
			fmt.Fprintf(c.stderr, "Invalid command: %s (watch and progress supported)\n", l)
			continue
		}
		switch args[0] {
		case "watch":
			if len(args) < 2 && envKey == "" {
				fmt.Fprintf(c.stderr, "Invalid command %s (command type or key is not provided)\n", l)
				continue
			}
			o, keys, execArgs, err := lineWatchArgs(args[1:], envKey, envRange)
			if err != nil {
				return fail(exitBadArgs, err)
			}
			key, opts, err := o.op(keys)
			if err != nil {
				fmt.Fprintf(c.stderr, "Invalid command %s (%v)\n", l, err)
				continue
			}
			ch := cli.Watch(ctx, key, opts...)
			w := watchPrinter{ctl: c, ctx: s.ctx, execArgs: execArgs, execOut: execOut, execErr: execErr}
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				if err := w.print(ch); err != nil {
					s.cancel(err)
				}
			}()
		case "progress":
			if err := cli.RequestProgress(ctx); err != nil {
				if s.ctx.Err() != nil {
					return context.Cause(s.ctx)
				}
				return fail(exitError, err)
			}
		default:
			fmt.Fprintf(c.stderr, "Invalid command %s (only support watch)\n", l)
		}
	}
}

// watchSession is what the goroutines of watch -i share.
type watchSession struct {
	// ctx is done when the invocation ends; its cause is the error it ends with, when a
	// watch's goroutine ends it. It also ends the commands run for events.
	ctx    context.Context
	cancel context.CancelCauseFunc // the first cause wins
	wg     sync.WaitGroup
}

// readLines reads lines from r on a goroutine of its own, so that the line loop can end
// while a read blocks. The goroutine sends each line, newline included, then the error
// that ended the reading (io.EOF too, even after a last line without a newline, which is
// dropped, as etcdctl drops it). Once ctx is done, it stops instead of sending a line;
// a read that blocks holds it until the read returns.
func readLines(ctx context.Context, r io.Reader) (<-chan string, <-chan error) {
	lines := make(chan string)
	errc := make(chan error, 1)
	go func() {
		br := bufio.NewReader(r)
		for {
			l, err := br.ReadString('\n')
			if err != nil {
				errc <- err
				return
			}
			select {
			case lines <- l:
			case <-ctx.Done():
				return
			}
		}
	}()
	return lines, errc
}

// syncWriter makes the writes of several goroutines to w whole.
type syncWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}
