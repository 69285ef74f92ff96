package ctlv3

import (
	"context"
	"errors"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	clientv3 "go.etcd.io/etcd/client/v3"
)

func (c *ctl) newMemberCommand() *cobra.Command {
	mc := &cobra.Command{
		Use:   "member <subcommand>",
		Short: "Membership related commands",
	}
	mc.AddCommand(
		c.newMemberAddCommand(),
		c.newMemberRemoveCommand(),
		c.newMemberUpdateCommand(),
		c.newMemberListCommand(),
		c.newMemberPromoteCommand(),
	)
	return mc
}

func (c *ctl) newMemberAddCommand() *cobra.Command {
	var peerURLs string
	var learner bool
	cmd := &cobra.Command{
		Use:   "add <memberName> [options]",
		Short: "Adds a member into the cluster",
	}
	cmd.Flags().StringVar(&peerURLs, "peer-urls", "", "comma separated peer URLs for the new member.")
	cmd.Flags().BoolVar(&learner, "learner", false, "indicates if the new member is raft learner")
	cmd.Run = c.run(func(cmd *cobra.Command, args []string) error {
		if len(args) < 1 {
			return failf(exitBadArgs, "member name not provided")
		}
		if len(args) > 1 {
			// A peer URL given as an argument is the usual mistake.
			msg := "too many arguments"
			for _, a := range args {
				if strings.HasPrefix(strings.ToLower(a), "http") {
					msg += ", did you mean --peer-urls=" + a
				}
			}
			return fail(exitBadArgs, errors.New(msg))
		}
		if peerURLs == "" {
			return failf(exitBadArgs, "member peer urls not provided")
		}
		// The client checks the URLs before it sends them: a bad one exits 1.
		urls := strings.Split(peerURLs, ",")
		cli, err := c.client(cmd)
		if err != nil {
			return err
		}
		ctx, cancel := c.commandCtx()
		var resp *clientv3.MemberAddResponse
		if learner {
			resp, err = cli.MemberAddAsLearner(ctx, urls)
		} else {
			resp, err = cli.MemberAdd(ctx, urls)
		}
		cancel()
		if err != nil {
			return fail(exitError, err)
		}
		return c.display.MemberAdd(*resp, args[0], peerURLs)
	})
	return cmd
}

func (c *ctl) newMemberRemoveCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "remove <memberID>",
		Short: "Removes a member from the cluster",
	}
	cmd.Run = c.run(func(cmd *cobra.Command, args []string) error {
		return c.changeMember(cmd, args, nil, func(ctx context.Context, cli *clientv3.Client, id uint64) error {
			resp, err := cli.MemberRemove(ctx, id)
			if err != nil {
				return fail(exitError, err)
			}
			return c.display.MemberRemove(id, *resp)
		})
	})
	return cmd
}

func (c *ctl) newMemberUpdateCommand() *cobra.Command {
	var peerURLs string
	cmd := &cobra.Command{
		Use:   "update <memberID> [options]",
		Short: "Updates a member in the cluster",
	}
	cmd.Flags().StringVar(&peerURLs, "peer-urls", "", "comma separated peer URLs for the updated member.")
	checkURLs := func() error {
		if peerURLs == "" {
			return failf(exitBadArgs, "member peer urls not provided")
		}
		return nil
	}
	cmd.Run = c.run(func(cmd *cobra.Command, args []string) error {
		return c.changeMember(cmd, args, checkURLs, func(ctx context.Context, cli *clientv3.Client, id uint64) error {
			resp, err := cli.MemberUpdate(ctx, id, strings.Split(peerURLs, ","))
			if err != nil {
				return fail(exitError, err)
			}
			return c.display.MemberUpdate(id, *resp)
		})
	})
	return cmd
}

func (c *ctl) newMemberListCommand() *cobra.Command {
	var consistency string
	cmd := &cobra.Command{
		Use:   "list",
		Short: "Lists all members in the cluster",
		Long: `With --write-out=simple, this command prints one comma-separated line per member.
The fields are ID, Status, Name, Peer Addrs, Client Addrs, Is Learner.
`,
	}
	cmd.Flags().StringVar(&consistency, "consistency", "l", "Linearizable(l) or Serializable(s)")
	cmd.Run = c.run(func(cmd *cobra.Command, args []string) error {
		serializable, err := isSerializable(consistency)
		if err != nil {
			// etcdctl names get's --consistency value in this message, which is always
			// the default "l" when member list runs.
			return failf(exitBadFeature, "unknown consistency flag %q", "l")
		}
		var opts []clientv3.OpOption
		if serializable {
			opts = append(opts, clientv3.WithSerializable())
		}
		cli, err := c.client(cmd)
		if err != nil {
			return err
		}
		ctx, cancel := c.commandCtx()
		resp, err := cli.MemberList(ctx, opts...)
		cancel()
		if err != nil {
			return fail(exitError, err)
		}
		return c.display.MemberList(*resp)
	})
	return cmd
}

func (c *ctl) newMemberPromoteCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "promote <memberID>",
		Short: "Promotes a non-voting member in the cluster",
		Long: `Makes a learner, which receives the log but does not vote, a voting member.
`,
	}
	cmd.Run = c.run(func(cmd *cobra.Command, args []string) error {
		return c.changeMember(cmd, args, nil, func(ctx context.Context, cli *clientv3.Client, id uint64) error {
			resp, err := cli.MemberPromote(ctx, id)
			if err != nil {
				return fail(exitError, err)
			}
			return c.display.MemberPromote(id, *resp)
		})
	})
	return cmd
}

// changeMember runs remove, update or promote: it reads the member ID argument, runs
// check (the command's own flag checks, if any), connects, and calls change with a
// --command-timeout context. The steps are in etcdctl's order, since each can fail with
// its own error.
func (c *ctl) changeMember(cmd *cobra.Command, args []string, check func() error, change func(context.Context, *clientv3.Client, uint64) error) error {
	id, err := memberIDArg(args)
	if err != nil {
		return err
	}
	if check != nil {
		if err := check(); err != nil {
			return err
		}
	}
	cli, err := c.client(cmd)
	if err != nil {
		return err
	}
	ctx, cancel := c.commandCtx()
	defer cancel()
	return change(ctx, cli, id)
}

// memberIDArg reads the one argument of remove, update and promote: a member ID in hex.
func memberIDArg(args []string) (uint64, error) {
	if len(args) != 1 {
		return 0, failf(exitBadArgs, "member ID is not provided")
	}
	id, err := strconv.ParseUint(args[0], 16, 64)
	if err != nil {
		return 0, failf(exitBadArgs, "bad member ID arg (%w), expecting ID in Hex", err)
	}
	return id, nil
}
