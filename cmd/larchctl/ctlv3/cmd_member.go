package ctlv3

import (
	"github.com/spf13/cobra"
	clientv3 "go.etcd.io/etcd/client/v3"
)

func (c *ctl) newMemberCommand() *cobra.Command {
	mc := &cobra.Command{
		Use:   "member <subcommand>",
		Short: "Membership related commands",
	}
	mc.AddCommand(c.newMemberListCommand())
	return mc
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
