package ctlv3

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	clientv3 "go.etcd.io/etcd/client/v3"
)

func (c *ctl) newUserCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "user <subcommand>",
		Short: "User related commands",
	}
	cmd.AddCommand(
		c.newUserAddCommand(),
		c.newUserDeleteCommand(),
		c.newUserGetCommand(),
		c.newUserListCommand(),
		c.newUserPasswdCommand(),
		c.newUserGrantRoleCommand(),
		c.newUserRevokeRoleCommand(),
	)
	return cmd
}

// authCommand is a user or role command that takes exactly n arguments (else usage is the
// error, exit 128) and then makes its requests with do. As in etcdctl, these requests have
// no deadline: --command-timeout does not bound them.
func (c *ctl) authCommand(use, short string, n int, usage string, do func(context.Context, *clientv3.Client, []string) error) *cobra.Command {
	cmd := &cobra.Command{Use: use, Short: short}
	cmd.Run = c.run(func(cmd *cobra.Command, args []string) error {
		if len(args) != n {
			return failf(exitBadArgs, "%s", usage)
		}
		cli, err := c.client(cmd)
		if err != nil {
			return err
		}
		return do(context.Background(), cli, args)
	})
	return cmd
}

// newUserAddCommand adds a user. The password comes from, in this order: none with
// --no-password; --new-user-password; the part after the first ':' of "name:password";
// otherwise stdin (see newPassword). The password is read before the client is configured.
func (c *ctl) newUserAddCommand() *cobra.Command {
	var interactive, noPassword bool
	var fromFlag string
	cmd := &cobra.Command{
		Use:   "add <user name or user:password> [options]",
		Short: "Adds a new user",
	}
	cmd.Flags().BoolVar(&interactive, "interactive", true, "Read password from stdin instead of interactive terminal")
	cmd.Flags().StringVar(&fromFlag, "new-user-password", "", "Supply password from the command line flag")
	cmd.Flags().BoolVar(&noPassword, "no-password", false, "Create a user without password (CN based auth only)")
	cmd.Run = c.run(func(cmd *cobra.Command, args []string) error {
		if len(args) != 1 {
			return failf(exitBadArgs, "user add command requires user name as its argument")
		}
		user, password := args[0], fromFlag
		switch name, pw, ok := strings.Cut(args[0], ":"); {
		case noPassword:
			password = ""
		case fromFlag != "":
		case ok:
			if name == "" {
				return failf(exitBadArgs, "empty user name is not allowed")
			}
			user, password = name, pw
		default:
			var err error
			if password, err = c.newPassword(user, interactive); err != nil {
				return err
			}
		}
		cli, err := c.client(cmd)
		if err != nil {
			return err
		}
		opts := &clientv3.UserAddOptions{NoPassword: noPassword}
		resp, err := cli.UserAddWithOptions(context.Background(), user, password, opts)
		if err != nil {
			return fail(exitError, err)
		}
		return c.display.UserAdd(user, *resp)
	})
	return cmd
}

// newPassword reads the password for user add and user passwd. With --interactive=false it
// is the first word of stdin, scanned as etcdctl's fmt.Scanf("%s") does, which ignores its
// errors: an empty stdin, or one that starts with a newline, gives an empty password.
// Otherwise it is asked twice on the terminal and must be the same, and not empty.
func (c *ctl) newPassword(user string, interactive bool) (string, error) {
	if !interactive {
		var pw string
		fmt.Fscanf(c.env.Stdin, "%s", &pw)
		return pw, nil
	}
	pw, err := c.askPassword(fmt.Sprintf("Password of %s: ", user))
	if err != nil {
		return "", failf(exitBadArgs, "failed to ask password: %w", err)
	}
	if pw == "" {
		return "", failf(exitBadArgs, "empty password")
	}
	again, err := c.askPassword(fmt.Sprintf("Type password of %s again for confirmation: ", user))
	if err != nil {
		return "", failf(exitBadArgs, "failed to ask password: %w", err)
	}
	if pw != again {
		return "", failf(exitBadArgs, "given passwords are different")
	}
	return pw, nil
}

