package clustertest

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/larchkv/larch/cluster"
)

var joinKey = []byte("0123456789abcdef0123456789abcdef")

func withJoinKey(cfg *cluster.Config) { cfg.JoinKey = joinKey }

// TestJoinNeedsTheKey: a member may be added through the peer port only
// with a request signed by the key the cluster's members hold; a cluster
// started without one refuses every such request.
func TestJoinNeedsTheKey(t *testing.T) {
	c := New(t, Config{Size: 1, Tune: withJoinKey})
	for _, tc := range []struct {
		name string
		key  []byte
		want string
	}{
		{"wrong key", []byte("another key, from another token!"), "not signed with this cluster's discovery token"},
		{"no key", nil, "not signed with this cluster's discovery token"},
	} {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		_, err := c.JoinByKey(ctx, tc.key)
		cancel()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Fatalf("%s: %v", tc.name, err)
		}
	}
	if n := len(c.Members()[0].Server().Members()); n != 1 {
		t.Fatalf("refused joins added members: %d", n)
	}

	plain := New(t, Config{Size: 1})
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if _, err := plain.JoinByKey(ctx, joinKey); err == nil || !strings.Contains(err.Error(), "not started with a discovery token") {
		t.Fatalf("a cluster without a join key: %v", err)
	}
}

// TestJoinAsLearnerThenPromote: a member joining by key starts as a
// learner and promotes itself once caught up, unless the cluster has
// enough voters.
func TestJoinAsLearnerThenPromote(t *testing.T) {
	c := New(t, Config{Size: 3, Tune: withJoinKey})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if _, err := c.Client().Put(ctx, "before", "join"); err != nil {
		t.Fatal(err)
	}
	m, err := c.JoinByKey(ctx, joinKey)
	if err != nil {
		t.Fatal(err)
	}
	waitSelfApplied(t, m)
	if !m.Server().IsLearner() {
		t.Fatal("a member that joined by key is not a learner")
	}
	// Three voters already: with at most three it stays a learner, though
	// it has caught up (the retries below would promote it otherwise).
	waitCaughtUp(t, c, m)
	few, stop := context.WithTimeout(ctx, 5*500*time.Millisecond)
	defer stop()
	if err := m.Server().PromoteSelf(few, 3); !errors.Is(err, context.DeadlineExceeded) || !m.Server().IsLearner() {
		t.Fatalf("promoted beyond --discovery-max-voters: %v, learner %v", err, m.Server().IsLearner())
	}
	if err := m.Server().PromoteSelf(ctx, 5); err != nil {
		t.Fatal(err)
	}
	for _, mm := range c.WaitLeader().Server().Members() {
		if mm.IsLearner {
			t.Fatalf("still a learner after PromoteSelf: %+v", mm)
		}
	}
	if m.Server().IsLearner() {
		t.Fatal("the member does not know it votes")
	}
}

// TestReplaceDeadMemberByKey: a dead member removed, a new one joining by
// key takes its place as a voter, and the cluster serves writes.
func TestReplaceDeadMemberByKey(t *testing.T) {
	c := New(t, Config{Size: 3, Tune: withJoinKey})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	dead := c.Members()[2]
	dead.Kill()
	leader := c.WaitLeader()
	if _, err := leader.Server().RemoveMember(ctx, dead.ID()); err != nil {
		t.Fatal(err)
	}
	c.forget(dead)
	m, err := c.JoinByKey(ctx, joinKey)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Server().PromoteSelf(ctx, 5); err != nil {
		t.Fatal(err)
	}
	var want []cluster.MemberID
	for _, r := range c.Running() {
		want = append(want, r.ID())
	}
	waitMembership(t, c, memberIDsOf(want))
	if _, err := c.Client().Put(ctx, "after", "replace"); err != nil {
		t.Fatal(err)
	}
}

func memberIDsOf(ids []cluster.MemberID) []cluster.MemberID {
	var ms []cluster.Member
	for _, id := range ids {
		ms = append(ms, cluster.Member{ID: id})
	}
	return memberIDs(ms)
}

// waitSelfApplied waits until m has applied the entry that added it.
func waitSelfApplied(t *testing.T, m *Member) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		for _, mm := range m.Server().Members() {
			if mm.ID == m.ID() {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s never applied its own addition", m.Name)
		}
		// The membership reaches the member with the log; nothing to wait on.
		time.Sleep(10 * time.Millisecond)
	}
}

