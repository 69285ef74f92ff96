package ctlv3

import (
	"github.com/spf13/cobra"
	clientv3 "go.etcd.io/etcd/client/v3"
)

func (c *ctl) newAlarmCommand() *cobra.Command {
	ac := &cobra.Command{
		Use:   "alarm <subcommand>",
		Short: "Alarm related commands",
	}

	disarm := &cobra.Command{
		Use:   "disarm",
		Short: "Disarms all alarms",
	}
	disarm.Run = c.run(func(cmd *cobra.Command, args []string) error {
		if len(args) != 0 {
			return failf(exitBadArgs, "alarm disarm command accepts no arguments")
		}
		cli, err := c.client(cmd)
		if err != nil {
			return err
		}
		ctx, cancel := c.commandCtx()
		// An empty member asks clientv3 to list the alarms and deactivate each of them.
		resp, err := cli.AlarmDisarm(ctx, &clientv3.AlarmMember{})
		cancel()
		if err != nil {
			return fail(exitError, err)
		}
		return c.display.Alarm(*resp)
	})

	list := &cobra.Command{
		Use:   "list",
		Short: "Lists all alarms",
	}
	list.Run = c.run(func(cmd *cobra.Command, args []string) error {
		if len(args) != 0 {
			return failf(exitBadArgs, "alarm list command accepts no arguments")
		}
		cli, err := c.client(cmd)
		if err != nil {
			return err
		}
		ctx, cancel := c.commandCtx()
		resp, err := cli.AlarmList(ctx)
		cancel()
		if err != nil {
			return fail(exitError, err)
		}
		return c.display.Alarm(*resp)
	})

	ac.AddCommand(disarm, list)
	return ac
}
