package clustertest

import (
	"context"
	"errors"
	"testing"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/larchkv/larch/cluster"
)

// waitFor polls cond until it holds or the deadline passes: the compactor
// acts on its own clock and announces nothing a client can wait on.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestAutoCompactionRevision: in revision mode the history kept stays
// bounded under a write loop, on every member, at the last N revisions.
func TestAutoCompactionRevision(t *testing.T) {
	const keep = 20
	c := New(t, Config{Tune: func(cfg *cluster.Config) {
		cfg.AutoCompactionMode = cluster.CompactionRevision
		cfg.AutoCompactionRevisions = keep
		cfg.AutoCompactionCheck = 20 * time.Millisecond
	}})
	ctx := context.Background()
	cli := c.Client()
	var rev int64
	for i := range 300 {
		resp, err := cli.Put(ctx, "hot", "v")
		if err != nil {
			t.Fatal(err)
		}
		rev = resp.Header.Revision
		if i == 150 {
			// Mid-loop, history is already being cut.
			waitFor(t, "a first compaction", func() bool { return c.Members()[0].Server().KV().CompactRev() > 0 })
		}
	}
	for _, m := range c.Members() {
		waitFor(t, m.Name+" to compact at rev-keep", func() bool { return m.Server().KV().CompactRev() == rev-keep })
	}
	if _, err := cli.Get(ctx, "hot", clientv3.WithRev(rev-keep-1)); !errors.Is(err, rpctypes.ErrCompacted) {
		t.Fatalf("read below the kept history: %v", err)
	}
	if _, err := cli.Get(ctx, "hot", clientv3.WithRev(rev-keep)); err != nil {
		t.Fatalf("read inside the kept history: %v", err)
	}
}

// TestAutoCompactionPeriodic: in periodic mode the leader compacts at the
// revision it saw about a period earlier, again and again.
func TestAutoCompactionPeriodic(t *testing.T) {
	const period = 300 * time.Millisecond
	c := New(t, Config{Tune: func(cfg *cluster.Config) {
		cfg.AutoCompactionMode = cluster.CompactionPeriodic
		cfg.AutoCompactionPeriod = period
	}})
	ctx := context.Background()
	cli := c.Client()
	kv := c.WaitLeader().Server().KV()
	var compactions []int64
	start := time.Now()
	for len(compactions) < 3 {
		resp, err := cli.Put(ctx, "hot", "v")
		if err != nil {
			t.Fatal(err)
		}
		if cr := kv.CompactRev(); cr > 0 && (len(compactions) == 0 || cr != compactions[len(compactions)-1]) {
			compactions = append(compactions, cr)
			if cr >= resp.Header.Revision {
				t.Fatalf("compacted at %d, the current revision %d: nothing was kept", cr, resp.Header.Revision)
			}
		}
		if time.Since(start) > 20*time.Second {
			t.Fatalf("compactions after 20s of writes: %v", compactions)
		}
	}
	if time.Since(start) < period {
		t.Fatalf("three compactions within %v, shorter than the period %v", time.Since(start), period)
	}
}

func TestParseCompactionRetention(t *testing.T) {
	for _, tc := range []struct {
		mode, retention string
		period          time.Duration
		revisions       int64
		ok              bool
	}{
		{"periodic", "1", time.Hour, 0, true},
		{"periodic", "90m", 90 * time.Minute, 0, true},
		{"revision", "1000", 0, 1000, true},
		{"revision", "1h", 0, 0, false},
		{"periodic", "x", 0, 0, false},
	} {
		p, r, err := cluster.ParseCompactionRetention(tc.mode, tc.retention)
		if (err == nil) != tc.ok || p != tc.period || r != tc.revisions {
			t.Errorf("ParseCompactionRetention(%q, %q) = %v, %d, %v", tc.mode, tc.retention, p, r, err)
		}
	}
}
