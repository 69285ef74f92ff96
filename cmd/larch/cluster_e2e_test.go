package main

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// newClusterProcesses prepares n larch processes that form one cluster
// from etcd's static bootstrap flags.
func newClusterProcesses(t *testing.T, n int) []*process {
	return newClusterProcessesWith(t, n, "e", "http", func(int) []string { return nil })
}

// newClusterProcessesWith prepares n processes named prefix1..prefixN
// whose client and peer URLs have the scheme, with extra flags each.
func newClusterProcessesWith(t *testing.T, n int, prefix, scheme string, extra func(i int) []string) []*process {
	var ps []*process
	var initial []string
	for i := range n {
		p := &process{t: t, dataDir: filepath.Join(t.TempDir(), "data"), client: freeAddr(t), peer: freeAddr(t)}
		ps = append(ps, p)
		initial = append(initial, fmt.Sprintf("%s%d=%s://%s", prefix, i+1, scheme, p.peer))
		t.Cleanup(func() {
			if p.cmd != nil {
				p.kill()
			}
		})
	}
	for i, p := range ps {
		p.args = append([]string{"--name", fmt.Sprintf("%s%d", prefix, i+1), "--data-dir", p.dataDir,
			"--listen-client-urls", scheme + "://" + p.client, "--advertise-client-urls", scheme + "://" + p.client,
			"--listen-peer-urls", scheme + "://" + p.peer, "--initial-advertise-peer-urls", scheme + "://" + p.peer,
			"--initial-cluster", strings.Join(initial, ","), "--initial-cluster-token", "e2e-token",
			"--initial-cluster-state", "new", "--heartbeat-interval", "10", "--election-timeout", "100"}, extra(i)...)
	}
	return ps
}

// startAll launches every process, then waits until each serves a
// linearizable read: none can before a quorum is up.
func startAll(t *testing.T, ps []*process) {
	t.Helper()
	for _, p := range ps {
		if err := p.launch(); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range ps {
		p.waitReady()
	}
}

func leaderOf(t *testing.T, ps []*process) *process {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		for _, p := range ps {
			if p.cmd == nil {
				continue
			}
			c := p.newClient()
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			st, err := c.Status(ctx, p.client)
			cancel()
			c.Close()
			if err == nil && st.Leader != 0 && st.Leader == st.Header.MemberId {
				return p
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("no leader")
		}
		time.Sleep(20 * time.Millisecond) // leadership has no event to wait on from outside
	}
}

func TestThreeProcessCluster(t *testing.T) {
	ps := newClusterProcesses(t, 3)
	startAll(t, ps)
	c := ps[0].newClient()
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	ml, err := c.MemberList(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(ml.Members) != 3 {
		t.Fatalf("member list has %d members", len(ml.Members))
	}
	for _, m := range ml.Members {
		if !strings.HasPrefix(m.Name, "e") || len(m.ClientURLs) != 1 || m.IsLearner {
			t.Fatalf("member %+v", m)
		}
	}
	// Writes through every member.
	for i, p := range ps {
		pc := p.newClient()
		_, err := pc.Put(ctx, fmt.Sprintf("w/%d", i), "v")
		pc.Close()
		if err != nil {
			t.Fatalf("put through %s: %v", p.client, err)
		}
	}

	// SIGKILL the leader: the others elect a new one and keep every write.
	old := leaderOf(t, ps)
	old.kill()
	var rest []*process
	for _, p := range ps {
		if p != old {
			rest = append(rest, p)
		}
	}
	leaderOf(t, rest)
	rc := rest[0].newClient()
	defer rc.Close()
	if _, err := rc.Put(ctx, "w/after-kill", "v"); err != nil {
		t.Fatal(err)
	}
	resp, err := rc.Get(ctx, "w/", clientv3.WithPrefix())
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Kvs) != 4 {
		t.Fatalf("after killing the leader, %d of 4 writes are there", len(resp.Kvs))
	}

	// The killed member restarts with the same flags, which it ignores
	// now that its data dir holds the cluster, and catches up.
	if err := old.launch(); err != nil {
		t.Fatal(err)
	}
	old.waitReady()
	oc := old.newClient()
	defer oc.Close()
	resp, err = oc.Get(ctx, "w/", clientv3.WithPrefix())
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Kvs) != 4 {
		t.Fatalf("the restarted member has %d of 4 writes", len(resp.Kvs))
	}

	// A removed member stops, and exits 0 as etcd's does.
	victim := rest[1]
	st, err := rc.Status(ctx, victim.client)
	if err != nil {
		t.Fatal(err)
	}
	// The restarted member counts as connected only after etcd's 5 s of
	// health; until then the removal is refused as unsafe, and retried.
	for {
		_, err := rc.MemberRemove(ctx, st.Header.MemberId)
		if err == nil {
			break
		}
		if !strings.Contains(err.Error(), "unhealthy cluster") {
			t.Fatal(err)
		}
		time.Sleep(200 * time.Millisecond) // the health interval has no event
	}
	select {
	case err := <-victim.exited:
		victim.cmd = nil
		if err != nil {
			t.Fatalf("the removed member exited with %v\n%s", err, victim.stderr.String())
		}
		if !strings.Contains(victim.stderr.String(), "the member has been permanently removed from the cluster") {
			t.Fatalf("the removed member did not say why it stopped:\n%s", victim.stderr.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the removed member still runs")
	}
	for _, p := range []*process{old, rest[0]} {
		p.terminate()
	}
}
