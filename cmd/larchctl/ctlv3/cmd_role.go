package ctlv3

import (
	"context"
	"errors"

	"github.com/spf13/cobra"
	clientv3 "go.etcd.io/etcd/client/v3"
)

func (c *ctl) newRoleCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "role <subcommand>",
		Short: "Role related commands",
	}
	cmd.AddCommand(
		c.newRoleAddCommand(),
		c.newRoleDeleteCommand(),
		c.newRoleGetCommand(),
		c.newRoleListCommand(),
		c.newRoleGrantPermissionCommand(),
		c.newRoleRevokePermissionCommand(),
	)
	return cmd
}

func (c *ctl) newRoleAddCommand() *cobra.Command {
	return c.authCommand("add <role name>", "Adds a new role",
		1, "role add command requires role name as its argument",
		func(ctx context.Context, cli *clientv3.Client, args []string) error {
			resp, err := cli.RoleAdd(ctx, args[0])
			if err != nil {
				return fail(exitError, err)
			}
			return c.display.RoleAdd(args[0], *resp)
		})
}

func (c *ctl) newRoleDeleteCommand() *cobra.Command {
	return c.authCommand("delete <role name>", "Deletes a role",
		1, "role delete command requires role name as its argument",
		func(ctx context.Context, cli *clientv3.Client, args []string) error {
			resp, err := cli.RoleDelete(ctx, args[0])
			if err != nil {
				return fail(exitError, err)
			}
			return c.display.RoleDelete(args[0], *resp)
		})
}

func (c *ctl) newRoleGetCommand() *cobra.Command {
	return c.authCommand("get <role name>", "Gets detailed information of a role",
		1, "role get command requires role name as its argument",
		func(ctx context.Context, cli *clientv3.Client, args []string) error {
			resp, err := cli.RoleGet(ctx, args[0])
			if err != nil {
				return fail(exitError, err)
			}
			return c.display.RoleGet(args[0], *resp)
		})
}

func (c *ctl) newRoleListCommand() *cobra.Command {
	return c.authCommand("list", "Lists all roles",
		0, "role list command requires no arguments",
		func(ctx context.Context, cli *clientv3.Client, _ []string) error {
			resp, err := cli.RoleList(ctx)
			if err != nil {
				return fail(exitError, err)
			}
			return c.display.RoleList(*resp)
		})
}

// permFlags are the --prefix and --from-key flags of grant-permission and revoke-permission.
type permFlags struct {
	prefix, fromKey bool
}

func (f *permFlags) add(cmd *cobra.Command, verb string) {
	cmd.Flags().BoolVar(&f.prefix, "prefix", false, verb+" a prefix permission")
	cmd.Flags().BoolVar(&f.fromKey, "from-key", false, verb+" a permission of keys that are greater than or equal to the given key using byte compare")
}

// keyRange turns the <key> [endkey] arguments into a permission's key and range end, with
// etcdctl's rules: an empty key is the single key "\x00", or with either flag the whole
// keyspace ["\x00", "\x00"), and ignores any endkey; --prefix makes [key, prefix end),
// --from-key [key, "\x00") (open ended), and neither takes an endkey. Extra arguments after
// endkey are ignored.
func (f permFlags) keyRange(args []string) (key, end string, err error) {
	key = args[0]
	both := f.prefix && f.fromKey
	if key == "" {
		if both {
			return "", "", errPermFlags
		}
		if f.prefix || f.fromKey {
			return "\x00", "\x00", nil
		}
		return "\x00", "", nil
	}
	if len(args) == 1 {
		switch {
		case both:
			return "", "", errPermFlags
		case f.prefix:
			return key, clientv3.GetPrefixRangeEnd(key), nil
		case f.fromKey:
			return key, "\x00", nil
		}
		return key, "", nil
	}
	switch {
	case f.prefix:
		return "", "", errors.New("unexpected endkey argument with --prefix flag")
	case f.fromKey:
		return "", "", errors.New("unexpected endkey argument with --from-key flag")
	}
	return key, args[1], nil
}

var errPermFlags = errors.New("--from-key and --prefix flags are mutually exclusive")

func (c *ctl) newRoleGrantPermissionCommand() *cobra.Command {
	var flags permFlags
	cmd := &cobra.Command{
		Use:   "grant-permission [options] <role name> <permission type> <key> [endkey]",
		Short: "Grants a key to a role",
	}
	flags.add(cmd, "grant")
	cmd.Run = c.run(func(cmd *cobra.Command, args []string) error {
		if len(args) < 3 {
			return failf(exitBadArgs, "role grant command requires role name, permission type, and key [endkey] as its argument")
		}
		perm, err := clientv3.StrToPermissionType(args[1])
		if err != nil {
			return fail(exitBadArgs, err)
		}
		key, end, err := flags.keyRange(args[2:])
		if err != nil {
			return fail(exitBadArgs, err)
		}
		cli, err := c.client(cmd)
		if err != nil {
			return err
		}
		resp, err := cli.RoleGrantPermission(context.Background(), args[0], key, end, perm)
		if err != nil {
			return fail(exitError, err)
		}
		return c.display.RoleGrantPermission(args[0], *resp)
	})
	return cmd
}

// newRoleRevokePermissionCommand revokes the permission of exactly one key or range. The
// simple format names the key as given, so an empty key shows as "" although "\x00" was
// revoked.
func (c *ctl) newRoleRevokePermissionCommand() *cobra.Command {
	var flags permFlags
	cmd := &cobra.Command{
		Use:   "revoke-permission <role name> <key> [endkey]",
		Short: "Revokes a key from a role",
	}
	flags.add(cmd, "revoke")
	cmd.Run = c.run(func(cmd *cobra.Command, args []string) error {
		if len(args) < 2 {
			return failf(exitBadArgs, "role revoke-permission command requires role name and key [endkey] as its argument")
		}
		key, end, err := flags.keyRange(args[1:])
		if err != nil {
			return fail(exitBadArgs, err)
		}
		cli, err := c.client(cmd)
		if err != nil {
			return err
		}
		resp, err := cli.RoleRevokePermission(context.Background(), args[0], key, end)
		if err != nil {
			return fail(exitError, err)
		}
		return c.display.RoleRevokePermission(args[0], args[1], end, *resp)
	})
	return cmd
}