func (c *ctl) newUserDeleteCommand() *cobra.Command {
	return c.authCommand("delete <user name>", "Deletes a user",
		1, "user delete command requires user name as its argument",
		func(ctx context.Context, cli *clientv3.Client, args []string) error {
			resp, err := cli.UserDelete(ctx, args[0])
			if err != nil {
				return fail(exitError, err)
			}
			return c.display.UserDelete(args[0], *resp)
		})
}

// newUserGetCommand shows a user's roles. With --detail it writes "User: <name>" itself, in
// every output format, then each role as role get shows it, after an empty line.
func (c *ctl) newUserGetCommand() *cobra.Command {
	var detail bool
	cmd := c.authCommand("get <user name> [options]", "Gets detailed information of a user",
		1, "user get command requires user name as its argument",
		func(ctx context.Context, cli *clientv3.Client, args []string) error {
			name := args[0]
			resp, err := cli.UserGet(ctx, name)
			if err != nil {
				return fail(exitError, err)
			}
			if !detail {
				return c.display.UserGet(name, *resp)
			}
			fmt.Fprintf(c.stdout, "User: %s\n", name)
			for _, role := range resp.Roles {
				fmt.Fprintln(c.stdout)
				rr, err := cli.RoleGet(ctx, role)
				if err != nil {
					return fail(exitError, err)
				}
				if err := c.display.RoleGet(role, *rr); err != nil {
					return err
				}
			}
			return nil
		})
	cmd.Flags().BoolVar(&detail, "detail", false, "Show permissions of roles granted to the user")
	return cmd
}

func (c *ctl) newUserListCommand() *cobra.Command {
	return c.authCommand("list", "Lists all users",
		0, "user list command requires no arguments",
		func(ctx context.Context, cli *clientv3.Client, _ []string) error {
			resp, err := cli.UserList(ctx)
			if err != nil {
				return fail(exitError, err)
			}
			return c.display.UserList(*resp)
		})
}

// newUserPasswdCommand changes a password, read as user add reads it (see newPassword)
// before the client is configured.
func (c *ctl) newUserPasswdCommand() *cobra.Command {
	var interactive bool
	cmd := &cobra.Command{
		Use:   "passwd <user name> [options]",
		Short: "Changes password of user",
	}
	cmd.Flags().BoolVar(&interactive, "interactive", true, "If true, read password from stdin instead of interactive terminal")
	cmd.Run = c.run(func(cmd *cobra.Command, args []string) error {
		if len(args) != 1 {
			return failf(exitBadArgs, "user passwd command requires user name as its argument")
		}
		password, err := c.newPassword(args[0], interactive)
		if err != nil {
			return err
		}
		cli, err := c.client(cmd)
		if err != nil {
			return err
		}
		resp, err := cli.UserChangePassword(context.Background(), args[0], password)
		if err != nil {
			return fail(exitError, err)
		}
		return c.display.UserChangePassword(*resp)
	})
	return cmd
}

func (c *ctl) newUserGrantRoleCommand() *cobra.Command {
	return c.authCommand("grant-role <user name> <role name>", "Grants a role to a user",
		2, "user grant command requires user name and role name as its argument",
		func(ctx context.Context, cli *clientv3.Client, args []string) error {
			resp, err := cli.UserGrantRole(ctx, args[0], args[1])
			if err != nil {
				return fail(exitError, err)
			}
			return c.display.UserGrantRole(args[0], args[1], *resp)
		})
}

func (c *ctl) newUserRevokeRoleCommand() *cobra.Command {
	return c.authCommand("revoke-role <user name> <role name>", "Revokes a role from a user",
		2, "user revoke-role requires user name and role name as its argument",
		func(ctx context.Context, cli *clientv3.Client, args []string) error {
			resp, err := cli.UserRevokeRole(ctx, args[0], args[1])
			if err != nil {
				return fail(exitError, err)
			}
			return c.display.UserRevokeRole(args[0], args[1], *resp)
		})
}
