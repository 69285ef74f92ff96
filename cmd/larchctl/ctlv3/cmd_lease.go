package ctlv3

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/spf13/cobra"
	clientv3 "go.etcd.io/etcd/client/v3"
)

func (c *ctl) newLeaseCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "lease <subcommand>",
		Short: "Lease related commands",
	}
	cmd.AddCommand(
		c.newLeaseGrantCommand(),
		c.newLeaseRevokeCommand(),
		c.newLeaseTimeToLiveCommand(),
		c.newLeaseListCommand(),
		c.newLeaseKeepAliveCommand(),
	)
	return cmd
}

func (c *ctl) newLeaseGrantCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "grant <ttl>",
		Short: "Creates leases",
	}
	cmd.Run = c.run(func(cmd *cobra.Command, args []string) error {
		if len(args) != 1 {
			return failf(exitBadArgs, "lease grant command needs TTL argument")
		}
		ttl, err := strconv.ParseInt(args[0], 10, 64)
		if err != nil {
			return failf(exitBadArgs, "bad TTL (%w)", err)
		}
		cli, err := c.client(cmd)
		if err != nil {
			return err
		}
		ctx, cancel := c.commandCtx()
		resp, err := cli.Grant(ctx, ttl)
		cancel()
		if err != nil {
			return failf(exitError, "failed to grant lease (%w)", err)
		}
		return c.display.Grant(*resp)
	})
	return cmd
}

func (c *ctl) newLeaseRevokeCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "revoke <leaseID>",
		Short: "Revokes leases",
	}
	cmd.Run = c.run(func(cmd *cobra.Command, args []string) error {
		id, cli, err := c.leaseClient(cmd, args, "lease revoke command needs 1 argument")
		if err != nil {
			return err
		}
		ctx, cancel := c.commandCtx()
		resp, err := cli.Revoke(ctx, id)
		cancel()
		if err != nil {
			return failf(exitError, "failed to revoke lease (%w)", err)
		}
		return c.display.Revoke(id, *resp)
	})
	return cmd
}

func (c *ctl) newLeaseTimeToLiveCommand() *cobra.Command {
	var keys bool
	cmd := &cobra.Command{
		Use:   "timetolive <leaseID> [options]",
		Short: "Get lease information",
	}
	cmd.Flags().BoolVar(&keys, "keys", false, "Get keys attached to this lease")
	cmd.Run = c.run(func(cmd *cobra.Command, args []string) error {
		if len(args) != 1 {
			return failf(exitBadArgs, "lease timetolive command needs lease ID as argument")
		}
		// etcdctl builds the client before it parses the ID, so a client error (a bad
		// output format) comes first.
		cli, err := c.client(cmd)
		if err != nil {
			return err
		}
		id, err := leaseFromArg(args[0])
		if err != nil {
			return err
		}
		var opts []clientv3.LeaseOption
		if keys {
			opts = append(opts, clientv3.WithAttachedKeys())
		}
		// No --command-timeout here, as in etcdctl.
		resp, err := cli.TimeToLive(context.Background(), id, opts...)
		if err != nil {
			return fail(exitBadConnection, err)
		}
		return c.display.TimeToLive(*resp, keys)
	})
	return cmd
}

func (c *ctl) newLeaseListCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List all active leases",
	}
	cmd.Run = c.run(func(cmd *cobra.Command, args []string) error {
		cli, err := c.client(cmd)
		if err != nil {
			return err
		}
		resp, err := cli.Leases(context.Background())
		if err != nil {
			return fail(exitBadConnection, err)
		}
		return c.display.Leases(*resp)
	})
	return cmd
}

func (c *ctl) newLeaseKeepAliveCommand() *cobra.Command {
	var once bool
	cmd := &cobra.Command{
		Use:   "keep-alive [options] <leaseID>",
		Short: "Keeps leases alive (renew)",
	}
	cmd.Flags().BoolVar(&once, "once", false, "Resets the keep-alive time to its original value and cobrautl.Exits immediately")
	cmd.Run = c.run(func(cmd *cobra.Command, args []string) error {
		id, cli, err := c.leaseClient(cmd, args, "lease keep-alive command needs lease ID as argument")
		if err != nil {
			return err
		}
		if once {
			resp, err := cli.KeepAliveOnce(context.Background(), id)
			if err != nil {
				return fail(exitBadConnection, err)
			}
			return c.display.KeepAlive(*resp)
		}
		ch, err := cli.KeepAlive(context.Background(), id)
		if err != nil {
			return fail(exitBadConnection, err)
		}
		// The client closes the channel when the server answers that the lease is gone.
		for resp := range ch {
			if err := c.display.KeepAlive(*resp); err != nil {
				return err
			}
		}
		if _, ok := c.display.(*simplePrinter); ok {
			fmt.Fprintf(c.stdout, "lease %016x expired or revoked.\n", id)
		}
		return nil
	})
	return cmd
}

// leaseClient checks that args are one lease ID, failing with errArgs if they are not,
// then builds the client.
func (c *ctl) leaseClient(cmd *cobra.Command, args []string, errArgs string) (clientv3.LeaseID, *clientv3.Client, error) {
	if len(args) != 1 {
		return 0, nil, fail(exitBadArgs, errors.New(errArgs))
	}
	id, err := leaseFromArg(args[0])
	if err != nil {
		return 0, nil, err
	}
	cli, err := c.client(cmd)
	return id, cli, err
}

// leaseFromArg parses a lease ID given in hex.
func leaseFromArg(arg string) (clientv3.LeaseID, error) {
	id, err := strconv.ParseInt(arg, 16, 64)
	if err != nil {
		return 0, failf(exitBadArgs, "bad lease ID arg (%w), expecting ID in Hex", err)
	}
	return clientv3.LeaseID(id), nil
}
