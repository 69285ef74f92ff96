package ctlv3

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
)

func (c *ctl) newAuthCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "auth <enable or disable>",
		Short: "Enable or disable authentication",
	}
	cmd.AddCommand(
		c.newAuthEnableCommand(),
		c.newAuthDisableCommand(),
		c.newAuthStatusCommand(),
	)
	return cmd
}

// authSwitch is the shape of auth enable and auth disable: no arguments, one request under
// --command-timeout, and a fixed line on stdout whatever the output format.
func (c *ctl) authSwitch(use, short, done string, do func(*clientv3.Client) error) *cobra.Command {
	cmd := &cobra.Command{Use: use, Short: short}
	cmd.Run = c.run(func(cmd *cobra.Command, args []string) error {
		if len(args) != 0 {
			return failf(exitBadArgs, "auth %s command does not accept any arguments", use)
		}
		cli, err := c.client(cmd)
		if err != nil {
			return err
		}
		if err := do(cli); err != nil {
			return fail(exitError, err)
		}
		fmt.Fprintln(c.stdout, done)
		return nil
	})
	return cmd
}

// newAuthEnableCommand enables authentication. When the server refuses because the root
// user lacks the root role, it adds the role (if it can), grants it to root and tries again,
// as etcdctl does.
func (c *ctl) newAuthEnableCommand() *cobra.Command {
	return c.authSwitch("enable", "Enables authentication", "Authentication Enabled", func(cli *clientv3.Client) error {
		ctx, cancel := c.commandCtx()
		defer cancel()
		for {
			_, err := cli.AuthEnable(ctx)
			if !errors.Is(err, rpctypes.ErrRootRoleNotExist) {
				return err
			}
			if _, err := cli.RoleAdd(ctx, "root"); err != nil {
				return err
			}
			if _, err := cli.UserGrantRole(ctx, "root", "root"); err != nil {
				return err
			}
		}
	})
}

func (c *ctl) newAuthDisableCommand() *cobra.Command {
	return c.authSwitch("disable", "Disables authentication", "Authentication Disabled", func(cli *clientv3.Client) error {
		ctx, cancel := c.commandCtx()
		defer cancel()
		_, err := cli.AuthDisable(ctx)
		return err
	})
}

func (c *ctl) newAuthStatusCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Returns authentication status",
	}
	cmd.Run = c.run(func(cmd *cobra.Command, args []string) error {
		if len(args) != 0 {
			return failf(exitBadArgs, "auth status command does not accept any arguments")
		}
		cli, err := c.client(cmd)
		if err != nil {
			return err
		}
		ctx, cancel := c.commandCtx()
		resp, err := cli.AuthStatus(ctx)
		cancel()
		if err != nil {
			return fail(exitError, err)
		}
		return c.display.AuthStatus(*resp)
	})
	return cmd
}
