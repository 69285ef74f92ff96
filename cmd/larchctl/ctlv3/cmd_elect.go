package ctlv3

import (
	"context"
	"errors"

	"github.com/spf13/cobra"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"
)

func (c *ctl) newElectCommand() *cobra.Command {
	var listen bool
	cmd := &cobra.Command{
		Use:   "elect <election-name> [proposal]",
		Short: "Observes and participates in leader election",
	}
	cmd.Flags().BoolVarP(&listen, "listen", "l", false, "observation mode")
	cmd.Run = c.run(func(cmd *cobra.Command, args []string) error {
		if len(args) != 1 && len(args) != 2 {
			return fail(exitBadArgs, errors.New("elect takes one election name argument and an optional proposal argument"))
		}
		// etcdctl builds the client before it looks at -l.
		cli, err := c.client(cmd)
		if err != nil {
			return err
		}
		if len(args) == 1 {
			if !listen {
				return fail(exitBadArgs, errors.New("no proposal argument but -l not set"))
			}
			err = c.observe(cli, args[0])
		} else {
			if listen {
				return fail(exitBadArgs, errors.New("proposal given but -l is set"))
			}
			err = c.campaign(cli, args[0], args[1])
		}
		var ce *commandError
		if err != nil && !errors.As(err, &ce) {
			return fail(exitError, err)
		}
		return err
	})
	return cmd
}

// observe prints the election's leader, and every leader after it, until SIGINT or
// SIGTERM. Like etcdctl it opens a session, and so grants a lease, that it never uses.
func (c *ctl) observe(cli *clientv3.Client, election string) error {
	s, err := concurrency.NewSession(cli)
	if err != nil {
		return err
	}
	e := concurrency.NewElection(s, election)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel() // ends Observe's goroutine when a format fails
	_, stop := onSignal(cancel)
	defer stop()

	for resp := range e.Observe(ctx) {
		if err := c.display.Get(resp); err != nil {
			return err
		}
	}
	if ctx.Err() == nil {
		return errors.New("elect: observer lost")
	}
	return nil
}

// campaign waits until prop is elected, prints the leader key, and resigns on SIGINT or
// SIGTERM; a signal before the election makes Campaign fail with "context canceled".
func (c *ctl) campaign(cli *clientv3.Client, election, prop string) error {
	s, err := concurrency.NewSession(cli)
	if err != nil {
		return err
	}
	e := concurrency.NewElection(s, election)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	signalled, stop := onSignal(cancel)
	defer stop()

	if err := e.Campaign(ctx, prop); err != nil {
		return err
	}
	resp, err := cli.Get(ctx, e.Key())
	if err != nil {
		return err
	}
	if err := c.display.Get(*resp); err != nil {
		return err
	}

	select {
	case <-signalled:
	case <-s.Done():
		return errors.New("elect: session expired")
	}
	return e.Resign(context.Background())
}
