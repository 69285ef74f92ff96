package ctlv2

import (
	"context"
	"fmt"
	"reflect"
	"strings"

	"go.etcd.io/etcd/client/pkg/v3/pathutil"
	client "go.etcd.io/etcd/client/v2"
)

// The user, role and auth commands: etcdctl 3.5.21's ctlv2 user_commands.go,
// role_commands.go and auth_commands.go. Every failure is one line on stderr (the
// server's message as it is) and exit 1. The checks of the arguments come in etcdctl's
// order, some before the client is made and some after, and a prompt for a password comes
// after the client's own (--username without a password).

// authClient is etcdctl's mustNewAuth*API: the synced client, whose endpoints --debug
// shows once more.
func (c *ctl) authClient() (client.Client, error) {
	hc, err := c.syncedClient()
	if err != nil {
		return nil, err
	}
	if c.global.Bool("debug") {
		fmt.Fprintf(c.env.Stderr, "Cluster-Endpoints: %s\n", strings.Join(hc.Endpoints(), ", "))
	}
	return hc, nil
}

// named checks for exactly one argument, the user's or role's name (missing is the
// complaint otherwise), then makes the client.
func (c *ctl) named(f *flagValues, missing string) (client.Client, string, error) {
	if len(f.Args()) != 1 {
		return nil, "", c.fail(missing)
	}
	hc, err := c.authClient()
	if err != nil {
		return nil, "", err
	}
	return hc, f.Args()[0], nil
}

func (c *ctl) userAPI(f *flagValues) (client.AuthUserAPI, string, error) {
	hc, name, err := c.named(f, "Please provide a username")
	if err != nil {
		return nil, "", err
	}
	return client.NewAuthUserAPI(hc), name, nil
}

func (c *ctl) roleAPI(f *flagValues) (client.AuthRoleAPI, string, error) {
	hc, name, err := c.named(f, "Please provide a role name")
	if err != nil {
		return nil, "", err
	}
	return client.NewAuthRoleAPI(hc), name, nil
}

// report ends a command: the server's message on stderr, or the line on stdout.
func (c *ctl) report(err error, format string, args ...any) error {
	if err != nil {
		return c.fail(err.Error())
	}
	fmt.Fprintf(c.env.Stdout, format, args...)
	return nil
}

// listNames is user list and role list: no arguments, one name per line.
func (c *ctl) listNames(f *flagValues, list func(context.Context, client.Client) ([]string, error)) error {
	if len(f.Args()) != 0 {
		return c.fail("No arguments accepted")
	}
	hc, err := c.authClient()
	if err != nil {
		return err
	}
	ctx, cancel := c.totalTimeout()
	names, err := list(ctx, hc)
	cancel()
	return c.report(err, "%s", lines("", names))
}

// lines is one line per item, each after prefix.
func lines(prefix string, items []string) string {
	var b strings.Builder
	for _, it := range items {
		b.WriteString(prefix + it + "\n")
	}
	return b.String()
}

func (c *ctl) userList(f *flagValues) error {
	return c.listNames(f, func(ctx context.Context, hc client.Client) ([]string, error) {
		return client.NewAuthUserAPI(hc).ListUsers(ctx)
	})
}

func (c *ctl) roleList(f *flagValues) error {
	return c.listNames(f, func(ctx context.Context, hc client.Client) ([]string, error) {
		return client.NewAuthRoleAPI(hc).ListRoles(ctx)
	})
}

// userAdd takes <user>[:<password>] and prompts for the password when there is no colon.
func (c *ctl) userAdd(f *flagValues) error {
	api, arg, err := c.userAPI(f)
	if err != nil {
		return err
	}
	ctx, cancel := c.totalTimeout()
	defer cancel()
	user, pass, ok := strings.Cut(arg, ":")
	if !ok {
		if pass, err = c.askPassword("New password: "); err != nil {
			return c.fail("Error reading password:", err)
		}
	}
	return c.report(api.AddUser(ctx, user, pass), "User %s created\n", user)
}

func (c *ctl) userRemove(f *flagValues) error {
	api, user, err := c.userAPI(f)
	if err != nil {
		return err
	}
	ctx, cancel := c.totalTimeout()
	defer cancel()
	return c.report(api.RemoveUser(ctx, user), "User %s removed\n", user)
}

func (c *ctl) userPasswd(f *flagValues) error {
	api, user, err := c.userAPI(f)
	if err != nil {
		return err
	}
	ctx, cancel := c.totalTimeout()
	defer cancel()
	pass, err := c.askPassword("New password: ")
	if err != nil {
		return c.fail("Error reading password:", err)
	}
	_, err = api.ChangePassword(ctx, user, pass)
	return c.report(err, "Password updated\n")
}

func (c *ctl) userGrant(f *flagValues) error  { return c.userGrantRevoke(f, true) }
func (c *ctl) userRevoke(f *flagValues) error { return c.userGrantRevoke(f, false) }

