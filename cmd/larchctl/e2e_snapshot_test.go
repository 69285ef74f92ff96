package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/larchkv/larch/cluster/clustertest"
)

// larchctlRun runs larchctl with args and returns stdout, stderr and the exit code.
func larchctlRun(t *testing.T, ctl string, args ...string) (string, string, int) {
	t.Helper()
	cmd := exec.Command(ctl, args...)
	cmd.Env = append(os.Environ(), "ETCDCTL_API=3")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return stdout.String(), stderr.String(), code
}

// startRestored starts the server on a data dir `snapshot restore` made and
// returns a client of it once it answers.
func startRestored(t *testing.T, server string, args ...string) *clientv3.Client {
	t.Helper()
	var clientURL string
	for i, a := range args {
		if a == "--listen-client-urls" {
			clientURL = args[i+1]
		}
	}
	return startServer(t, server, clientURL, args...)
}

func keyspace(t *testing.T, cli *clientv3.Client) []string {
	t.Helper()
	resp, err := cli.Get(context.Background(), "", clientv3.WithFromKey())
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, kv := range resp.Kvs {
		out = append(out, fmt.Sprintf("%s=%s %d/%d/%d", kv.Key, kv.Value, kv.CreateRevision, kv.ModRevision, kv.Version))
	}
	return out
}

// TestE2ESnapshot: `snapshot save`, `snapshot status` and `snapshot
// restore` with the binaries, as an operator backs up and restores: the
// restored member serves the same keys at the same revisions, and a
// damaged file is refused. With LARCH_E2E_CTL=etcdctl the save is
// etcd's etcdctl's (status and restore, which etcdctl 3.6 lacks, stay
// larchctl's).
func TestE2ESnapshot(t *testing.T) {
	if testing.Short() {
		t.Skip("e2e: skipped in -short mode")
	}
	server, saveCtl := e2eBinaries(t)
	ctl := saveCtl
	if os.Getenv("LARCH_E2E_CTL") != "" {
		ctl = filepath.Join(t.TempDir(), "larchctl")
		if out, err := goBuild(ctl, "./cmd/larchctl"); err != nil {
			t.Fatalf("building ./cmd/larchctl: %v\n%s", err, out)
		}
	}
	cl := startCluster(t, server)
	ctx := context.Background()
	for i := range 30 {
		if _, err := cl.cli.Put(ctx, fmt.Sprintf("k%02d", i%10), fmt.Sprint(i)); err != nil {
			t.Fatal(err)
		}
	}
	want := keyspace(t, cl.cli)

	dir := t.TempDir()
	path := filepath.Join(dir, "backup.db")
	stdout, stderr, code := larchctlRun(t, saveCtl, "--endpoints="+cl.clientAddr, "snapshot", "save", path)
	if code != 0 || stdout != fmt.Sprintf("Snapshot saved at %s\nServer version 3.6.0\n", path) {
		t.Fatalf("snapshot save: exit %d\nstdout %q\nstderr %s", code, stdout, stderr)
	}
	for _, msg := range []string{`"msg":"created temporary db file"`, `"msg":"fetched snapshot"`, `"msg":"saved"`} {
		if !strings.Contains(stderr, msg) {
			t.Errorf("snapshot save stderr lacks %s:\n%s", msg, stderr)
		}
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("saved file: %v %v", fi, err)
	}
	if _, err := os.Stat(path + ".part"); !os.IsNotExist(err) {
		t.Fatalf("the .part file is left: %v", err)
	}

	stdout, stderr, code = larchctlRun(t, ctl, "snapshot", "status", path, "-w", "json")
	var status struct {
		Hash      uint32 `json:"hash"`
		Revision  int64  `json:"revision"`
		TotalKey  int    `json:"totalKey"`
		TotalSize int64  `json:"totalSize"`
	}
	if code != 0 || json.Unmarshal([]byte(stdout), &status) != nil {
		t.Fatalf("snapshot status: exit %d %q %s", code, stdout, stderr)
	}
	if status.Revision != 31 || status.TotalKey != 10 || status.TotalSize != fi.Size() {
		t.Fatalf("snapshot status = %+v, want revision 31, 10 keys, %d bytes", status, fi.Size())
	}
	stdout, _, code = larchctlRun(t, ctl, "snapshot", "status", path, "-w", "table")
	if code != 0 || !strings.Contains(stdout, "| REVISION | TOTAL KEYS | TOTAL SIZE |") {
		t.Fatalf("snapshot status -w table:\n%s", stdout)
	}

	// A damaged copy is refused, by status and restore.
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(dir, "bad.db")
	data[100] ^= 1
	if err := os.WriteFile(bad, data, 0o600); err != nil {
		t.Fatal(err)
	}
	// etcd's words for a checksum that does not match.
	const refused = "Error: expected sha256 ["
	if _, stderr, code := larchctlRun(t, ctl, "snapshot", "status", bad); code != 1 || !strings.HasPrefix(stderr, refused) {
		t.Fatalf("status of a damaged file: exit %d, stderr %q", code, stderr)
	}
	if _, stderr, code := larchctlRun(t, ctl, "snapshot", "restore", bad, "--data-dir", filepath.Join(dir, "never")); code != 1 || !strings.HasPrefix(stderr, refused) {
		t.Fatalf("restore of a damaged file: exit %d, stderr %q", code, stderr)
	}
	if err := os.WriteFile(bad, data[:len(data)/2], 0o600); err != nil {
		t.Fatal(err)
	}
	if _, stderr, code := larchctlRun(t, ctl, "snapshot", "restore", bad, "--data-dir", filepath.Join(dir, "never")); code != 1 ||
		stderr != "Error: snapshot missing hash but --skip-hash-check=false\n" {
		t.Fatalf("restore of a truncated file: exit %d, stderr %q", code, stderr)
	}
	if _, stderr, code := larchctlRun(t, ctl, "snapshot", "status", path, "-w", "protobuf"); code != 4 ||
		stderr != "Error: protobuf not supported as output format\n" {
		t.Fatalf("status -w protobuf: exit %d, stderr %q", code, stderr)
	}
	if _, stderr, code := larchctlRun(t, saveCtl, "--endpoints="+cl.clientAddr, "snapshot", "save", "/nonexistent-dir/x.db"); code != 5 ||
		!strings.HasSuffix(stderr, "Error: could not open /nonexistent-dir/x.db.part (open /nonexistent-dir/x.db.part: no such file or directory)\n") {
		t.Fatalf("save into a missing dir: exit %d, stderr %q", code, stderr)
	}

	clientURL, peerURL := "http://127.0.0.1:"+freePort(t), "http://127.0.0.1:"+freePort(t)
	dataDir := filepath.Join(dir, "restored.larch")
	_, stderr, code = larchctlRun(t, ctl, "snapshot", "restore", path, "--name", "r1", "--data-dir", dataDir,
		"--initial-cluster", "r1="+peerURL, "--initial-cluster-token", "restored", "--initial-advertise-peer-urls", peerURL)
	if code != 0 {
		t.Fatalf("snapshot restore: exit %d\n%s", code, stderr)
	}
	rcli := startRestored(t, server, "--name", "r1", "--data-dir", dataDir, "--listen-client-urls", clientURL,
		"--advertise-client-urls", clientURL, "--listen-peer-urls", peerURL, "--initial-advertise-peer-urls", peerURL,
		"--initial-cluster", "r1="+peerURL, "--initial-cluster-token", "restored")
	if got := keyspace(t, rcli); !slices.Equal(got, want) {
		t.Fatalf("restored keyspace:\n got %q\nwant %q", got, want)
	}
	ml, err := rcli.MemberList(ctx)
	if err != nil || len(ml.Members) != 1 || ml.Members[0].ID == cl.memberID || ml.Header.ClusterId == cl.clusterID {
		t.Fatalf("restored membership %v %v: want one new member in a new cluster", ml, err)
	}
}

