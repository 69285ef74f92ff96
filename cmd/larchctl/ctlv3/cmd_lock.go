package ctlv3

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"sync"
	"syscall"

	"github.com/spf13/cobra"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"
)

func (c *ctl) newLockCommand() *cobra.Command {
	ttl := 10
	cmd := &cobra.Command{
		Use:   "lock <lockname> [exec-command arg1 arg2 ...]",
		Short: "Acquires a named lock",
	}
	cmd.Flags().IntVarP(&ttl, "ttl", "", ttl, "timeout for session")
	cmd.Run = c.run(func(cmd *cobra.Command, args []string) error {
		if len(args) == 0 {
			return fail(exitBadArgs, errors.New("lock takes a lock name argument and an optional command to execute"))
		}
		cli, err := c.client(cmd)
		if err != nil {
			return err
		}
		if err := c.lockUntilSignal(cli, ttl, args[0], args[1:]); err != nil {
			var ce *commandError
			if errors.As(err, &ce) {
				return err
			}
			// A command that fails passes its exit status on.
			code := exitError
			var ee *exec.ExitError
			if errors.As(err, &ee) {
				code = ee.ExitCode()
			}
			return fail(code, err)
		}
		return nil
	})
	return cmd
}

// lockUntilSignal takes the lock name with etcd's concurrency.Mutex, in a session whose
// lease has the TTL ttl. With a command, it runs it with the lock held and releases the
// lock when the command ends. Without, it prints the lock's key and holds the lock until
// SIGINT or SIGTERM, then releases it; or until the session's lease is lost. As in
// etcdctl, the session is left to expire: its lease outlives the command by up to ttl.
func (c *ctl) lockUntilSignal(cli *clientv3.Client, ttl int, name string, cmdArgs []string) error {
	s, err := concurrency.NewSession(cli, concurrency.WithTTL(ttl))
	if err != nil {
		return err
	}
	m := concurrency.NewMutex(s, name)

	// A signal while the lock is awaited makes Lock fail with "context canceled".
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	signalled, stop := onSignal(cancel)
	defer stop()

	if err := m.Lock(ctx); err != nil {
		return err
	}

	if len(cmdArgs) > 0 {
		cmd := exec.Command(cmdArgs[0], cmdArgs[1:]...)
		cmd.Env = append([]string{
			"ETCD_LOCK_KEY=" + m.Key(),
			fmt.Sprintf("ETCD_LOCK_REV=%d", m.Header().Revision),
		}, c.env.Environ...)
		cmd.Stdout, cmd.Stderr = c.stdout, c.stderr
		err := cmd.Run()
		unlockErr := m.Unlock(context.Background())
		if err != nil {
			return err
		}
		return unlockErr
	}

	k, err := cli.Get(ctx, m.Key())
	if err != nil {
		return err
	}
	if len(k.Kvs) == 0 {
		return errors.New("lock lost on init")
	}
	if err := c.display.Get(*k); err != nil {
		return err
	}

	select {
	case <-signalled:
		return m.Unlock(context.Background())
	case <-s.Done():
	}
	return errors.New("session expired")
}

// onSignal calls f when SIGINT or SIGTERM arrives, and then closes signalled: lock and
// elect give up their lock or leadership before they end, as etcdctl's do. stop stops
// listening and waits for the goroutine that listens; a signal after it has the
// default effect.
func onSignal(f func()) (signalled <-chan struct{}, stop func()) {
	sigc := make(chan os.Signal, 1)
	signal.Notify(sigc, syscall.SIGINT, syscall.SIGTERM)
	sig := make(chan struct{})
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		select {
		case <-sigc:
			f()
			close(sig)
		case <-done:
		}
	}()
	return sig, func() {
		signal.Stop(sigc)
		close(done)
		wg.Wait()
	}
}
