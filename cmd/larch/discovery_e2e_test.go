package main

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// discoveryProcess is a member started with a discovery token instead of
// an initial cluster.
func discoveryProcess(t *testing.T, name, token string, size int, gossip string, seeds ...string) *process {
	return bootstrapProcess(t, name, "--discovery-token", token, "--discovery-size", fmt.Sprint(size), "--discovery-bind-addr", gossip,
		"--discovery-join", strings.Join(seeds, ","), "--discovery-timeout", "30s")
}

// bootstrapProcess is a member that finds its cluster with bootstrap,
// flags other than --initial-cluster.
func bootstrapProcess(t *testing.T, name string, bootstrap ...string) *process {
	p := &process{t: t, dataDir: filepath.Join(t.TempDir(), "data"), client: freeAddr(t), peer: freeAddr(t)}
	p.args = append([]string{"--name", name, "--data-dir", p.dataDir,
		"--listen-client-urls", "http://" + p.client, "--advertise-client-urls", "http://" + p.client,
		"--listen-peer-urls", "http://" + p.peer, "--initial-advertise-peer-urls", "http://" + p.peer,
		"--heartbeat-interval", "10", "--election-timeout", "100"}, bootstrap...)
	t.Cleanup(func() {
		if p.cmd != nil {
			p.kill()
		}
	})
	return p
}

// waitMembers polls p until its member list has want started voters,
// and returns the list.
func waitMembers(t *testing.T, p *process, want int) *clientv3.MemberListResponse {
	t.Helper()
	c := p.newClient()
	defer c.Close()
	deadline := time.Now().Add(30 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		ml, err := c.MemberList(ctx)
		cancel()
		voters := 0
		if err == nil {
			for _, m := range ml.Members {
				if !m.IsLearner && m.Name != "" {
					voters++
				}
			}
			if voters == want && len(ml.Members) == want {
				return ml
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("want %d started voters: %v %v", want, ml, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestDiscoveryTokenCluster: three processes with one token and seeds
// that start in any order form a cluster; a fourth with the token joins
// it as a learner and is promoted; a restarted member restarts from its
// data dir without rediscovering.
func TestDiscoveryTokenCluster(t *testing.T) {
	g := []string{freeAddr(t), freeAddr(t), freeAddr(t), freeAddr(t)}
	ps := []*process{
		discoveryProcess(t, "d1", "secret-token", 3, g[0], g[2]), // its seed starts last
		discoveryProcess(t, "d2", "secret-token", 3, g[1], g[0]),
		discoveryProcess(t, "d3", "secret-token", 3, g[2], g[1], g[0]),
	}
	startAll(t, ps)
	checkCluster(t, ps)
	ml := waitMembers(t, ps[0], 3)
	for _, p := range ps[1:] {
		c := p.newClient()
		other, err := c.MemberList(context.Background())
		c.Close()
		if err != nil || other.Header.ClusterId != ml.Header.ClusterId {
			t.Fatalf("cluster IDs differ: %v %v", other, err)
		}
	}

	late := discoveryProcess(t, "d4", "secret-token", 3, g[3], g[1])
	if err := late.launch(); err != nil {
		t.Fatal(err)
	}
	waitMembers(t, ps[0], 4)
	late.waitReady()

	ids := map[string]uint64{}
	for _, m := range ml.Members {
		ids[m.Name] = m.ID
	}
	ps[1].terminate()
	if err := ps[1].launch(); err != nil {
		t.Fatal(err)
	}
	ps[1].waitReady()
	if !strings.Contains(ps[1].stderr.String(), "not rediscovering") {
		t.Fatalf("restart did not say it restarts from disk:\n%s", ps[1].stderr.String())
	}
	for _, m := range waitMembers(t, ps[1], 4).Members {
		if id, ok := ids[m.Name]; ok && id != m.ID {
			t.Fatalf("%s has ID %x after the restart, %x before", m.Name, m.ID, id)
		}
	}
}

// TestURLDiscoveryThroughLarch: a running Larch serves etcd v2's URL
// discovery: three members started with --discovery and its keys API form
// a cluster, and a fourth is refused as the cluster is full.
func TestURLDiscoveryThroughLarch(t *testing.T) {
	service := newProcess(t)
	service.start()
	dir := "http://" + service.client + "/v2/keys/discovery/6c007a14875d53d9bf0ef5a6fc0257c8"
	req, err := http.NewRequest(http.MethodPut, dir+"/_config/size", strings.NewReader("value=3"))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != http.StatusCreated {
		t.Fatalf("PUT size: %v %v", resp, err)
	}
	resp.Body.Close()
	var ps []*process
	for i := range 3 {
		ps = append(ps, bootstrapProcess(t, fmt.Sprintf("u%d", i+1), "--discovery", dir))
	}
	startAll(t, ps)
	checkCluster(t, ps)
	waitMembers(t, ps[0], 3)

	extra := bootstrapProcess(t, "u4", "--discovery", dir)
	if err := extra.launch(); err != nil {
		t.Fatal(err)
	}
	if err := <-extra.exited; err == nil || !strings.Contains(extra.stderr.String(), "discovery: cluster is full") {
		t.Fatalf("a fourth member: %v\n%s", err, extra.stderr.String())
	}
	extra.cmd = nil
}

// TestDiscoveryTokenFiveMembers: five processes launched one after
// another, each knowing one seed (the first knows the last), agree on one
// cluster ID and one member list.
func TestDiscoveryTokenFiveMembers(t *testing.T) {
	const n = 5
	var g []string
	for range n {
		g = append(g, freeAddr(t))
	}
	var ps []*process
	for i := range n {
		seed := g[(i+n-1)%n]
		ps = append(ps, discoveryProcess(t, fmt.Sprintf("f%d", i+1), "five", n, g[i], seed))
	}
	startAll(t, ps)
	first := waitMembers(t, ps[0], n)
	for _, p := range ps[1:] {
		ml := waitMembers(t, p, n)
		if ml.Header.ClusterId != first.Header.ClusterId {
			t.Fatalf("cluster IDs %x and %x", ml.Header.ClusterId, first.Header.ClusterId)
		}
		for i, m := range ml.Members {
			if m.ID != first.Members[i].ID || m.Name != first.Members[i].Name {
				t.Fatalf("member lists differ: %v vs %v", ml.Members, first.Members)
			}
		}
	}
	checkCluster(t, ps)
}

// TestSignalWhileDiscovering: SIGTERM while waiting for the other members
// is a clean stop, as it is once the member runs.
func TestSignalWhileDiscovering(t *testing.T) {
	p := discoveryProcess(t, "w1", "0123456789abcdef-waiting", 3, freeAddr(t))
	if err := p.launch(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(p.stderr.String(), "discovery gossip started") {
		if time.Now().After(deadline) {
			t.Fatalf("no gossip:\n%s", p.stderr.String())
		}
		// The log is the only sign the wait has begun.
		time.Sleep(20 * time.Millisecond)
	}
	p.terminate()
	if !strings.Contains(p.stderr.String(), "stopped while waiting for discovery") {
		t.Fatalf("log:\n%s", p.stderr.String())
	}
}