// TestE2EV2Backup: etcdctl v2's offline `backup` with the binaries: a
// stopped member's data dir copied with --with-v3 starts as a new
// single-member cluster serving the v2 and v3 keys it held.
func TestE2EV2Backup(t *testing.T) {
	if testing.Short() {
		t.Skip("e2e: skipped in -short mode")
	}
	server, ctl := e2eBinaries(t)
	src := clustertest.New(t, clustertest.Config{Size: 1})
	m := src.Members()[0]
	ctx := context.Background()
	if _, err := m.Server().ProposeV2(ctx, &pb.Request{Method: "PUT", Path: "/v2/key", Val: "v2value"}); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Client().Put(ctx, "v3key", "v3value"); err != nil {
		t.Fatal(err)
	}
	m.Stop()

	backupDir := filepath.Join(t.TempDir(), "backup")
	cmd := exec.Command(ctl, "backup", "--data-dir", m.DataDir, "--backup-dir", backupDir, "--with-v3")
	cmd.Env = append(os.Environ(), "ETCDCTL_API=2")
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), `"msg":"backed up data dir"`) {
		t.Fatalf("backup: %v\n%s", err, out)
	}
	again := exec.Command(ctl, "backup", "--data-dir", m.DataDir, "--backup-dir", backupDir)
	again.Env = append(os.Environ(), "ETCDCTL_API=2")
	if out, err := again.CombinedOutput(); err == nil || !strings.Contains(string(out), fmt.Sprintf("Error:  data-dir %q not empty or could not be read", backupDir)) {
		t.Fatalf("a backup into a dir that is not empty: %v\n%s", err, out)
	}

	clientURL, peerURL := "http://127.0.0.1:"+freePort(t), "http://127.0.0.1:"+freePort(t)
	cli := startRestored(t, server, "--name", "m1", "--data-dir", backupDir, "--listen-client-urls", clientURL,
		"--advertise-client-urls", clientURL, "--listen-peer-urls", peerURL, "--initial-advertise-peer-urls", peerURL,
		"--initial-cluster", "m1="+peerURL)
	got, err := cli.Get(ctx, "v3key")
	if err != nil || len(got.Kvs) != 1 || string(got.Kvs[0].Value) != "v3value" {
		t.Fatalf("v3 key from the backup: %v %v", got, err)
	}
	resp, err := http.Get(clientURL + "/v2/keys/v2/key")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `"value":"v2value"`) {
		t.Fatalf("v2 key from the backup: %s %s", resp.Status, body)
	}
}
