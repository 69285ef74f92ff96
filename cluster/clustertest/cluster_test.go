package clustertest

import (
	"context"
	"fmt"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/goleak"

	"github.com/larchkv/larch/cluster"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		// etcd's client keeps a resolver goroutine a little after Close.
		goleak.IgnoreTopFunction("google.golang.org/grpc/internal/grpcsync.(*CallbackSerializer).run"),
	)
}

func ctxT(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// mustGet reads key from m alone, serializable or not, and returns its value.
func mustGet(t *testing.T, m *Member, key string, serializable bool) string {
	t.Helper()
	cli := m.Client()
	var opts []clientv3.OpOption
	if serializable {
		opts = append(opts, clientv3.WithSerializable())
	}
	resp, err := cli.Get(ctxT(t, 10*time.Second), key, opts...)
	if err != nil {
		t.Fatalf("get %s from %s: %v", key, m.Name, err)
	}
	if len(resp.Kvs) == 0 {
		return ""
	}
	return string(resp.Kvs[0].Value)
}

func TestClusterElectsAndServesWritesThroughAnyMember(t *testing.T) {
	for _, size := range []int{3, 5} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			c := New(t, Config{Size: size})
			leader := c.WaitLeader()
			for _, m := range c.Members() {
				if got := m.Server().Leader(); got != leader.ID() {
					t.Fatalf("%s sees leader %s, want %s", m.Name, got, leader.ID())
				}
				if n := len(m.Server().Members()); n != size {
					t.Fatalf("%s has %d members, want %d", m.Name, n, size)
				}
			}
			for _, m := range c.Members() {
				if _, err := m.Client().Put(ctxT(t, 10*time.Second), "via-"+m.Name, m.Name); err != nil {
					t.Fatalf("put through %s: %v", m.Name, err)
				}
			}
			// Linearizable reads on every member see every write.
			for _, m := range c.Members() {
				for _, w := range c.Members() {
					if got := mustGet(t, m, "via-"+w.Name, false); got != w.Name {
						t.Fatalf("%s reads via-%s = %q", m.Name, w.Name, got)
					}
				}
			}
		})
	}
}

func TestLeaderKilledNewLeaderKeepsAcknowledgedWrites(t *testing.T) {
	c := New(t, Config{Size: 3})
	cli := c.Client()
	for i := range 50 {
		if _, err := cli.Put(ctxT(t, 10*time.Second), fmt.Sprintf("k%02d", i), fmt.Sprint(i)); err != nil {
			t.Fatal(err)
		}
	}
	old := c.WaitLeader()
	old.Kill()
	lead := c.WaitLeader()
	if lead == old {
		t.Fatal("the killed member still leads")
	}
	for _, m := range c.Running() {
		resp, err := m.Client().Get(ctxT(t, 10*time.Second), "k", clientv3.WithPrefix())
		if err != nil {
			t.Fatalf("get from %s: %v", m.Name, err)
		}
		if len(resp.Kvs) != 50 {
			t.Fatalf("%s has %d of the 50 acknowledged keys", m.Name, len(resp.Kvs))
		}
	}
	if _, err := lead.Client().Put(ctxT(t, 10*time.Second), "after", "x"); err != nil {
		t.Fatal(err)
	}
	old.Restart()
	c.WaitLeader()
	waitValue(t, old, "after", "x")
}

// waitValue waits until a serializable read of key on m gives want: a
// follower applies a commit a moment after the leader acknowledged it.
func waitValue(t *testing.T, m *Member, key, want string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		got := mustGet(t, m, key, true)
		if got == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %s = %q, want %q", m.Name, key, got, want)
		}
		// Replication to a follower has no event a client can wait on.
		time.Sleep(10 * time.Millisecond)
	}
}

