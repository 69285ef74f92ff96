package ctlv3

import (
	"strconv"

	"github.com/spf13/cobra"
	clientv3 "go.etcd.io/etcd/client/v3"
)

func (c *ctl) newMoveLeaderCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "move-leader <transferee-member-id>",
		Short: "Transfers leadership to another etcd cluster member.",
	}
	cmd.Run = c.run(func(cmd *cobra.Command, args []string) error {
		if len(args) != 1 {
			return failf(exitBadArgs, "move-leader command needs 1 argument")
		}
		target, err := strconv.ParseUint(args[0], 16, 64)
		if err != nil {
			return fail(exitBadArgs, err)
		}
		return c.moveLeader(cmd, target)
	})
	return cmd
}

// moveLeader asks the endpoints for their status, one after the other, until one of them
// says it is the leader, and sends MoveLeader to that one alone: only the leader can hand
// its leadership over. One --command-timeout covers all of it, as in etcdctl.
func (c *ctl) moveLeader(cmd *cobra.Command, target uint64) error {
	spec, err := c.clientSpec(cmd)
	if err != nil {
		return err
	}
	// etcdctl builds a client just to read back its endpoints, so a client that cannot
	// be built fails here, before any endpoint is asked.
	cli, err := c.newClient(spec, "etcd-client")
	if err != nil {
		return err
	}
	eps := cli.Endpoints()
	cli.Close()

	ctx, cancel := c.commandCtx()
	defer cancel()
	var leader *clientv3.Client
	var leaderID uint64
	for _, ep := range eps {
		spec.Endpoints = []string{ep}
		cli, err := c.newClient(spec, "etcd-client")
		if err != nil {
			return err
		}
		resp, err := cli.Status(ctx, ep)
		if err != nil {
			return fail(exitError, err)
		}
		if resp.Header.GetMemberId() == resp.Leader {
			leader, leaderID = cli, resp.Leader
			break
		}
		cli.Close()
	}
	if leader == nil {
		return failf(exitBadArgs, "no leader endpoint given at %v", eps)
	}
	resp, err := leader.MoveLeader(ctx, target)
	if err != nil {
		return fail(exitError, err)
	}
	return c.display.MoveLeader(leaderID, target, *resp)
}
