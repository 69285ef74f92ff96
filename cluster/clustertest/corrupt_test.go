package clustertest

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"

	"github.com/larchkv/larch/cluster"
	"github.com/larchkv/larch/tree/mvcc"
)

// TestCorruptionDetected: a follower whose keyspace diverges (a write that
// never went through the log, as a bad disk or a bug would make) is found
// by the leader's periodic HashKV comparison, which raises CORRUPT for it,
// and by the initial check.
func TestCorruptionDetected(t *testing.T) {
	c := New(t, Config{Tune: func(cfg *cluster.Config) { cfg.CorruptCheckTime = 50 * time.Millisecond }})
	ctx := context.Background()
	cli := c.Client()
	for i := range 10 {
		if _, err := cli.Put(ctx, fmt.Sprintf("k%d", i), "v"); err != nil {
			t.Fatal(err)
		}
	}
	leader := c.WaitLeader()
	follower := c.Followers(leader)[0]
	if err := follower.Server().CheckInitialHashKV(ctx); err != nil {
		t.Fatalf("initial check on a healthy member: %v", err)
	}
	if got := leader.Server().Alarms(); len(got) != 0 {
		t.Fatalf("alarms before the divergence: %v", got)
	}

	// The injected write shifts the follower's revisions: from here on
	// its keyspace differs from the leader's at every revision.
	if _, _, err := follower.Server().KV().Put(mvcc.PutRequest{Key: []byte("k3"), Value: []byte("rot")}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := cli.Put(ctx, "after", "v"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the CORRUPT alarm", func() bool { return leader.Server().HasAlarm(pb.AlarmType_CORRUPT) })
	alarms, err := cli.AlarmList(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(alarms.Alarms) != 1 || alarms.Alarms[0].MemberID != uint64(follower.ID()) || alarms.Alarms[0].Alarm != pb.AlarmType_CORRUPT {
		t.Fatalf("alarms = %v, want CORRUPT of the follower %s", alarms.Alarms, follower.ID())
	}
	// The initial check compares at the checking member's revision: the
	// diverged follower is one revision ahead, so its peers cannot answer
	// it, but the leader's check finds the follower.
	if err := leader.Server().CheckInitialHashKV(ctx); !errors.Is(err, cluster.ErrCorruptPeers) {
		t.Fatalf("initial check against the diverged member: %v", err)
	}
}
