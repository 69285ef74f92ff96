package v2api_test

import (
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"go.etcd.io/etcd/api/v3/authpb"
	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	client "go.etcd.io/etcd/client/v2"

	"github.com/larchkv/larch/auth"
	"github.com/larchkv/larch/cluster"
)

// v2Client is etcd's v2 client for u, with basic credentials unless user
// is empty.
func v2Client(t *testing.T, u, user, password string) client.Client {
	t.Helper()
	c, err := client.New(client.Config{Endpoints: []string{u}, Username: user, Password: password, HeaderTimeoutPerRequest: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// wantKeyError fails unless err is the keys error with code.
func wantKeyError(t *testing.T, err error, code int) {
	t.Helper()
	var ce client.Error
	if !errors.As(err, &ce) || ce.Code != code {
		t.Fatalf("got %v, want keys error %d", err, code)
	}
}

// wantMessage fails unless err is the auth API's error with message msg.
func wantMessage(t *testing.T, err error, msg string) {
	t.Helper()
	if err == nil || err.Error() != msg {
		t.Fatalf("got %v, want %q", err, msg)
	}
}

// TestAuthClient drives /v2/auth and /v2/keys with etcd's v2 Go client and
// its basic credentials: users and roles made and changed, auth turned on,
// the guest role etcd makes then narrowed, a password changed, auth turned
// off again.
func TestAuthClient(t *testing.T) {
	_, u := startMember(t)
	c := ctx(t)
	anon := v2Client(t, u, "", "")
	users, roles, authAPI := client.NewAuthUserAPI(anon), client.NewAuthRoleAPI(anon), client.NewAuthAPI(anon)
	for _, step := range []error{
		users.AddUser(c, "root", "rootpw"),
		roles.AddRole(c, "rw"),
		users.AddUser(c, "alice", "alicepw"),
	} {
		if step != nil {
			t.Fatal(step)
		}
	}
	if r, err := roles.GrantRoleKV(c, "rw", []string{"/app/*"}, client.ReadWritePermission); err != nil ||
		!slices.Equal(r.Permissions.KV.Read, []string{"/app/*"}) || !slices.Equal(r.Permissions.KV.Write, []string{"/app/*"}) {
		t.Fatalf("grant rw: %+v %v", r, err)
	}
	if usr, err := users.GrantUser(c, "alice", []string{"rw"}); err != nil || !slices.Equal(usr.Roles, []string{"rw"}) {
		t.Fatalf("grant alice: %+v %v", usr, err)
	}
	if err := authAPI.Enable(c); err != nil {
		t.Fatal(err)
	}
	wantMessage(t, authAPI.Enable(c), "Insufficient credentials")

	alice := client.NewKeysAPI(v2Client(t, u, "alice", "alicepw"))
	if _, err := alice.Set(c, "/app/x", "1", nil); err != nil {
		t.Fatal(err)
	}
	_, err := alice.Set(c, "/other", "1", nil)
	wantKeyError(t, err, client.ErrorCodeUnauthorized)
	_, err = alice.Get(c, "/app", &client.GetOptions{Recursive: true})
	wantKeyError(t, err, client.ErrorCodeUnauthorized)
	if r, err := alice.Get(c, "/app/", &client.GetOptions{Recursive: true}); err != nil || len(r.Node.Nodes) != 1 {
		t.Fatalf("alice get /app/: %v %v", r, err)
	}
	_, err = client.NewKeysAPI(v2Client(t, u, "alice", "wrong")).Get(c, "/app/x", nil)
	wantKeyError(t, err, client.ErrorCodeUnauthorized)

	// Enabling made the guest role, with every path.
	guest := client.NewKeysAPI(anon)
	if _, err := guest.Set(c, "/other", "g", nil); err != nil {
		t.Fatal(err)
	}
	root := v2Client(t, u, "root", "rootpw")
	rootRoles := client.NewAuthRoleAPI(root)
	if r, err := rootRoles.RevokeRoleKV(c, "guest", []string{"/*"}, client.WritePermission); err != nil ||
		!slices.Equal(r.Permissions.KV.Read, []string{"/*"}) || len(r.Permissions.KV.Write) != 0 {
		t.Fatalf("revoke guest write: %+v %v", r, err)
	}
	_, err = guest.Set(c, "/other", "g2", nil)
	wantKeyError(t, err, client.ErrorCodeUnauthorized)
	if r, err := guest.Get(c, "/other", nil); err != nil || r.Node.Value != "g" {
		t.Fatalf("guest read: %v %v", r, err)
	}

	rootUsers := client.NewAuthUserAPI(root)
	if names, err := rootUsers.ListUsers(c); err != nil || !slices.Equal(names, []string{"alice", "root"}) {
		t.Fatalf("list users: %v %v", names, err)
	}
	if names, err := rootRoles.ListRoles(c); err != nil || !slices.Equal(names, []string{"guest", "root", "rw"}) {
		t.Fatalf("list roles: %v %v", names, err)
	}
	_, err = client.NewAuthUserAPI(v2Client(t, u, "alice", "alicepw")).ListUsers(c)
	wantMessage(t, err, "Insufficient credentials")
	if _, err := rootUsers.ChangePassword(c, "alice", "newpw"); err != nil {
		t.Fatal(err)
	}
	_, err = alice.Get(c, "/app/x", nil)
	wantKeyError(t, err, client.ErrorCodeUnauthorized)
	if _, err := client.NewKeysAPI(v2Client(t, u, "alice", "newpw")).Get(c, "/app/x", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := rootUsers.RevokeUser(c, "alice", []string{"rw"}); err != nil {
		t.Fatal(err)
	}
	_, err = client.NewKeysAPI(v2Client(t, u, "alice", "newpw")).Get(c, "/app/x", nil)
	wantKeyError(t, err, client.ErrorCodeUnauthorized)

	wantMessage(t, client.NewAuthAPI(v2Client(t, u, "alice", "newpw")).Disable(c), "Insufficient credentials")
	if err := client.NewAuthAPI(root).Disable(c); err != nil {
		t.Fatal(err)
	}
	wantMessage(t, authAPI.Disable(c), "auth: already disabled")
	if _, err := guest.Set(c, "/other", "g3", nil); err != nil {
		t.Fatal(err)
	}
}

// propose proposes a v3 auth request as root, or as nobody while auth is
// off.
func propose(t *testing.T, s *cluster.Server, r *pb.InternalRaftRequest) {
	t.Helper()
	r.Header = &pb.RequestHeader{Username: "root", AuthRevision: s.Auth().Revision()}
	res, err := s.Propose(ctx(t), r)
	if err == nil {
		err = res.Err
	}
	if err != nil {
		t.Fatalf("propose %v: %v", r, err)
	}
}

// TestAuthOneModel checks that both APIs share the users and roles: a user
// made through /v2/auth logs in through v3 and the other way round, v2
// shows and edits only a role's path patterns and keeps its key ranges,
// and auth turned on through v3 guards /v2/keys too.
func TestAuthOneModel(t *testing.T) {
	s, u := startMember(t)
	c := ctx(t)
	anon := v2Client(t, u, "", "")

	// root made through v3 without the root role: v2 shows it with it, and
	// enabling through v2 gives it.
	hash, err := s.HashPassword("rootpw")
	if err != nil {
		t.Fatal(err)
	}
	propose(t, s, &pb.InternalRaftRequest{AuthUserAdd: &pb.AuthUserAddRequest{Name: "root", HashedPassword: hash, Options: &authpb.UserAddOptions{}}})
	do(t, "GET", u, "/v2/auth/users/root", "").check(t, 200,
		`{"user":"root","roles":[{"role":"root","permissions":{"kv":{"read":["/*"],"write":["/*"]}}}]}`+"\n")
	propose(t, s, &pb.InternalRaftRequest{AuthUserAdd: &pb.AuthUserAddRequest{Name: "bob", HashedPassword: hash, Options: &authpb.UserAddOptions{}}})
	propose(t, s, &pb.InternalRaftRequest{AuthRoleAdd: &pb.AuthRoleAddRequest{Name: "ro"}})
	propose(t, s, &pb.InternalRaftRequest{AuthRoleGrantPermission: &pb.AuthRoleGrantPermissionRequest{Name: "ro",
		Perm: &authpb.Permission{PermType: authpb.READ, Key: []byte("a/"), RangeEnd: []byte("a0")}}})
	propose(t, s, &pb.InternalRaftRequest{AuthUserGrantRole: &pb.AuthUserGrantRoleRequest{User: "bob", Role: "ro"}})

	// A v3 role has no v2 patterns; v2 grants keep its key ranges.
	do(t, "GET", u, "/v2/auth/roles/ro", "").check(t, 200, `{"role":"ro","permissions":{"kv":{"read":null,"write":null}}}`+"\n")
	if _, err := client.NewAuthRoleAPI(anon).GrantRoleKV(c, "ro", []string{"/a/*"}, client.ReadPermission); err != nil {
		t.Fatal(err)
	}
	if r, _ := s.Auth().Role("ro"); len(r.KV) != 1 || string(r.KV[0].Key) != "a/" || !slices.Equal(r.V2Read, []string{"/a/*"}) {
		t.Fatalf("role ro after the v2 grant: %+v", r)
	}
	if err := client.NewAuthUserAPI(anon).AddUser(c, "carol", "carolpw"); err != nil {
		t.Fatal(err)
	}
	if err := client.NewAuthAPI(anon).Enable(c); err != nil {
		t.Fatal(err)
	}
	if !s.Auth().HasRole("root", auth.RootRole) {
		t.Fatal("enabling through v2 did not give root the root role")
	}
	// Users made through either API log in through both.
	if _, err := s.Authenticate(c, "carol", "carolpw"); err != nil {
		t.Fatalf("v3 login of a v2 user: %v", err)
	}
	if _, err := client.NewKeysAPI(v2Client(t, u, "bob", "rootpw")).Get(c, "/a/", nil); err == nil {
		t.Fatal("bob read /a/, which does not exist")
	} else {
		wantKeyError(t, err, client.ErrorCodeKeyNotFound)
	}

	// Auth turned off and on again through v3 guards the v2 keys.
	propose(t, s, &pb.InternalRaftRequest{AuthDisable: &pb.AuthDisableRequest{}})
	propose(t, s, &pb.InternalRaftRequest{AuthRoleDelete: &pb.AuthRoleDeleteRequest{Role: "guest"}})
	propose(t, s, &pb.InternalRaftRequest{AuthEnable: &pb.AuthEnableRequest{}})
	do(t, "GET", u, "/v2/auth/enable", "").check(t, 200, `{"enabled":true}`+"\n")
	// No guest role: a request without credentials may do nothing.
	do(t, "GET", u, "/v2/keys/a/", "").check(t, 401,
		`{"errorCode":110,"message":"The request requires user authentication","cause":"Insufficient credentials","index":0}`+"\n")
}

// TestAuthUserAndRoleBodies replays spec/v2.md §5.3's observed answers and
// the nil-versus-empty rules of etcd's merges.
func TestAuthUserAndRoleBodies(t *testing.T) {
	_, u := startMember(t)
	put := func(p, body string) response {
		t.Helper()
		return send(t, "PUT", u+p, "application/json", body)
	}
	put("/v2/auth/users/root", `{"user":"root","password":"rootpw"}`).check(t, 201, `{"user":"root","roles":["root"]}`+"\n")
	put("/v2/auth/users/u1", `{"user":"u1","password":"p"}`).check(t, 201, `{"user":"u1","roles":null}`+"\n")
	// No change but the roles null → []: an update, then nothing left to change.
	put("/v2/auth/users/u1", `{"user":"u1"}`).check(t, 200, `{"user":"u1","roles":[]}`+"\n")
	put("/v2/auth/users/u1", `{"user":"u1"}`).check(t, 400, `{"message":"auth: User not updated. Use grant/revoke/password to update the user."}`)
	put("/v2/auth/users/u2", `{"user":"u2","password":"p","roles":["b","a"]}`).check(t, 200, `{"user":"u2","roles":["b","a"]}`+"\n")
	put("/v2/auth/users/u2", `{"user":"u2","password":"p","roles":["a"]}`).check(t, 409, `{"message":"auth: User u2 already exists."}`)
	put("/v2/auth/users/u2", `{"user":"u2","roles":["a"]}`).check(t, 400, `{"message":"auth: Cannot create user u2 with an empty password"}`)

	put("/v2/auth/roles/ro", `{"role":"ro","permissions":{"kv":{"read":["/pub*","/exact"],"write":[]}}}`).
		check(t, 201, `{"role":"ro","permissions":{"kv":{"read":["/pub*","/exact"],"write":[]}}}`+"\n")
	put("/v2/auth/roles/ro", `{"role":"ro","grant":{"kv":{"read":["/more/*"]}}}`).
		check(t, 200, `{"role":"ro","permissions":{"kv":{"read":["/exact","/more/*","/pub*"],"write":[]}}}`+"\n")
	put("/v2/auth/roles/empty", `{"role":"empty","grant":{"kv":{"read":[]}}}`).
		check(t, 201, `{"role":"empty","permissions":{"kv":{"read":null,"write":null}},"grant":{"kv":{"read":[],"write":null}}}`+"\n")
	put("/v2/auth/roles/empty2", `{"role":"empty2"}`).
		check(t, 201, `{"role":"empty2","permissions":{"kv":{"read":null,"write":null}}}`+"\n")
	// Revoking nothing from null lists still makes them [].
	put("/v2/auth/roles/empty2", `{"role":"empty2","revoke":{"kv":{"read":["/x"]}}}`).
		check(t, 200, `{"role":"empty2","permissions":{"kv":{"read":[],"write":[]}}}`+"\n")
	put("/v2/auth/roles/empty2", `{"role":"empty2","revoke":{"kv":{"read":["/x"]}}}`).
		check(t, 400, `{"message":"auth: Role not updated. Use grant/revoke to update the role."}`)
	put("/v2/auth/roles/empty2", `{"role":"empty2","grant":{"kv":{"write":["/w","/w"]}}}`).
		check(t, 409, `{"message":"auth: Granting duplicate write permission /w"}`)
	// etcd names the first missing role in the order the user was made
	// with (b); the shared store keeps a user's roles sorted.
	do(t, "GET", u, "/v2/auth/users/u2", "").check(t, 404, `{"message":"auth: Role a does not exist."}`)
	do(t, "GET", u, "/v2/auth/users", "").check(t, 200,
		`{"users":[{"user":"root","roles":[{"role":"root","permissions":{"kv":{"read":["/*"],"write":["/*"]}}}]},{"user":"u1"},{"user":"u2"}]}`+"\n")

	put("/v2/auth/enable", "").check(t, 200, "")
	guestAll := `{"role":"guest","permissions":{"kv":{"read":["/*"],"write":["/*"]}}}`
	r := send(t, "GET", u+"/v2/auth/roles/guest", "", "")
	r.check(t, 401, `{"message":"Insufficient credentials"}`)
	req := func(method, p, body string) response {
		t.Helper()
		return sendAs(t, method, u+p, "root", "rootpw", body)
	}
	req("GET", "/v2/auth/roles/guest", "").check(t, 200, guestAll+"\n")
	req("PUT", "/v2/auth/roles/guest", `{"role":"guest","revoke":{"kv":{"read":["/*"],"write":["/*"]}},"grant":{"kv":{"read":["/pub/*"]}}}`).
		check(t, 200, `{"role":"guest","permissions":{"kv":{"read":["/pub/*"],"write":[]}}}`+"\n")
	req("DELETE", "/v2/auth/enable", "").check(t, 200, "")
	req("DELETE", "/v2/auth/enable", "").check(t, 409, `{"message":"auth: already disabled"}`)
}

// sendAs sends method to url as user, with a JSON body unless it is empty.
func sendAs(t *testing.T, method, url, user, password, body string) response {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.SetBasicAuth(user, password)
	return roundTrip(t, req)
}
