package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/larchkv/larch/cluster/clustertest"
)

// TestE2ETLSCluster is issue 7's end-to-end run, with the binaries as a
// user runs them: `larchctl pki ca init`, `larchctl pki cert` for three
// members (server and peer certificates) and a client, three larch
// processes serving mutual TLS on both ports with them, and `larchctl
// --cacert --cert --key` putting and getting through the cluster (and v2
// mode's --ca-file --cert-file --key-file); without
// a client certificate larchctl is refused.
func TestE2ETLSCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("e2e: skipped in -short mode")
	}
	if os.Getenv("LARCH_E2E_SERVER") != "" || os.Getenv("LARCH_E2E_CTL") != "" {
		t.Skip("e2e: larch's own pki and TLS flags; nothing to compare with etcd")
	}
	server, ctl := e2eBinaries(t)
	dir := t.TempDir()
	run := func(args ...string) string {
		t.Helper()
		cmd := exec.Command(ctl, args...)
		cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("larchctl %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	ca := filepath.Join(dir, "ca")
	run("pki", "ca", "init", "--dir", ca)
	for i := 1; i <= 3; i++ {
		name := fmt.Sprintf("m%d", i)
		run("pki", "cert", "--ca-dir", ca, "--profile", "server", "--cn", name, "--hosts", "127.0.0.1,localhost", "--out-dir", filepath.Join(dir, "server"))
		run("pki", "cert", "--ca-dir", ca, "--profile", "peer", "--cn", name, "--hosts", "127.0.0.1,localhost", "--out-dir", filepath.Join(dir, "peer"))
	}
	run("pki", "cert", "--ca-dir", ca, "--profile", "client", "--cn", "client", "--out-dir", filepath.Join(dir, "client"))
	if show := run("pki", "show", filepath.Join(dir, "peer", "m1.pem")); !strings.Contains(show, "127.0.0.1") {
		t.Fatalf("pki show of a peer certificate:\n%s", show)
	}

	clients, peers := make([]string, 3), make([]string, 3)
	var initial []string
	for i := range 3 {
		clients[i], peers[i] = clustertest.FreeAddr(t), clustertest.FreeAddr(t)
		initial = append(initial, fmt.Sprintf("m%d=https://%s", i+1, peers[i]))
	}
	caFile := filepath.Join(ca, "ca.pem")
	for i := range 3 {
		name := fmt.Sprintf("m%d", i+1)
		cert := func(kind, suffix string) string { return filepath.Join(dir, kind, name+suffix) }
		cmd := exec.Command(server, "--name", name, "--data-dir", filepath.Join(dir, name+".larch"),
			"--listen-client-urls", "https://"+clients[i], "--advertise-client-urls", "https://"+clients[i],
			"--listen-peer-urls", "https://"+peers[i], "--initial-advertise-peer-urls", "https://"+peers[i],
			"--initial-cluster", strings.Join(initial, ","), "--initial-cluster-token", "tls-e2e",
			"--cert-file", cert("server", ".pem"), "--key-file", cert("server", "-key.pem"),
			"--trusted-ca-file", caFile, "--client-cert-auth",
			"--peer-cert-file", cert("peer", ".pem"), "--peer-key-file", cert("peer", "-key.pem"),
			"--peer-trusted-ca-file", caFile, "--peer-client-cert-auth", "--log-level", "warn")
		logs := &strings.Builder{}
		cmd.Stderr = logs
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		exited := make(chan struct{})
		go func() { cmd.Wait(); close(exited) }()
		t.Cleanup(func() {
			cmd.Process.Signal(syscall.SIGTERM)
			<-exited
			if t.Failed() {
				t.Logf("%s's log:\n%s", name, logs)
			}
		})
	}

	tlsFlags := []string{"--endpoints", strings.Join(clients, ","), "--cacert", caFile,
		"--cert", filepath.Join(dir, "client", "client.pem"), "--key", filepath.Join(dir, "client", "client-key.pem")}
	// The members serve once a quorum has met: try until then.
	deadline := time.Now().Add(30 * time.Second)
	for {
		cmd := exec.Command(ctl, append(tlsFlags, "put", "k", "over TLS")...)
		out, err := cmd.CombinedOutput()
		if err == nil && string(out) == "OK\n" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("larchctl put over TLS: %v\n%s", err, out)
		}
		time.Sleep(100 * time.Millisecond) // a cluster forming has no event a client sees
	}
	for _, ep := range clients {
		flags := append([]string{"--endpoints", ep}, tlsFlags[2:]...)
		if out := run(append(flags, "get", "k")...); out != "k\nover TLS\n" {
			t.Fatalf("get through %s: %q", ep, out)
		}
	}
	if out := run(append(tlsFlags, "member", "list")...); strings.Count(out, "https://") != 6 {
		t.Fatalf("member list:\n%s", out)
	}
	// v2 mode, with its own names for the same flags.
	v2 := func(args ...string) string {
		t.Helper()
		cmd := exec.Command(ctl, append([]string{"--endpoints", "https://" + clients[1], "--ca-file", caFile,
			"--cert-file", filepath.Join(dir, "client", "client.pem"), "--key-file", filepath.Join(dir, "client", "client-key.pem")}, args...)...)
		cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "ETCDCTL_API=2"}
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("ETCDCTL_API=2 larchctl %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	v2("set", "/tls/v2", "over TLS")
	if out := v2("get", "/tls/v2"); out != "over TLS\n" {
		t.Fatalf("v2 get over TLS: %q", out)
	}
	noCert := exec.Command(ctl, "--endpoints", clients[0], "--cacert", caFile, "--dial-timeout", "1s", "get", "k")
	if out, err := noCert.CombinedOutput(); err == nil {
		t.Fatalf("larchctl without a client certificate was served:\n%s", out)
	}
}
