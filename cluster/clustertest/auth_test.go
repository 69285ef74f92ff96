package clustertest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.etcd.io/etcd/api/v3/authpb"
	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"

	"go.uber.org/zap"

	"github.com/larchkv/larch/auth/token"
	"github.com/larchkv/larch/cluster"
)

// writeECKeys writes a fresh P-256 key pair as PEM files and returns
// their paths.
func writeECKeys(t *testing.T) (priv, pub string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	privDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	pubDER, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	priv, pub = filepath.Join(dir, "jwt.key"), filepath.Join(dir, "jwt.pub")
	if err := os.WriteFile(priv, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: privDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(pub, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER}), 0o644); err != nil {
		t.Fatal(err)
	}
	return priv, pub
}

// TestJWTTokensWorkOnEveryMember: a JWT issued by one member is verified by
// every member of the cluster; one signed with another key is refused
// everywhere; an auth change makes older tokens old, and the client logs in
// again.
func TestJWTTokensWorkOnEveryMember(t *testing.T) {
	priv, pub := writeECKeys(t)
	opts := "jwt,pub-key=" + pub + ",priv-key=" + priv + ",sign-method=ES256,ttl=10m"
	c := New(t, Config{Size: 3, Tune: func(cfg *cluster.Config) { cfg.AuthToken = opts }})
	c.WaitLeader()
	admin := c.Client()
	enableAuthWithAlice(t, admin)

	members := c.Members()
	auth, err := pb.NewAuthClient(members[0].Client().ActiveConnection()).Authenticate(ctxT(t, 10*time.Second),
		&pb.AuthenticateRequest{Name: "alice", Password: "alicepw"})
	if err != nil {
		t.Fatal(err)
	}
	// Plain gRPC connections: etcd's client would retry and log in again.
	conns := map[*Member]*grpc.ClientConn{}
	for _, m := range members {
		conn, err := grpc.NewClient(strings.TrimPrefix(m.ClientURL, "http://"), grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		conns[m] = conn
	}
	put := func(m *Member, token, key string) error {
		cctx := metadata.AppendToOutgoingContext(ctxT(t, 10*time.Second), rpctypes.TokenFieldNameGRPC, token)
		_, err := pb.NewKVClient(conns[m]).Put(cctx, &pb.PutRequest{Key: []byte(key), Value: []byte("v")})
		return err
	}
	for _, m := range members {
		if err := put(m, auth.Token, "k/"+m.Name); err != nil {
			t.Fatalf("%s refused a token %s issued: %v", m.Name, members[0].Name, err)
		}
		if err := put(m, auth.Token, "z"); !errors.Is(err, rpctypes.ErrGRPCPermissionDenied) {
			t.Fatalf("%s: put outside alice's range: %v", m.Name, err)
		}
	}

	// The same claims signed with another key.
	otherPriv, otherPub := writeECKeys(t)
	forger, err := token.NewJWT(token.Options{Type: "jwt", PubKey: otherPub, PrivKey: otherPriv, SignMethod: "ES256"})
	if err != nil {
		t.Fatal(err)
	}
	forged, err := forger.Assign("", 0, "alice", members[0].Server().Auth().Revision(), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range members {
		if err := put(m, forged, "k/forged"); !errors.Is(err, rpctypes.ErrGRPCInvalidAuthToken) {
			t.Fatalf("%s: a token signed with another key: %v", m.Name, err)
		}
	}

	// An auth change: the token is old on every member; etcd's client
	// logs in again by itself.
	if _, err := members[0].Client().RoleAdd(ctxT(t, 10*time.Second), "other"); !errors.Is(err, rpctypes.ErrUserEmpty) {
		t.Fatalf("role add without a token: %v", err)
	}
	rootCli, err := clientv3.New(clientv3.Config{Endpoints: []string{members[1].ClientURL}, Username: "root", Password: "rootpw",
		DialTimeout: 5 * time.Second, Logger: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	defer rootCli.Close()
	if _, err := rootCli.RoleAdd(ctxT(t, 10*time.Second), "other"); err != nil {
		t.Fatal(err)
	}
	for _, m := range members {
		waitApplied(t, m, members[1].Server().AppliedIndex())
		if err := put(m, auth.Token, "k/old"); !errors.Is(err, rpctypes.ErrGRPCAuthOldRevision) {
			t.Fatalf("%s: a token older than an auth change: %v", m.Name, err)
		}
	}
	alice, err := clientv3.New(clientv3.Config{Endpoints: []string{members[2].ClientURL}, Username: "alice", Password: "alicepw",
		DialTimeout: 5 * time.Second, Logger: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	defer alice.Close()
	if _, err := alice.Put(ctxT(t, 10*time.Second), "k/again", "v"); err != nil {
		t.Fatal(err)
	}
}

// addRoot makes user root (password rootpw) holding the root role.
func addRoot(t *testing.T, admin *clientv3.Client) {
	t.Helper()
	for _, step := range []func() error{
		func() error { _, err := admin.UserAdd(ctxT(t, 10*time.Second), "root", "rootpw"); return err },
		func() error { _, err := admin.RoleAdd(ctxT(t, 10*time.Second), "root"); return err },
		func() error { _, err := admin.UserGrantRole(ctxT(t, 10*time.Second), "root", "root"); return err },
	} {
		if err := step(); err != nil {
			t.Fatal(err)
		}
	}
}

// enableAuthWithAlice makes root, role rw (READWRITE on the prefix k/),
// user alice (password alicepw) holding it, and turns auth on.
func enableAuthWithAlice(t *testing.T, admin *clientv3.Client) {
	t.Helper()
	addRoot(t, admin)
	for _, step := range []func() error{
		func() error { _, err := admin.RoleAdd(ctxT(t, 10*time.Second), "rw"); return err },
		func() error {
			_, err := admin.RoleGrantPermission(ctxT(t, 10*time.Second), "rw", "k/", "k0", clientv3.PermissionType(authpb.READWRITE))
			return err
		},
		func() error { _, err := admin.UserAdd(ctxT(t, 10*time.Second), "alice", "alicepw"); return err },
		func() error { _, err := admin.UserGrantRole(ctxT(t, 10*time.Second), "alice", "rw"); return err },
		func() error { _, err := admin.AuthEnable(ctxT(t, 10*time.Second)); return err },
	} {
		if err := step(); err != nil {
			t.Fatal(err)
		}
	}
}
