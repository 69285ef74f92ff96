package clustertest

import (
	"fmt"
	"strings"
	"testing"
	"time"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"

	"github.com/larchkv/larch/cluster"
	"github.com/larchkv/larch/tree/mvcc"
)

// TestSimpleTokenEndsWithASnapshotRestore (review 6): alice's simple
// token is known on every member; while one follower is cut off, root
// changes alice's password (every other member forgets her tokens). The
// follower catches up from a snapshot, which skips the change: it must
// not keep honouring the old token.
func TestSimpleTokenEndsWithASnapshotRestore(t *testing.T) {
	c := New(t, Config{Size: 3, Tune: func(cfg *cluster.Config) {
		cfg.SnapshotCount, cfg.SnapshotCatchUpEntries = 50, 10
		cfg.BcryptCost = 4
	}})
	leader := c.WaitLeader()
	admin := leader.Client()
	enableAuthWithAlice(t, admin)
	lagging := c.Followers(leader)[0]
	conn, err := grpc.NewClient(strings.TrimPrefix(lagging.ClientURL, "http://"), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	waitApplied(t, lagging, leader.Server().AppliedIndex())
	tok, err := pb.NewAuthClient(conn).Authenticate(ctxT(t, 10*time.Second), &pb.AuthenticateRequest{Name: "alice", Password: "alicepw"})
	if err != nil {
		t.Fatal(err)
	}
	waitApplied(t, lagging, leader.Server().AppliedIndex())
	read := func() error {
		cctx := metadata.AppendToOutgoingContext(ctxT(t, 10*time.Second), rpctypes.TokenFieldNameGRPC, tok.Token)
		_, err := pb.NewKVClient(conn).Range(cctx, &pb.RangeRequest{Key: []byte("k/a"), Serializable: true})
		return err
	}
	if err := read(); err != nil {
		t.Fatal(err)
	}

	c.Isolate(lagging)
	root, err := clientv3.New(clientv3.Config{Endpoints: []string{leader.ClientURL}, Username: "root", Password: "rootpw",
		DialTimeout: 5 * time.Second, Logger: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	if _, err := root.UserChangePassword(ctxT(t, 10*time.Second), "alice", "newpw"); err != nil {
		t.Fatal(err)
	}
	for i := range 300 {
		if _, err := root.Put(ctxT(t, 10*time.Second), fmt.Sprintf("x%d", i%10), "v"); err != nil {
			t.Fatal(err)
		}
	}
	c.Heal()
	waitApplied(t, lagging, leader.Server().AppliedIndex())
	if _, _, err := leader.Server().TokenInfo(tok.Token); err == nil {
		t.Fatal("leader still knows the token")
	}
	if user, _, err := lagging.Server().TokenInfo(tok.Token); err == nil {
		t.Errorf("after a snapshot restore, %s still honours alice's token from before her password change (user %q)", lagging.Name, user)
	}
	if err := read(); err == nil {
		t.Errorf("read with the old token succeeded on %s", lagging.Name)
	}
}

// TestNoUncheckedWriteAfterEnable (review 6): a member that has not
// applied AuthEnable yet takes requests without a token; proposed through
// it, they apply after auth is on and must be checked there (etcd refuses
// them at apply: user name is empty), never let through.
func TestNoUncheckedWriteAfterEnable(t *testing.T) {
	c := New(t, Config{Size: 3, Tune: func(cfg *cluster.Config) {
		cfg.BcryptCost = 4
		if cfg.Name == "m3" {
			cfg.ElectionTicks = 1000 // stays a quiet follower while it hears nothing
		}
	}})
	leader := c.WaitLeader()
	if leader.Name == "m3" {
		t.Skip("m3 leads")
	}
	var lagging *Member
	for _, m := range c.Members() {
		if m.Name == "m3" {
			lagging = m
		}
	}
	admin := leader.Client()
	addRoot(t, admin)
	waitApplied(t, lagging, leader.Server().AppliedIndex())
	c.DropOneWay(leader, lagging) // the lagging member still hears nothing new
	if _, err := admin.AuthEnable(ctxT(t, 10*time.Second)); err != nil {
		t.Fatal(err)
	}
	conn, err := grpc.NewClient(strings.TrimPrefix(lagging.ClientURL, "http://"), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// No token: the lagging member sees auth off and proposes at revision 0.
	pb.NewKVClient(conn).Put(ctxT(t, time.Second), &pb.PutRequest{Key: []byte("pwned"), Value: []byte("x")})
	pb.NewAuthClient(conn).UserAdd(ctxT(t, time.Second), &pb.AuthUserAddRequest{Name: "evil", Password: "evil"})
	c.Heal()
	if _, err := admin.Put(ctxT(t, 10*time.Second), "x", "y"); err == nil {
		t.Fatal("admin put without a token after enable")
	}
	if _, ok := leader.Server().Auth().User("evil"); ok {
		t.Errorf("an unauthenticated UserAdd applied after auth enable")
	}
	if res, err := leader.Server().KV().Range(mvcc.RangeRequest{Key: []byte("pwned")}); err == nil && len(res.KVs) > 0 {
		t.Errorf("an unauthenticated Put applied after auth enable")
	}
}
