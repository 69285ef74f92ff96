package v2api_test

import (
	"testing"

	"github.com/larchkv/larch/auth"
)

// TestV2CannotRevokeRootFromRoot: v3 refuses to take the root role from
// root while auth is on (ErrInvalidAuthMgmt); through /v2/auth it goes,
// and then nobody can manage auth any more.
func TestV2CannotRevokeRootFromRoot(t *testing.T) {
	s, u := startMember(t)
	send(t, "PUT", u+"/v2/auth/users/root", "application/json", `{"user":"root","password":"rootpw"}`).check(t, 201, `{"user":"root","roles":["root"]}`+"\n")
	send(t, "PUT", u+"/v2/auth/enable", "", "").check(t, 200, "")
	r := sendAs(t, "PUT", u+"/v2/auth/users/root", "root", "rootpw", `{"user":"root","revoke":["root"]}`)
	t.Logf("revoke: %d %s", r.status, r.body)
	if !s.Auth().HasRole("root", auth.RootRole) {
		t.Errorf("root lost the root role while auth is on")
	}
	if r := sendAs(t, "DELETE", u+"/v2/auth/enable", "root", "rootpw", ""); r.status != 200 {
		t.Errorf("root can no longer turn auth off: %d %s", r.status, r.body)
	}
}
