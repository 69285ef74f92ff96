package main

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func resolveArgs(t *testing.T, args []string, env []string) (resolved, []string, error) {
	t.Helper()
	c, warnings, err := parseConfig(args, env, io.Discard)
	if err != nil {
		return resolved{}, warnings, err
	}
	r, err := c.resolve()
	return r, warnings, err
}

func TestConfigDefaults(t *testing.T) {
	r, _, err := resolveArgs(t, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	m := r.member
	if m.Name != "default" || m.DataDir != "default.larch" || m.InitialClusterState != "new" || m.InitialClusterToken != "etcd-cluster" {
		t.Fatalf("defaults: %+v", m)
	}
	if len(m.InitialCluster) != 1 || m.InitialCluster[0].Name != "default" || m.InitialCluster[0].PeerURLs[0] != "http://localhost:2380" {
		t.Fatalf("default initial cluster: %+v", m.InitialCluster)
	}
	if r.listenURLs[0].Host != "localhost:2379" || m.ClientURLs[0] != "http://localhost:2379" {
		t.Fatalf("client URLs: %v %v", r.listenURLs, m.ClientURLs)
	}
	if m.TickInterval != 100*time.Millisecond || m.ElectionTicks != 10 || m.SnapshotCount != 10000 || m.MaxRequestBytes != 1572864 {
		t.Fatalf("raft defaults: %+v", m)
	}
	if r.api.MaxTxnOps != 128 || r.api.QuotaBackendBytes != 2<<30 {
		t.Fatalf("api defaults: %+v", r.api)
	}
}

func TestConfigNameDerivesDataDirAndCluster(t *testing.T) {
	r, _, err := resolveArgs(t, []string{"--name", "n1", "--initial-advertise-peer-urls", "http://127.0.0.1:3380"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if r.member.DataDir != "n1.larch" || r.member.InitialCluster[0].Name != "n1" || r.member.InitialCluster[0].PeerURLs[0] != "http://127.0.0.1:3380" {
		t.Fatalf("derived: %+v", r.member)
	}
}

func TestConfigEnvironment(t *testing.T) {
	env := []string{"LARCH_NAME=envname", "LARCH_SNAPSHOT_COUNT=7", "LARCH_DATA_DIR=/tmp/x", "LARCH_BOGUS=1", "PATH=/bin"}
	r, warnings, err := resolveArgs(t, []string{"--snapshot-count", "9"}, env)
	if err != nil {
		t.Fatal(err)
	}
	if r.member.Name != "envname" || r.member.DataDir != "/tmp/x" || r.member.SnapshotCount != 9 {
		t.Fatalf("env: %+v", r.member)
	}
	joined := strings.Join(warnings, "\n")
	if !strings.Contains(joined, "unrecognized environment variable LARCH_BOGUS=1") || !strings.Contains(joined, "LARCH_SNAPSHOT_COUNT, but unused: shadowed by corresponding flag") {
		t.Fatalf("warnings: %q", warnings)
	}
	if _, _, err := resolveArgs(t, nil, []string{"LARCH_SNAPSHOT_COUNT=many"}); err == nil || !strings.Contains(err.Error(), "LARCH_SNAPSHOT_COUNT") {
		t.Fatalf("bad env value: %v", err)
	}
}

func TestConfigFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "larch.yaml")
	yaml := "name: fromfile\ndata-dir: /var/lib/x\nlisten-client-urls: http://127.0.0.1:4379,http://127.0.0.1:4479\n" +
		"initial-cluster: fromfile=http://127.0.0.1:4380\ninitial-advertise-peer-urls: http://127.0.0.1:4380\nmax-txn-ops: 64\nheartbeat-interval: 50\nelection-timeout: 500\n"
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	// The file wins over flags and the environment, as in etcd.
	r, _, err := resolveArgs(t, []string{"--config-file", path, "--name", "ignored"}, []string{"LARCH_MAX_TXN_OPS=3"})
	if err != nil {
		t.Fatal(err)
	}
	if r.member.Name != "fromfile" || r.member.DataDir != "/var/lib/x" || len(r.listenURLs) != 2 || r.api.MaxTxnOps != 64 ||
		r.member.TickInterval != 50*time.Millisecond || r.member.ElectionTicks != 10 {
		t.Fatalf("config file: %+v %+v", r.member, r.api)
	}
	if err := os.WriteFile(path, []byte("nmae: typo\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := resolveArgs(t, []string{"--config-file", path}, nil); err == nil || !strings.Contains(err.Error(), "nmae") {
		t.Fatalf("unknown key: %v", err)
	}
	if _, _, err := resolveArgs(t, []string{"--config-file", filepath.Join(t.TempDir(), "missing.yaml")}, nil); err == nil {
		t.Fatal("a missing config file was accepted")
	}
}

func TestConfigRejects(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--election-timeout", "400"}, "should be at least as 5 times as --heartbeat-interval"},
		{[]string{"--election-timeout", "60000", "--heartbeat-interval", "100"}, "too long"},
		{[]string{"--listen-client-urls", "ftp://127.0.0.1:1"}, "URL scheme must be http or https"},
		{[]string{"--listen-client-urls", "http://127.0.0.1"}, "host:port"},
		{[]string{"--initial-cluster", "novalue"}, "is not name=url"},
		{[]string{"--initial-cluster-state", "maybe"}, `valid values are "new" or "existing"`},
		{[]string{"--log-level", "loud"}, "--log-level"},
		{[]string{"--max-txn-ops", "0"}, "--max-txn-ops"},
		{[]string{"--snapshot-count", "-1"}, "invalid value"},
		{[]string{"--bogus"}, "flag provided but not defined: -bogus"},
		{[]string{"stray"}, "'stray' is not a valid flag"},
	} {
		_, _, err := resolveArgs(t, tc.args, nil)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: error %v, want one containing %q", tc.args, err, tc.want)
		}
	}
}

