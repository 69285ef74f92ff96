package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestE2EDiscovery: `larchctl discovery new --size 3` makes a token; three
// larch processes started with it and --discovery-join (no --initial-cluster)
// form a cluster, which `larchctl member list` shows.
func TestE2EDiscovery(t *testing.T) {
	if testing.Short() {
		t.Skip("e2e: skipped in -short mode")
	}
	if os.Getenv("LARCH_E2E_SERVER") != "" {
		t.Skip("e2e: discovery tokens are Larch's own; etcd has no --discovery-token")
	}
	server, ctl := e2eBinaries(t)
	out, err := exec.Command(ctl, "discovery", "new", "--size", "3").Output()
	if err != nil {
		t.Fatal(err)
	}
	token := strings.TrimSpace(string(out))
	cl := &memberCluster{server: server, dir: t.TempDir()}
	gossip := []string{"127.0.0.1:" + freePort(t), "127.0.0.1:" + freePort(t), "127.0.0.1:" + freePort(t)}
	for i := range 3 {
		m := &clusterMember{name: fmt.Sprintf("d%d", i+1), clientPort: freePort(t), peerPort: freePort(t)}
		m.clientURL, m.peerURL = "http://127.0.0.1:"+m.clientPort, "http://127.0.0.1:"+m.peerPort
		cl.members = append(cl.members, m)
		cl.start(t, m, nil, "--name", m.name, "--listen-peer-urls", m.peerURL, "--initial-advertise-peer-urls", m.peerURL,
			"--discovery-token", token, "--discovery-bind-addr", gossip[i], "--discovery-join", gossip[(i+1)%3])
	}
	cli := newTestClient(t, cl.members[0].clientURL)
	var got string
	cl.waitFor(t, 30*time.Second, "three started members", func(ctx context.Context) error {
		ml, err := cli.MemberList(ctx)
		if err != nil {
			return err
		}
		cmd := exec.CommandContext(ctx, ctl, "--endpoints", cl.members[0].clientURL, "member", "list")
		b, err := cmd.Output()
		if err != nil {
			return err
		}
		got = string(b)
		var want []string
		for _, pm := range ml.Members {
			if pm.Name == "" || pm.IsLearner {
				return fmt.Errorf("member %x not started yet", pm.ID)
			}
			want = append(want, fmt.Sprintf("%x, started, %s, %s, %s, false", pm.ID, pm.Name, pm.PeerURLs[0], pm.ClientURLs[0]))
		}
		if len(want) != 3 || got != strings.Join(want, "\n")+"\n" {
			return fmt.Errorf("member list:\n%s\nwant:\n%s", got, strings.Join(want, "\n"))
		}
		return nil
	})
	for _, m := range cl.members {
		if !strings.Contains(got, ", "+m.name+", "+m.peerURL+", "+m.clientURL+", ") {
			t.Fatalf("member list lacks %s:\n%s", m.name, got)
		}
	}
}