func TestPartitionedMinorityRefusesWritesAndLinearizableReads(t *testing.T) {
	c := New(t, Config{Size: 3})
	if _, err := c.Client().Put(ctxT(t, 10*time.Second), "k", "before"); err != nil {
		t.Fatal(err)
	}
	leader := c.WaitLeader()
	minority := c.Followers(leader)[0]
	waitValue(t, minority, "k", "before")
	c.Isolate(minority)
	mcli := minority.Client()

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	_, err := mcli.Put(ctx, "k", "minority")
	cancel()
	if err == nil {
		t.Fatal("a put through the isolated member succeeded")
	}
	ctx, cancel = context.WithTimeout(context.Background(), 2*time.Second)
	_, err = mcli.Get(ctx, "k")
	cancel()
	if err == nil {
		t.Fatal("a linearizable read on the isolated member succeeded")
	}
	if got := mustGet(t, minority, "k", true); got != "before" {
		t.Fatalf("serializable read on the isolated member = %q", got)
	}

	// The majority goes on.
	if _, err := leader.Client().Put(ctxT(t, 10*time.Second), "k", "majority"); err != nil {
		t.Fatal(err)
	}
	c.Heal()
	waitValue(t, minority, "k", "majority")
	if got := mustGet(t, minority, "k", false); got != "majority" {
		t.Fatalf("after healing, linearizable read = %q", got)
	}
}

func TestMemberOfflineForManySnapshotsCatchesUpFromSnapshot(t *testing.T) {
	c := New(t, Config{Size: 3, Tune: func(cfg *cluster.Config) { cfg.SnapshotCount, cfg.SnapshotCatchUpEntries = 50, 10 }})
	leader := c.WaitLeader()
	lagging := c.Followers(leader)[0]
	lagging.Stop()
	cli := leader.Client()
	// Many snapshots later, the entries the member misses are long gone
	// from the leader's log: it can only be sent a snapshot.
	for i := range 2000 {
		if _, err := cli.Put(ctxT(t, 10*time.Second), fmt.Sprintf("key-%d", i%100), fmt.Sprint(i)); err != nil {
			t.Fatal(err)
		}
	}
	lagging.Restart()
	waitValue(t, lagging, "key-99", "1999")
	if _, err := cli.Put(ctxT(t, 10*time.Second), "after", "snapshot"); err != nil {
		t.Fatal(err)
	}
	waitValue(t, lagging, "after", "snapshot")
	lr, err := lagging.Client().Get(ctxT(t, 10*time.Second), "key-", clientv3.WithPrefix(), clientv3.WithSerializable())
	if err != nil {
		t.Fatal(err)
	}
	ld, err := cli.Get(ctxT(t, 10*time.Second), "key-", clientv3.WithPrefix())
	if err != nil {
		t.Fatal(err)
	}
	if len(lr.Kvs) != 100 || lr.Header.Revision != ld.Header.Revision {
		t.Fatalf("lagging member: %d keys at revision %d; leader: %d at %d", len(lr.Kvs), lr.Header.Revision, len(ld.Kvs), ld.Header.Revision)
	}
	for i := range lr.Kvs {
		if string(lr.Kvs[i].Value) != string(ld.Kvs[i].Value) || lr.Kvs[i].ModRevision != ld.Kvs[i].ModRevision {
			t.Fatalf("key %s differs: %s@%d vs %s@%d", lr.Kvs[i].Key, lr.Kvs[i].Value, lr.Kvs[i].ModRevision, ld.Kvs[i].Value, ld.Kvs[i].ModRevision)
		}
	}
}

func TestNoLeaderRequestsFailInsteadOfHanging(t *testing.T) {
	c := New(t, Config{Size: 3})
	if _, err := c.Client().Put(ctxT(t, 10*time.Second), "k", "v"); err != nil {
		t.Fatal(err)
	}
	survivor := c.Members()[0]
	waitValue(t, survivor, "k", "v")
	for _, m := range c.Members()[1:] {
		m.Stop()
	}
	cli := survivor.Client()
	// The client would wait far longer than the server: whatever comes
	// back first is the server's own bounded answer.
	ctx := ctxT(t, 5*time.Minute)
	readErr := make(chan error, 1)
	go func() { readErr <- survivor.Server().LinearizableReadNotify(ctx) }()
	if _, err := cli.Put(ctx, "k", "no-leader"); err == nil || ctx.Err() != nil {
		t.Fatalf("put without a quorum: %v (client context: %v)", err, ctx.Err())
	}
	if err := <-readErr; err == nil || ctx.Err() != nil {
		t.Fatalf("linearizable read without a leader: %v", err)
	}
	if got := mustGet(t, survivor, "k", true); got != "v" {
		t.Fatalf("serializable read without a leader = %q", got)
	}
}