func TestConfigEnableV2IsAccepted(t *testing.T) {
	for _, args := range [][]string{{"--enable-v2"}, {"--enable-v2=true"}, {"--enable-v2=false"}} {
		if _, _, err := resolveArgs(t, args, nil); err != nil {
			t.Fatalf("%v: %v", args, err)
		}
	}
	if _, _, err := resolveArgs(t, nil, []string{"LARCH_ENABLE_V2=true"}); err != nil {
		t.Fatalf("LARCH_ENABLE_V2: %v", err)
	}
	path := filepath.Join(t.TempDir(), "larch.yaml")
	if err := os.WriteFile(path, []byte("enable-v2: true\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := resolveArgs(t, []string{"--config-file", path}, nil); err != nil {
		t.Fatalf("enable-v2 in a config file: %v", err)
	}
}

func TestConfigMembershipFlags(t *testing.T) {
	r, _, err := resolveArgs(t, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if m := r.member; m.MaxLearners != 1 || m.SnapshotCatchUpEntries != 5000 || m.SkipReconfigChecks {
		t.Fatalf("etcd's defaults: max learners %d, catch-up entries %d, skip checks %v", m.MaxLearners, m.SnapshotCatchUpEntries, m.SkipReconfigChecks)
	}
	r, _, err = resolveArgs(t, []string{"--max-learners", "3", "--experimental-snapshot-catchup-entries", "70", "--strict-reconfig-check=false"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if m := r.member; m.MaxLearners != 3 || m.SnapshotCatchUpEntries != 70 || !m.SkipReconfigChecks {
		t.Fatalf("set: max learners %d, catch-up entries %d, skip checks %v", m.MaxLearners, m.SnapshotCatchUpEntries, m.SkipReconfigChecks)
	}
	if _, _, err := resolveArgs(t, []string{"--max-learners", "0"}, nil); err == nil {
		t.Fatal("--max-learners 0 accepted")
	}
}

func TestConfigWatchProgressNotifyInterval(t *testing.T) {
	r, _, err := resolveArgs(t, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if r.api.WatchProgressNotifyInterval != 10*time.Minute {
		t.Fatalf("default %v, want etcd's 10m", r.api.WatchProgressNotifyInterval)
	}
	for _, args := range [][]string{{"--watch-progress-notify-interval", "5s"}, {"--experimental-watch-progress-notify-interval", "5s"}} {
		r, _, err := resolveArgs(t, args, nil)
		if err != nil || r.api.WatchProgressNotifyInterval != 5*time.Second {
			t.Fatalf("%v: %v, %v", args, r.api.WatchProgressNotifyInterval, err)
		}
	}
	if _, _, err := resolveArgs(t, []string{"--watch-progress-notify-interval", "soon"}, nil); err == nil {
		t.Fatal("a bad duration was accepted")
	}
}

func TestConfigDiscovery(t *testing.T) {
	base := []string{"--name", "d1", "--initial-advertise-peer-urls", "http://10.0.0.1:2380"}
	r, _, err := resolveArgs(t, append(base, "--discovery-token", "3-0123456789abcdef0123456789abcdef", "--discovery-join", "10.0.0.2:7946,10.0.0.3:7946"), nil)
	if err != nil {
		t.Fatal(err)
	}
	d := r.discovery
	if d == nil || d.Size != 3 || d.Token != "3-0123456789abcdef0123456789abcdef" || len(d.Join) != 2 || d.Timeout != 2*time.Minute || r.maxVoters != 5 ||
		d.BindAddr != "0.0.0.0:7946" || d.AdvertiseAddr != "10.0.0.1:7946" || d.PeerURLs[0] != "http://10.0.0.1:2380" {
		t.Fatalf("discovery config: %+v (max voters %d)", d, r.maxVoters)
	}
	r, _, err = resolveArgs(t, append(base, "--discovery-token", "3-0123456789abcdef0123456789abcdef", "--discovery-advertise-addr", "192.0.2.7:9000"), nil)
	if err != nil || r.discovery.AdvertiseAddr != "192.0.2.7:9000" {
		t.Fatalf("--discovery-advertise-addr: %v %+v", err, r.discovery)
	}
	r, _, err = resolveArgs(t, append(base, "--discovery", "http://10.0.0.9:2379/v2/keys/d/t"), nil)
	if err != nil || r.discoveryURL != "http://10.0.0.9:2379/v2/keys/d/t" || r.discovery != nil {
		t.Fatalf("--discovery: %v %+v", err, r.discoveryURL)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--discovery-token", "abcd"}, "--discovery-size must be at least 1"},
		{[]string{"--discovery-token", "3-0123456789abcdef0123456789abcdef", "--discovery-size", "5"}, "disagrees with the size the token carries (3)"},
		{[]string{"--discovery-token", "abcd", "--discovery-size", "3", "--initial-cluster", "d1=http://10.0.0.1:2380"}, "Choose one of"},
		{[]string{"--discovery-token", "abcd", "--discovery-size", "3", "--initial-cluster-state", "existing"}, "leave --initial-cluster-state"},
		{[]string{"--discovery-token", "abcd", "--discovery-size", "3", "--discovery-join", "nohost"}, "invalid value \"nohost\" for --discovery-join"},
		{[]string{"--discovery-token", "abcd", "--discovery-size", "3", "--discovery-timeout", "soon"}, "--discovery-timeout"},
		{[]string{"--discovery-size", "3"}, "need --discovery-token"},
		{[]string{"--discovery-token", "3-0123456789abcdef0123456789abcdef", "--discovery-when-full", "proxy"}, "--discovery-when-full"},
		{[]string{"--discovery-token", "3-0123456789abcdef0123456789abcdef", "--discovery-advertise-addr", "host.example:7946"}, "want IP:port"},
		{[]string{"--discovery", "http://10.0.0.9:2379/v2/keys/d/t", "--discovery-token", "abcd", "--discovery-size", "3"}, "Choose one of"},
	} {
		if _, _, err := resolveArgs(t, append(base, tc.args...), nil); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: %v, want %q", tc.args, err, tc.want)
		}
	}
}
