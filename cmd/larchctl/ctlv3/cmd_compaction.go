package ctlv3

import (
	"fmt"
	"strconv"

	"github.com/spf13/cobra"
	clientv3 "go.etcd.io/etcd/client/v3"
)

func (c *ctl) newCompactionCommand() *cobra.Command {
	var physical bool
	cmd := &cobra.Command{
		Use:   "compaction [options] <revision>",
		Short: "Compacts the event history in etcd",
	}
	cmd.Flags().BoolVar(&physical, "physical", false, "'true' to wait for compaction to physically remove all old revisions")
	cmd.Run = c.run(func(cmd *cobra.Command, args []string) error {
		if len(args) != 1 {
			return failf(exitBadArgs, "compaction command needs 1 argument")
		}
		rev, err := strconv.ParseInt(args[0], 10, 64)
		if err != nil {
			return fail(exitError, err)
		}
		var opts []clientv3.CompactOption
		if physical {
			opts = append(opts, clientv3.WithCompactPhysical())
		}

		cli, err := c.client(cmd)
		if err != nil {
			return err
		}
		ctx, cancel := c.commandCtx()
		_, err = cli.Compact(ctx, rev, opts...)
		cancel()
		if err != nil {
			return fail(exitError, err)
		}
		fmt.Fprintln(c.stdout, "compacted revision", rev)
		return nil
	})
	return cmd
}
