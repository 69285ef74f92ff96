package clustertest

import (
	"context"
	"fmt"
	"testing"
	"time"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"

	"github.com/larchkv/larch/cluster"
)

// TestV2Backup: etcdctl v2's offline `backup` of a stopped member makes a
// data dir a new single-member cluster starts from, with the v2 tree (and
// the v3 keyspace with --with-v3), new IDs, and room for writes; from a
// log that still starts at the bootstrap and from one cut by a snapshot.
func TestV2Backup(t *testing.T) {
	for _, tc := range []struct {
		name          string
		snapshotCount uint64
		withV3        bool
	}{
		{"bootstrap log, v2 only", 0, false},
		{"bootstrap log, with v3", 0, true},
		{"after a snapshot, with v3", 20, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := New(t, Config{Tune: func(cfg *cluster.Config) {
				if tc.snapshotCount > 0 {
					cfg.SnapshotCount = tc.snapshotCount
				}
			}})
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			leader := src.WaitLeader()
			for i := range 50 {
				if _, err := leader.Server().ProposeV2(ctx, &pb.Request{Method: "PUT", Path: fmt.Sprintf("/v2key%d", i%5), Val: fmt.Sprint(i)}); err != nil {
					t.Fatal(err)
				}
				if _, err := src.Client().Put(ctx, fmt.Sprintf("v3key%d", i%5), fmt.Sprint(i)); err != nil {
					t.Fatal(err)
				}
			}
			old := src.Followers(leader)[0]
			waitFor(t, "the follower to apply everything", func() bool {
				return old.Server().AppliedIndex() >= leader.Server().AppliedIndex()
			})
			old.Stop()

			dst := New(t, Config{Size: 1, Prepare: func(cfg *cluster.Config) error {
				return cluster.BackupDataDir(cluster.BackupConfig{DataDir: old.DataDir, BackupDir: cfg.DataDir, WithV3: tc.withV3})
			}})
			m := dst.Members()[0]
			m.WaitReady()
			if m.ID() == old.ID() || m.Server().ClusterID() == leader.Server().ClusterID() {
				t.Fatalf("the backup kept the member %s or the cluster %s", m.ID(), m.Server().ClusterID())
			}
			ev, err := m.Server().V2().Get("/v2key3", false, false, time.Now())
			if err != nil || ev.Node.Value == nil || *ev.Node.Value != "48" {
				t.Fatalf("v2 key after the backup: %+v %v", ev, err)
			}
			got, err := m.Client().Get(ctx, "v3key3")
			if err != nil {
				t.Fatal(err)
			}
			if tc.withV3 && (len(got.Kvs) != 1 || string(got.Kvs[0].Value) != "48") || !tc.withV3 && len(got.Kvs) != 0 {
				t.Fatalf("v3 key after the backup (with v3: %v): %v", tc.withV3, got.Kvs)
			}
			if _, err := m.Client().Put(ctx, "after", "backup"); err != nil {
				t.Fatal(err)
			}
			if _, err := m.Server().ProposeV2(ctx, &pb.Request{Method: "PUT", Path: "/after", Val: "backup"}); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestV2BackupDropsUncommitted: a leader cut off from its followers keeps
// a write it never committed at the end of its log; a backup of it must
// not turn that write into committed data.
func TestV2BackupDropsUncommitted(t *testing.T) {
	src := New(t, Config{})
	ctx := context.Background()
	if _, err := src.Client().Put(ctx, "committed", "1"); err != nil {
		t.Fatal(err)
	}
	leader := src.WaitLeader()
	for _, f := range src.Followers(leader) {
		f.Stop()
	}
	pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	if _, err := leader.Client().Put(pctx, "uncommitted", "never-acknowledged"); err == nil {
		t.Fatal("a put without quorum succeeded")
	}
	cancel()
	leader.Stop()

	dst := New(t, Config{Size: 1, Prepare: func(cfg *cluster.Config) error {
		return cluster.BackupDataDir(cluster.BackupConfig{DataDir: leader.DataDir, BackupDir: cfg.DataDir, WithV3: true})
	}})
	for key, want := range map[string]int{"committed": 1, "uncommitted": 0} {
		got, err := dst.Client().Get(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		if len(got.Kvs) != want {
			t.Fatalf("%s in the backup: %v", key, got.Kvs)
		}
	}
}
