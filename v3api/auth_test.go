package v3api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.etcd.io/etcd/api/v3/authpb"
	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"

	"github.com/larchkv/larch/cluster"
	"github.com/larchkv/larch/v3api"
)

// fakeClock is a clock tests move by hand.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// enableAuth makes root (password rootpw), role rw with READWRITE on the
// prefix a/, user alice (password alicepw) holding it, and turns auth on.
func enableAuth(t *testing.T, c *clientv3.Client) {
	t.Helper()
	must[*clientv3.AuthUserAddResponse](t)(c.UserAdd(ctx(t), "root", "rootpw"))
	must[*clientv3.AuthRoleAddResponse](t)(c.RoleAdd(ctx(t), "root"))
	must[*clientv3.AuthUserGrantRoleResponse](t)(c.UserGrantRole(ctx(t), "root", "root"))
	must[*clientv3.AuthRoleAddResponse](t)(c.RoleAdd(ctx(t), "rw"))
	must[*clientv3.AuthRoleGrantPermissionResponse](t)(c.RoleGrantPermission(ctx(t), "rw", "a/", "a0", clientv3.PermissionType(authpb.READWRITE)))
	must[*clientv3.AuthUserAddResponse](t)(c.UserAdd(ctx(t), "alice", "alicepw"))
	must[*clientv3.AuthUserGrantRoleResponse](t)(c.UserGrantRole(ctx(t), "alice", "rw"))
	must[*clientv3.AuthEnableResponse](t)(c.AuthEnable(ctx(t)))
}

