package ctlv3

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// newDefragCommand is online defragmentation only. etcdctl 3.6 no longer has the
// --data-dir flag that defragmented a stopped member's files (etcdutl does that now), so
// it is an unknown flag here too.
func (c *ctl) newDefragCommand() *cobra.Command {
	var cluster bool
	cmd := &cobra.Command{
		Use:   "defrag",
		Short: "Defragments the storage of the etcd members with given endpoints",
	}
	cmd.PersistentFlags().BoolVar(&cluster, "cluster", false, "use all endpoints from the cluster member list")
	cmd.Run = c.run(func(cmd *cobra.Command, args []string) error {
		return c.defrag(cmd, cluster)
	})
	return cmd
}

// defrag defragments one endpoint after the other, each with its own client and
// --command-timeout, and reports each on a line of its own: stdout for success, stderr for
// failure. Any failure makes the command exit 1, without an "Error:" line. The output
// format is checked (an unknown one fails) but not used, as in etcdctl; extra arguments are
// ignored.
func (c *ctl) defrag(cmd *cobra.Command, cluster bool) error {
	failed := false
	err := c.perEndpoint(cmd, cluster, func(ctx context.Context, cli *clientv3.Client, ep string) {
		start := time.Now()
		_, err := cli.Defragment(ctx, ep)
		took := time.Since(start)
		if err != nil {
			failed = true
			fmt.Fprintf(c.stderr, "Failed to defragment etcd member[%s]. took %s. (%v)\n", ep, took, err)
			return
		}
		fmt.Fprintf(c.stdout, "Finished defragmenting etcd member[%s]. took %s\n", ep, took)
	})
	if err != nil {
		return err
	}
	if failed {
		return fail(exitError, nil)
	}
	return nil
}
