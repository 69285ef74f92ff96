package main

import "testing"

// TestE2EV2Auth runs testdata/larchctl/v2/auth.script as TestE2EV2 runs its script: the
// v2 user, role and auth commands, password prompts answered on stdin, then keys, member
// and auth commands as root, as users with and without the permission, and as the guest,
// once auth is on. Its golden comes from etcd 3.5.21 and etcdctl 3.5.21 as TestE2EV2's
// does, with -run 'TestE2EV2Auth$'.
func TestE2EV2Auth(t *testing.T) { runE2EV2(t, "auth") }