// waitCaughtUp waits until learner m has applied what the leader has.
func waitCaughtUp(t *testing.T, c *Cluster, m *Member) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for m.Server().AppliedIndex() < c.WaitLeader().Server().AppliedIndex() {
		if time.Now().After(deadline) {
			t.Fatalf("%s did not catch up", m.Name)
		}
		// Entries reach the learner with the log; nothing to wait on.
		time.Sleep(10 * time.Millisecond)
	}
}

func peerURLs(ms []*Member) []string {
	var out []string
	for _, m := range ms {
		out = append(out, m.PeerURL)
	}
	return out
}

// TestJoinRefusesATakenName: a newcomer named as a running member is
// refused before anything is added, and a well-named one joins after it.
func TestJoinRefusesATakenName(t *testing.T) {
	c := New(t, Config{Size: 3, Tune: withJoinKey})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	dup := c.newMember("m1")
	err := cluster.JoinAsLearner(ctx, &dup.cfg, peerURLs(c.Running()[:3]), joinKey)
	c.forget(dup)
	if err == nil || !strings.Contains(err.Error(), `member name "m1" is taken`) {
		t.Fatalf("a taken name: %v", err)
	}
	if n := len(c.WaitLeader().Server().Members()); n != 3 {
		t.Fatalf("%d members after a refused join", n)
	}
	if _, err := c.JoinByKey(ctx, joinKey); err != nil {
		t.Fatal(err)
	}
}

// TestJoinRefusesAWipedMember: a member that ran, whose data dir is gone,
// is not let back in under its old ID with an empty log.
func TestJoinRefusesAWipedMember(t *testing.T) {
	c := New(t, Config{Size: 3, Tune: func(cfg *cluster.Config) { cfg.JoinKey = joinKey; cfg.SkipReconfigChecks = true }})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	victim := c.Members()[2]
	victim.Kill()
	if err := os.RemoveAll(victim.DataDir); err != nil {
		t.Fatal(err)
	}
	cfg := victim.cfg
	err := cluster.JoinAsLearner(ctx, &cfg, peerURLs(c.Running()), joinKey)
	if err == nil || !strings.Contains(err.Error(), "already ran in this cluster") {
		t.Fatalf("a wiped member: %v", err)
	}
}

// TestUnstartedInitialMemberComesBack: an initial member that stopped
// before it wrote its log (its peers started without it) comes back
// through the join path as the member the cluster already lists.
func TestUnstartedInitialMemberComesBack(t *testing.T) {
	c := &Cluster{t: t, token: "clustertest", tune: withJoinKey, drops: map[[2]cluster.MemberID]bool{}}
	var initial []cluster.InitialMember
	for i := range 3 {
		m := c.newMember(fmt.Sprintf("m%d", i+1))
		initial = append(initial, cluster.InitialMember{Name: m.Name, PeerURLs: []string{m.PeerURL}})
	}
	t.Cleanup(c.Terminate)
	ms := c.Members()
	errs := make(chan error, 2)
	for _, m := range ms[:2] {
		m.cfg.InitialCluster = initial
		go func() { errs <- m.start() }()
	}
	for range 2 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	late := ms[2]
	if err := cluster.JoinAsLearner(ctx, &late.cfg, peerURLs(ms[:2]), joinKey); err != nil {
		t.Fatal(err)
	}
	if err := late.start(); err != nil {
		t.Fatal(err)
	}
	waitSelfApplied(t, late)
	if late.Server().IsLearner() || len(late.Server().Members()) != 3 {
		t.Fatalf("came back as learner %v with %d members", late.Server().IsLearner(), len(late.Server().Members()))
	}
	if _, err := c.Client().Put(ctx, "all", "three"); err != nil {
		t.Fatal(err)
	}
}

// TestJoinRequestReplayRefused: a captured signed join request is taken
// once only.
func TestJoinRequestReplayRefused(t *testing.T) {
	c := New(t, Config{Size: 1, Tune: withJoinKey})
	m := c.Members()[0]
	body, err := json.Marshal(map[string]any{"name": "x", "peerURLs": []string{"http://127.0.0.1:1"}, "clusterID": m.Server().ClusterID().String(),
		"time": time.Now().Unix(), "nonce": "0123"})
	if err != nil {
		t.Fatal(err)
	}
	mac := hmac.New(sha256.New, joinKey)
	mac.Write(body)
	post := func() int {
		req, err := http.NewRequest(http.MethodPost, m.PeerURL+"/larch/join", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("X-Larch-Join-Mac", hex.EncodeToString(mac.Sum(nil)))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := post(); code != http.StatusOK {
		t.Fatalf("first request: %d", code)
	}
	if code := post(); code != http.StatusForbidden {
		t.Fatalf("replayed request: %d", code)
	}
}
