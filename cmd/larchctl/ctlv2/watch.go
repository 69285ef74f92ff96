package ctlv2

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"

	client "go.etcd.io/etcd/client/v2"
)

// errInterrupted cancels a watch on SIGINT, which ends it with exit 0.
var errInterrupted = errors.New("interrupted")

// interruptible returns a context cancelled (with errInterrupted) by SIGINT, as etcdctl's
// watches exit quietly on Ctrl+C. stop releases the signal and the goroutine.
func interruptible() (ctx context.Context, cancel context.CancelCauseFunc, stop func()) {
	ctx, cancel = context.WithCancelCause(context.Background())
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt)
	done := make(chan struct{})
	go func() {
		select {
		case <-sig:
			cancel(errInterrupted)
		case <-done:
		}
	}()
	return ctx, cancel, func() {
		signal.Stop(sig)
		close(done)
		cancel(nil)
	}
}

// watchErr turns the error of a watch into the command's result: exit 0 after SIGINT,
// the cause of a cancellation, otherwise a server error.
func (c *ctl) watchErr(ctx context.Context, err error) error {
	if cause := context.Cause(ctx); cause != nil {
		if cause == errInterrupted {
			return nil
		}
		return cause
	}
	return c.handleError(exitServerError, err)
}

func (c *ctl) watch(f *flagValues) error {
	ki, err := c.keysAPI()
	if err != nil {
		return err
	}
	args := f.Args()
	if len(args) == 0 {
		return c.handleError(exitBadArgs, errKeyRequired)
	}
	recursive, forever := f.Bool("recursive"), f.Bool("forever")
	w := ki.Watcher(args[0], &client.WatcherOptions{AfterIndex: uint64(f.Int("after-index")), Recursive: recursive})
	ctx, _, stop := interruptible()
	defer stop()
	for {
		resp, err := w.Next(ctx)
		if err != nil {
			return c.watchErr(ctx, err)
		}
		if resp.Node.Dir {
			continue
		}
		if recursive {
			fmt.Fprintf(c.env.Stdout, "[%s] %s\n", resp.Action, resp.Node.Key)
		}
		c.printResponse(resp)
		if !forever {
			return nil
		}
	}
}

func (c *ctl) execWatch(f *flagValues) error {
	ki, err := c.keysAPI()
	if err != nil {
		return err
	}
	args := f.Args()
	if len(args) < 2 {
		return c.handleError(exitBadArgs, errors.New("key and command to exec required"))
	}
	// "<key> -- <cmd> [args...]", or else "<cmd> [args...] <key>".
	key, cmdArgs := args[len(args)-1], args[:len(args)-1]
	for i, a := range args {
		if a == "--" && i != 0 {
			key, cmdArgs = args[0], args[2:]
			break
		}
	}
	w := ki.Watcher(key, &client.WatcherOptions{AfterIndex: f.Uint64("after-index"), Recursive: f.Bool("recursive")})
	ctx, cancel, stop := interruptible()
	defer stop()
	for {
		resp, err := w.Next(ctx)
		if err != nil {
			return c.watchErr(ctx, err)
		}
		if resp.Node.Dir {
			fmt.Fprintf(c.env.Stderr, "Ignored dir %s change\n", resp.Node.Key)
			continue
		}
		cmd := exec.Command(cmdArgs[0], cmdArgs[1:]...)
		cmd.Env = append(append([]string{}, c.env.Environ...),
			"ETCD_WATCH_ACTION="+resp.Action,
			fmt.Sprintf("ETCD_WATCH_MODIFIED_INDEX=%d", resp.Node.ModifiedIndex),
			"ETCD_WATCH_KEY="+resp.Node.Key,
			"ETCD_WATCH_VALUE="+resp.Node.Value,
		)
		cmd.Stdout, cmd.Stderr = c.env.Stdout, c.env.Stderr
		// Children run concurrently with the watch; one that cannot start ends it.
		go func() {
			if err := cmd.Start(); err != nil {
				fmt.Fprint(c.env.Stderr, err.Error())
				cancel(exitStatus(exitError))
				return
			}
			cmd.Wait()
		}()
	}
}
