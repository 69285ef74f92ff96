package main

import (
	"context"
	"fmt"

	"go.etcd.io/etcd/api/v3/authpb"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// benchAuthKV runs the put or range scenario with auth on, as a user that
// is not root (so that every request's key is checked against its role),
// and turns auth off again afterwards.
func benchAuthKV(o options, endpoints []string, scenario string) error {
	admin, err := newClient(endpoints)
	if err != nil {
		return err
	}
	defer admin.Close()
	ctx, cancel := context.WithTimeout(context.Background(), requestTimeout)
	defer cancel()
	steps := []func() error{
		func() error { _, err := admin.UserAdd(ctx, "root", "rootpw"); return err },
		func() error { _, err := admin.RoleAdd(ctx, "root"); return err },
		func() error { _, err := admin.UserGrantRole(ctx, "root", "root"); return err },
		func() error { _, err := admin.RoleAdd(ctx, "bench"); return err },
		// Every key from "\x00" on: all the scenario's keys.
		func() error {
			_, err := admin.RoleGrantPermission(ctx, "bench", "\x00", "\x00", clientv3.PermissionType(authpb.READWRITE))
			return err
		},
		func() error { _, err := admin.UserAdd(ctx, "bench", "benchpw"); return err },
		func() error { _, err := admin.UserGrantRole(ctx, "bench", "bench"); return err },
		func() error { _, err := admin.AuthEnable(ctx); return err },
	}
	for _, step := range steps {
		if err := step(); err != nil {
			return fmt.Errorf("setting up auth (a fresh server is needed): %w", err)
		}
	}
	defer func() {
		// Later scenarios run without auth, on a server as it was.
		root, closeRoot, err := newUserClients(1, endpoints, "root", "rootpw", nil)
		if err != nil {
			return
		}
		defer closeRoot()
		bg := context.Background()
		root[0].AuthDisable(bg)
		root[0].UserDelete(bg, "bench")
		root[0].RoleDelete(bg, "bench")
		root[0].UserDelete(bg, "root")
		root[0].RoleDelete(bg, "root")
	}()
	o.user, o.password = "bench", "benchpw"
	return benchKV(o, endpoints, scenario)
}