func (c *ctl) userGrantRevoke(f *flagValues, grant bool) error {
	roles := f.StringSlice("roles")
	if len(roles) == 0 {
		return c.fail("No roles specified; please use `--roles`")
	}
	ctx, cancel := c.totalTimeout()
	defer cancel()
	api, user, err := c.userAPI(f)
	if err != nil {
		return err
	}
	change := api.RevokeUser
	if grant {
		change = api.GrantUser
	}
	_, err = change(ctx, user, roles)
	return c.report(err, "User %s updated\n", user)
}

// userGet prints the user and its roles. The client decodes the roles twice (as names,
// which fails on the role objects but leaves one empty name per role, then as objects),
// so each role comes with an empty name before the real ones, as etcdctl prints them.
func (c *ctl) userGet(f *flagValues) error {
	api, name, err := c.userAPI(f)
	if err != nil {
		return err
	}
	ctx, cancel := c.totalTimeout()
	defer cancel()
	user, err := api.GetUser(ctx, name)
	if err != nil {
		return c.fail(err.Error())
	}
	return c.report(nil, "User: %s\nRoles: %s\n", user.User, strings.Join(user.Roles, " "))
}

// roleAdd looks the role up first: any answer but an error means it exists.
func (c *ctl) roleAdd(f *flagValues) error {
	api, role, err := c.roleAPI(f)
	if err != nil {
		return err
	}
	ctx, cancel := c.totalTimeout()
	defer cancel()
	if current, _ := api.GetRole(ctx, role); current != nil {
		return c.fail(fmt.Sprintf("Role %s already exists", role))
	}
	return c.report(api.AddRole(ctx, role), "Role %s created\n", role)
}

func (c *ctl) roleRemove(f *flagValues) error {
	api, role, err := c.roleAPI(f)
	if err != nil {
		return err
	}
	ctx, cancel := c.totalTimeout()
	defer cancel()
	return c.report(api.RemoveRole(ctx, role), "Role %s removed\n", role)
}

func (c *ctl) roleGrant(f *flagValues) error  { return c.roleGrantRevoke(f, true) }
func (c *ctl) roleRevoke(f *flagValues) error { return c.roleGrantRevoke(f, false) }

// roleGrantRevoke checks the path (given, and canonical: a leading slash, no empty, . or
// .. elements, a trailing slash kept) and that exactly one access is named, reads the
// role, then grants or revokes. A role the change left as it was gets etcdctl's note,
// without a newline, before the usual line.
func (c *ctl) roleGrantRevoke(f *flagValues, grant bool) error {
	p := f.String("path")
	if p == "" {
		return c.fail("No path specified; please use `--path`")
	}
	if canon := pathutil.CanonicalURLPath(p); canon != p {
		return c.fail(fmt.Sprintf("Not canonical path; please use `--path=%s`", canon))
	}
	var perm client.PermissionType
	count := 0
	for _, m := range []struct {
		flag string
		perm client.PermissionType
	}{{"read", client.ReadPermission}, {"write", client.WritePermission}, {"readwrite", client.ReadWritePermission}} {
		if f.Bool(m.flag) {
			perm = m.perm
			count++
		}
	}
	if count != 1 {
		return c.fail("Please specify exactly one of --read, --write or --readwrite")
	}
	api, role, err := c.roleAPI(f)
	if err != nil {
		return err
	}
	ctx, cancel := c.totalTimeout()
	defer cancel()
	current, err := api.GetRole(ctx, role)
	if err != nil {
		return c.fail(err.Error())
	}
	change, note := api.RevokeRoleKV, "Role unchanged; already revoked"
	if grant {
		change, note = api.GrantRoleKV, "Role unchanged; already granted"
	}
	next, err := change(ctx, role, []string{p}, perm)
	if err == nil && reflect.DeepEqual(next, current) {
		fmt.Fprint(c.env.Stdout, note)
	}
	return c.report(err, "Role %s updated\n", role)
}

func (c *ctl) roleGet(f *flagValues) error {
	api, name, err := c.roleAPI(f)
	if err != nil {
		return err
	}
	ctx, cancel := c.totalTimeout()
	defer cancel()
	role, err := api.GetRole(ctx, name)
	if err != nil {
		return c.fail(err.Error())
	}
	return c.report(nil, "Role: %s\nKV Read:\n%sKV Write:\n%s", role.Role,
		lines("\t", role.Permissions.KV.Read), lines("\t", role.Permissions.KV.Write))
}

func (c *ctl) authEnable(f *flagValues) error  { return c.authEnableDisable(f, true) }
func (c *ctl) authDisable(f *flagValues) error { return c.authEnableDisable(f, false) }

func (c *ctl) authEnableDisable(f *flagValues, enable bool) error {
	if len(f.Args()) != 0 {
		return c.fail("No arguments accepted")
	}
	hc, err := c.authClient()
	if err != nil {
		return err
	}
	api := client.NewAuthAPI(hc)
	change, done := api.Disable, "Authentication Disabled\n"
	if enable {
		change, done = api.Enable, "Authentication Enabled\n"
	}
	ctx, cancel := c.totalTimeout()
	defer cancel()
	return c.report(change(ctx), "%s", done)
}
