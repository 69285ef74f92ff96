package clustertest

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"

	"github.com/larchkv/larch/cluster"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// saveBackup streams a member's Maintenance.Snapshot into a file, as
// `snapshot save` does.
func saveBackup(t *testing.T, m *Member, path string) {
	t.Helper()
	rc, err := m.Client().Snapshot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	n, err := io.Copy(f, rc)
	if err != nil {
		t.Fatal(err)
	}
	// etcd's client finds the checksum by the size.
	if n%512 != sha256.Size {
		t.Fatalf("backup of %d bytes: etcd's client would find no checksum", n)
	}
}

// dump is every key of a keyspace at a revision, with its revisions.
func dump(t *testing.T, cli *clientv3.Client, rev int64) []string {
	t.Helper()
	resp, err := cli.Get(context.Background(), "", clientv3.WithFromKey(), clientv3.WithRev(rev))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, kv := range resp.Kvs {
		out = append(out, fmt.Sprintf("%s=%s create=%d mod=%d ver=%d", kv.Key, kv.Value, kv.CreateRevision, kv.ModRevision, kv.Version))
	}
	return out
}

// TestBackupRestore: a snapshot taken from a follower while writes go on
// restores into a new three-member cluster with every key and revision as
// they were at the snapshot's revision, the same HashKV on every member,
// new member IDs, and room for new writes.
func TestBackupRestore(t *testing.T) {
	old := New(t, Config{})
	ctx := context.Background()
	cli := old.Client()
	for i := range 200 {
		if _, err := cli.Put(ctx, fmt.Sprintf("key/%03d", i%50), fmt.Sprintf("v%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := cli.Delete(ctx, "key/007"); err != nil {
		t.Fatal(err)
	}
	lease, err := cli.Grant(ctx, 3600)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cli.Put(ctx, "leased", "x", clientv3.WithLease(lease.ID)); err != nil {
		t.Fatal(err)
	}
	// The snapshot is the follower's state: let it catch up with the
	// writes above, so the check below can ask for all of them.
	leader := old.WaitLeader()
	follower := old.Followers(leader)[0]
	applied := leader.Server().AppliedIndex()
	waitFor(t, "the follower to catch up", func() bool { return follower.Server().AppliedIndex() >= applied })

	// Writes go on while the snapshot streams.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			if _, err := cli.Put(ctx, fmt.Sprintf("during/%d", i%10), "w"); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	path := filepath.Join(t.TempDir(), "backup.db")
	saveBackup(t, follower, path)
	close(stop)
	wg.Wait()

	status, err := cluster.ReadBackupStatus(path)
	if err != nil {
		t.Fatal(err)
	}
	rev := status.Revision
	if rev < 203 || status.TotalKey < 51 {
		t.Fatalf("status %+v: the snapshot misses writes made before it", status)
	}
	want := dump(t, cli, rev)
	oldHash, err := cli.HashKV(ctx, old.Members()[0].ClientURL, rev)
	if err != nil {
		t.Fatal(err)
	}

	restored := New(t, Config{Token: "restored", Prepare: func(cfg *cluster.Config) error {
		return cluster.RestoreBackup(cluster.RestoreConfig{BackupPath: path, Name: cfg.Name, DataDir: cfg.DataDir,
			InitialCluster: cfg.InitialCluster, InitialClusterToken: cfg.InitialClusterToken, PeerURLs: cfg.PeerURLs})
	}})
	rcli := restored.Client()
	for _, m := range restored.Members() {
		mc := m.Client()
		if got := dump(t, mc, 0); !slices.Equal(got, want) {
			t.Fatalf("%s: restored keyspace differs:\n got %q\nwant %q", m.Name, got, want)
		}
		h, err := mc.HashKV(ctx, m.ClientURL, rev)
		if err != nil {
			t.Fatal(err)
		}
		if h.Hash != oldHash.Hash {
			t.Fatalf("%s: HashKV at %d = %d, the original's %d", m.Name, rev, h.Hash, oldHash.Hash)
		}
		for _, o := range old.Members() {
			if m.ID() == o.ID() {
				t.Fatalf("%s kept the ID %s of the original cluster", m.Name, m.ID())
			}
		}
	}
	members, err := rcli.MemberList(ctx)
	if err != nil || len(members.Members) != 3 {
		t.Fatalf("members: %v %v", members, err)
	}
	if ttl, err := rcli.TimeToLive(ctx, lease.ID); err != nil || ttl.TTL <= 0 {
		t.Fatalf("the lease did not survive the restore: %v %v", ttl, err)
	}
	resp, err := rcli.Put(ctx, "after", "restore")
	if err != nil || resp.Header.Revision != rev+1 {
		t.Fatalf("first write after the restore: %v %v, want revision %d", resp, err, rev+1)
	}
}

// TestBackupRefusedWhenDamaged: a truncated or altered backup is refused
// by status and restore alike; --skip-hash-check lets a file without a
// checksum through, never a damaged payload.
func TestBackupRefusedWhenDamaged(t *testing.T) {
	c := New(t, Config{Size: 1})
	ctx := context.Background()
	for i := range 20 {
		if _, err := c.Client().Put(ctx, fmt.Sprintf("k%d", i), "v"); err != nil {
			t.Fatal(err)
		}
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "backup.db")
	saveBackup(t, c.Members()[0], path)
	good, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cluster.ReadBackupStatus(path); err != nil {
		t.Fatal(err)
	}
	restore := func(p string, skip bool) error {
		return cluster.RestoreBackup(cluster.RestoreConfig{BackupPath: p, Name: "a", DataDir: filepath.Join(t.TempDir(), "a"),
			InitialCluster: []cluster.InitialMember{{Name: "a", PeerURLs: []string{"http://127.0.0.1:1"}}}, SkipHashCheck: skip})
	}
	altered := slices.Clone(good)
	altered[len(altered)/2] ^= 0x40
	for name, data := range map[string][]byte{
		"truncated": good[:len(good)/2],
		"altered":   altered,
		"short":     good[:10],
	} {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := cluster.ReadBackupStatus(p); !errors.Is(err, cluster.ErrBackupHash) && !errors.Is(err, cluster.ErrBackupNoHash) {
			t.Errorf("%s: status: %v", name, err)
		}
		if err := restore(p, false); !errors.Is(err, cluster.ErrBackupHash) && !errors.Is(err, cluster.ErrBackupNoHash) {
			t.Errorf("%s: restore: %v", name, err)
		}
		// Without the checksum only the payload's own framing is left
		// to catch damage, which a cut always breaks.
		if err := restore(p, true); err == nil && name != "altered" {
			t.Errorf("%s: restore with --skip-hash-check took a damaged payload", name)
		}
	}
	bare := filepath.Join(dir, "bare")
	if err := os.WriteFile(bare, good[:len(good)-sha256.Size], 0o600); err != nil {
		t.Fatal(err)
	}
	if err := restore(bare, true); err != nil {
		t.Errorf("restore of a payload without checksum, with --skip-hash-check: %v", err)
	}
	if err := restore(path, false); err != nil {
		t.Fatal(err)
	}
	full := filepath.Join(t.TempDir(), "full")
	if err := os.WriteFile(full, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := cluster.RestoreBackup(cluster.RestoreConfig{BackupPath: path, Name: "a", DataDir: filepath.Dir(full),
		InitialCluster: []cluster.InitialMember{{Name: "a", PeerURLs: []string{"http://127.0.0.1:1"}}}}); !errors.Is(err, cluster.ErrDataDirNotEmpty) {
		t.Errorf("restore into a data dir that is not empty: %v", err)
	}
}

// TestRestoreBumpRevision: etcd's disaster-recovery restore moves the
// revision ahead and compacts, so that nothing watching the old cluster
// sees revisions go back or reads history the new one lacks.
func TestRestoreBumpRevision(t *testing.T) {
	c := New(t, Config{Size: 1})
	ctx := context.Background()
	var rev int64
	for i := range 10 {
		resp, err := c.Client().Put(ctx, "k", fmt.Sprint(i))
		if err != nil {
			t.Fatal(err)
		}
		rev = resp.Header.Revision
	}
	path := filepath.Join(t.TempDir(), "backup.db")
	saveBackup(t, c.Members()[0], path)

	const bump = 1000
	restored := New(t, Config{Size: 1, Token: "bumped", Prepare: func(cfg *cluster.Config) error {
		return cluster.RestoreBackup(cluster.RestoreConfig{BackupPath: path, Name: cfg.Name, DataDir: cfg.DataDir,
			InitialCluster: cfg.InitialCluster, InitialClusterToken: cfg.InitialClusterToken, PeerURLs: cfg.PeerURLs,
			BumpRevision: bump, MarkCompacted: true})
	}})
	cli := restored.Client()
	got, err := cli.Get(ctx, "k")
	if err != nil || len(got.Kvs) != 1 || string(got.Kvs[0].Value) != "9" || got.Header.Revision != rev+bump {
		t.Fatalf("after the restore: %v %v, want k=9 at revision %d", got, err, rev+bump)
	}
	if _, err := cli.Get(ctx, "k", clientv3.WithRev(rev)); !errors.Is(err, rpctypes.ErrCompacted) {
		t.Fatalf("a read of the old history: %v, want compacted", err)
	}
	resp, err := cli.Put(ctx, "k", "new")
	if err != nil || resp.Header.Revision != rev+bump+1 {
		t.Fatalf("first write: %v %v, want revision %d", resp, err, rev+bump+1)
	}
}