// userClient is an etcd client that logs in as user.
func (m *member) userClient(t *testing.T, user, password string) *clientv3.Client {
	t.Helper()
	c, err := clientv3.New(m.userConfig(user, password))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func (m *member) userConfig(user, password string) clientv3.Config {
	return clientv3.Config{
		Endpoints:   []string{m.listener.Addr().String()},
		DialTimeout: 5 * time.Second,
		Logger:      zap.NewNop(),
		Username:    user,
		Password:    password,
	}
}

// loginErr is what etcd's client says when it logs in as user.
func (m *member) loginErr(user, password string) error {
	c, err := clientv3.New(m.userConfig(user, password))
	if err == nil {
		c.Close()
	}
	return err
}

// rawToken authenticates with the Auth service itself, so that no client
// library refreshes the token behind the test's back.
func rawToken(t *testing.T, c *clientv3.Client, user, password string) string {
	t.Helper()
	resp, err := pb.NewAuthClient(c.ActiveConnection()).Authenticate(ctx(t), &pb.AuthenticateRequest{Name: user, Password: password})
	if err != nil {
		t.Fatal(err)
	}
	return resp.Token
}

// rawPut puts key with a token, over a plain gRPC connection: etcd's
// client would retry and log in again.
func rawPut(t *testing.T, m *member, token, key string) error {
	t.Helper()
	conn, err := grpc.NewClient(m.listener.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	cctx := metadata.AppendToOutgoingContext(ctx(t), rpctypes.TokenFieldNameGRPC, token)
	_, err = pb.NewKVClient(conn).Put(cctx, &pb.PutRequest{Key: []byte(key), Value: []byte("v")})
	return err
}

// TestAuthTokenExpiryAndRefresh: a simple token goes after its TTL unused
// (the server answers "invalid auth token"), lives on while it is used,
// and etcd's client, which holds the password, logs in again by itself.
func TestAuthTokenExpiryAndRefresh(t *testing.T) {
	clock := &fakeClock{now: time.Unix(1_000_000, 0)}
	m := startMember(t, func(c *cluster.Config, _ *v3api.Config) {
		c.AuthTokenTTL = time.Minute
		c.AuthClock = clock.Now
	})
	admin := m.client(t)
	enableAuth(t, admin)

	tok := rawToken(t, admin, "alice", "alicepw")
	for range 3 {
		clock.Advance(40 * time.Second) // less than the TTL since the last use
		if err := rawPut(t, m, tok, "a/used"); err != nil {
			t.Fatalf("a token in use expired: %v", err)
		}
	}
	clock.Advance(61 * time.Second)
	if err := rawPut(t, m, tok, "a/late"); !errors.Is(err, rpctypes.ErrGRPCInvalidAuthToken) {
		t.Fatalf("a token unused for longer than its TTL: %v, want %v", err, rpctypes.ErrGRPCInvalidAuthToken)
	}

	alice := m.userClient(t, "alice", "alicepw")
	must[*clientv3.PutResponse](t)(alice.Put(ctx(t), "a/1", "v"))
	clock.Advance(2 * time.Minute)
	if _, err := alice.Put(ctx(t), "a/2", "v"); err != nil {
		t.Fatalf("the client did not log in again after its token expired: %v", err)
	}
}

// TestAuthRevokeWhileConnected: a permission taken from a role while its
// user's client is connected is refused from the next request on.
func TestAuthRevokeWhileConnected(t *testing.T) {
	m := startMember(t, nil)
	enableAuth(t, m.client(t))
	root := m.userClient(t, "root", "rootpw")
	alice := m.userClient(t, "alice", "alicepw")
	must[*clientv3.PutResponse](t)(alice.Put(ctx(t), "a/1", "v"))
	must[*clientv3.GetResponse](t)(alice.Get(ctx(t), "a/1"))

	must[*clientv3.AuthRoleRevokePermissionResponse](t)(root.RoleRevokePermission(ctx(t), "rw", "a/", "a0"))
	if _, err := alice.Put(ctx(t), "a/2", "v"); !errors.Is(err, rpctypes.ErrPermissionDenied) {
		t.Fatalf("put after the revoke: %v, want %v", err, rpctypes.ErrPermissionDenied)
	}
	if _, err := alice.Get(ctx(t), "a/1"); !errors.Is(err, rpctypes.ErrPermissionDenied) {
		t.Fatalf("get after the revoke: %v, want %v", err, rpctypes.ErrPermissionDenied)
	}
	must[*clientv3.AuthUserRevokeRoleResponse](t)(root.UserRevokeRole(ctx(t), "alice", "rw"))
	must[*clientv3.AuthRoleGrantPermissionResponse](t)(root.RoleGrantPermission(ctx(t), "rw", "a/", "a0", clientv3.PermissionType(authpb.READ)))
	must[*clientv3.AuthUserGrantRoleResponse](t)(root.UserGrantRole(ctx(t), "alice", "rw"))
	must[*clientv3.GetResponse](t)(alice.Get(ctx(t), "a/1"))
	if _, err := alice.Put(ctx(t), "a/3", "v"); !errors.Is(err, rpctypes.ErrPermissionDenied) {
		t.Fatalf("put with read only: %v", err)
	}
}

// TestAuthPasswordChangeInvalidatesTokens: once a password changes, the
// tokens issued with the old one stop working, and logging in with it fails.
func TestAuthPasswordChangeInvalidatesTokens(t *testing.T) {
	m := startMember(t, nil)
	admin := m.client(t)
	enableAuth(t, admin)
	root := m.userClient(t, "root", "rootpw")
	tok := rawToken(t, admin, "alice", "alicepw")
	alice := m.userClient(t, "alice", "alicepw")
	if err := rawPut(t, m, tok, "a/1"); err != nil {
		t.Fatal(err)
	}
	must[*clientv3.PutResponse](t)(alice.Put(ctx(t), "a/2", "v"))

	must[*clientv3.AuthUserChangePasswordResponse](t)(root.UserChangePassword(ctx(t), "alice", "newpw"))
	if err := rawPut(t, m, tok, "a/3"); !errors.Is(err, rpctypes.ErrGRPCInvalidAuthToken) {
		t.Fatalf("old token after a password change: %v, want %v", err, rpctypes.ErrGRPCInvalidAuthToken)
	}
	if _, err := alice.Put(ctx(t), "a/4", "v"); !errors.Is(err, rpctypes.ErrAuthFailed) {
		t.Fatalf("client with the old password: %v, want %v", err, rpctypes.ErrAuthFailed)
	}
	must[*clientv3.PutResponse](t)(m.userClient(t, "alice", "newpw").Put(ctx(t), "a/5", "v"))
}

// TestAuthPasswordsNeverStoredOrLogged: a password reaches neither the
// log nor the data dir (snapshots and WAL hold bcrypt hashes), and no
// answer carries it; auth state survives a restart from the log and from
// a snapshot.
func TestAuthPasswordsNeverStoredOrLogged(t *testing.T) {
	const secret = "Xq7-plain-text-password-9Zt"
	var logs lockedBuffer
	m := startMember(t, func(c *cluster.Config, _ *v3api.Config) {
		c.Logger = slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
		c.SnapshotCount = 5
	})
	c := m.client(t)
	must[*clientv3.AuthUserAddResponse](t)(c.UserAdd(ctx(t), "carol", secret))
	must[*clientv3.AuthUserChangePasswordResponse](t)(c.UserChangePassword(ctx(t), "carol", secret+"2"))
	enableAuth(t, c)
	carol := m.userClient(t, "carol", secret+"2")
	if _, err := carol.Get(ctx(t), "a/1"); !errors.Is(err, rpctypes.ErrPermissionDenied) {
		t.Fatalf("carol without a role: %v", err)
	}
	root := m.userClient(t, "root", "rootpw")
	for i := range 10 { // past SnapshotCount: a snapshot holds the users
		must[*clientv3.PutResponse](t)(root.Put(ctx(t), "k", string(rune('a'+i))))
	}

	m.restart()
	root = m.userClient(t, "root", "rootpw")
	st := must[*clientv3.AuthStatusResponse](t)(root.AuthStatus(ctx(t)))
	if !st.Enabled {
		t.Fatal("auth is off after a restart")
	}
	must[*clientv3.AuthUserGetResponse](t)(root.UserGet(ctx(t), "carol"))
	if _, err := m.userClient(t, "carol", secret+"2").Get(ctx(t), "a/1"); !errors.Is(err, rpctypes.ErrPermissionDenied) {
		t.Fatalf("carol after a restart: %v", err)
	}
	if err := m.loginErr("carol", secret); !errors.Is(err, rpctypes.ErrAuthFailed) {
		t.Fatalf("carol's first password after a restart: %v", err)
	}

	if bytes.Contains(logs.Bytes(), []byte(secret)) {
		t.Fatal("a password was logged")
	}
	err := filepath.WalkDir(m.dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if bytes.Contains(b, []byte(secret)) {
			t.Errorf("%s holds a password in plain text", path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// lockedBuffer is a log sink written from several goroutines.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) Bytes() []byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	return bytes.Clone(b.buf.Bytes())
}

var _ io.Writer = (*lockedBuffer)(nil)

// TestAuthTokenInAuthorization: the JSON gateway passes the token on as
// "authorization" metadata (etcd's swagger field), which counts as "token".
func TestAuthTokenInAuthorization(t *testing.T) {
	m := startMember(t, nil)
	enableAuth(t, m.client(t))
	tok := rawToken(t, m.client(t), "alice", "alicepw")
	cctx := metadata.AppendToOutgoingContext(context.Background(), rpctypes.TokenFieldNameSwagger, tok)
	if _, err := pb.NewKVClient(m.client(t).ActiveConnection()).Put(cctx, &pb.PutRequest{Key: []byte("a/x"), Value: []byte("v")}); err != nil {
		t.Fatalf("put with the token in authorization: %v", err)
	}
}

// TestAuthOverGateway: spec/v3.md §8's auth over the JSON gateway.
func TestAuthOverGateway(t *testing.T) {
	m := startMember(t, nil)
	code, _, body := httpDo(t, "POST", m.URL+"/v3/auth/authenticate", `{"name":"root","password":"rootpw"}`)
	if code != 400 || body != `{"code":9,"message":"etcdserver: authentication is not enabled"}` {
		t.Fatalf("authenticate with auth off: %d %s", code, body)
	}
	enableAuth(t, m.client(t))
	code, _, body = httpDo(t, "POST", m.URL+"/v3/auth/authenticate", `{"name":"alice","password":"alicepw"}`)
	var resp struct{ Token string }
	if code != 200 || json.Unmarshal([]byte(body), &resp) != nil || resp.Token == "" {
		t.Fatalf("authenticate: %d %s", code, body)
	}
	put := func(token string) (int, string) {
		req, err := http.NewRequestWithContext(ctx(t), "POST", m.URL+"/v3/kv/put", strings.NewReader(`{"key":"YS94","value":"dg=="}`))
		if err != nil {
			t.Fatal(err)
		}
		if token != "" {
			req.Header.Set("Authorization", token) // raw, no "Bearer"
		}
		r, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Body.Close()
		b, _ := io.ReadAll(r.Body)
		return r.StatusCode, string(b)
	}
	if code, body := put(resp.Token); code != 200 || !strings.Contains(body, `"revision"`) {
		t.Fatalf("put with the token: %d %s", code, body)
	}
	if code, body := put(""); code != 400 || body != `{"code":3,"message":"etcdserver: user name is empty"}` {
		t.Fatalf("put without a token: %d %s", code, body)
	}
	if code, body := put("bogus"); code != 401 || body != `{"code":16,"message":"etcdserver: invalid auth token"}` {
		t.Fatalf("put with a bad token: %d %s", code, body)
	}
}

// TestAuthTokensDoNotOutliveARestart: replaying the log after a restart
// does not open the sessions of the Authenticate entries again.
func TestAuthTokensDoNotOutliveARestart(t *testing.T) {
	m := startMember(t, nil)
	enableAuth(t, m.client(t))
	tok := rawToken(t, m.client(t), "alice", "alicepw")
	if err := rawPut(t, m, tok, "a/1"); err != nil {
		t.Fatal(err)
	}
	m.restart()
	if err := rawPut(t, m, tok, "a/2"); !errors.Is(err, rpctypes.ErrGRPCInvalidAuthToken) {
		t.Fatalf("a token from before the restart: %v", err)
	}
	if _, err := m.userClient(t, "alice", "alicepw").Put(ctx(t), "a/3", "v"); err != nil {
		t.Fatal(err)
	}
}
