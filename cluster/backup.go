package cluster

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/raft/v3/raftpb"

	"github.com/larchkv/larch/auth"
	"github.com/larchkv/larch/cluster/wal"
	"github.com/larchkv/larch/tree"
	"github.com/larchkv/larch/tree/lease"
	"github.com/larchkv/larch/tree/mvcc"
)

// BackupConfig describes an offline copy of a member's data dir, what
// etcdctl v2's `backup` makes.
type BackupConfig struct {
	// DataDir is the member's data dir; the member must be stopped.
	DataDir string
	// BackupDir receives the copy; it must be empty or absent.
	BackupDir string
	// WithV3 keeps the v3 keyspace and leases; without it the copy holds
	// the v2 tree and auth only, as etcdctl v2's backup without --with-v3.
	WithV3 bool
	// Logger receives progress; none by default.
	Logger *slog.Logger
}

// BackupDataDir copies a stopped member's state (its newest snapshot and
// the log after it) into a data dir for a new single-member cluster, as
// etcdctl v2's `backup` does: the member gets new member and cluster IDs
// and is the only voter; membership changes and member attribute updates
// in the log become no-ops. etcd starts such a copy with
// --force-new-cluster; a Larch member starts from it as it is, keeping the
// source member's name and peer URLs.
func BackupDataDir(cfg BackupConfig) error {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if err := checkEmptyDir(cfg.BackupDir); err != nil {
		return err
	}
	src := memberDirs(cfg.DataDir)
	if ok, err := wal.Exist(src.wal); err != nil || !ok {
		return fmt.Errorf("cluster: %s holds no member data: %v", cfg.DataDir, err)
	}
	lock, err := lockDataDir(src.member)
	if err != nil {
		return err
	}
	defer lock.Close()

	opts := wal.Options{Logger: cfg.Logger}
	marks, err := wal.ValidSnapshotMarks(src.wal, opts)
	if err != nil {
		return err
	}
	mark, data, err := wal.NewSnapshotter(src.snap, cfg.Logger).PeekNewestAvailable(marks)
	if err != nil && !errors.Is(err, wal.ErrNoSnapshot) {
		return err
	}
	if data != nil {
		defer data.Close()
	}
	metaBytes, hs, ents, err := wal.ReadAt(src.wal, mark, opts)
	if err != nil {
		return err
	}
	// Entries past the commit index were never committed (a deposed
	// leader's tail): the copy's only voter would commit them. etcd drops
	// them when it starts such a copy with --force-new-cluster.
	for i, e := range ents {
		if e.Index > hs.Commit {
			cfg.Logger.Info("discarding uncommitted WAL entries", "commit-index", hs.Commit, "entries", len(ents)-i)
			ents = ents[:i]
			break
		}
	}
	var meta walMetadata
	if err := json.Unmarshal(metaBytes, &meta); err != nil {
		return fmt.Errorf("cluster: wal metadata: %w", err)
	}

	var ids [16]byte
	if _, err := rand.Read(ids[:]); err != nil {
		return err
	}
	newID := MemberID(binary.BigEndian.Uint64(ids[:8]) | 1)
	clusterID := ComputeClusterID([]MemberID{newID})
	var st restoredState
	if mark != (wal.SnapshotMark{}) {
		if st, err = decodeSnapshot(data); err != nil {
			return fmt.Errorf("cluster: snapshot at index %d: %w", mark.Index, err)
		}
	} else {
		// The log starts at the cluster's bootstrap: its configuration
		// changes, which the copy cannot keep, are all it holds before the
		// first request. The copy starts from a snapshot of the empty state
		// just after them instead, where the new membership is set.
		if st, mark, ents, err = skipBootstrap(ents); err != nil {
			return err
		}
	}
	self := Member{ID: newID}
	for _, m := range st.members {
		if m.ID == meta.MemberID {
			self.Name, self.PeerURLs = m.Name, m.PeerURLs
		}
	}
	st.members = []Member{self}
	st.confState = raftpb.ConfState{Voters: []uint64{uint64(newID)}}
	st.removed, st.alarms = nil, nil
	if !cfg.WithV3 {
		st.kv, st.leases = mvcc.New(), lease.New()
	}
	view, err := st.view()
	if err != nil {
		return err
	}
	payload, err := newSnapshotPayload(view)
	if err != nil {
		return err
	}
	kept := make([]wal.Entry, len(ents))
	for i, e := range ents {
		var re raftpb.Entry
		if err := re.Unmarshal(e.Data); err != nil {
			return fmt.Errorf("cluster: wal entry %d: %w", e.Index, err)
		}
		if !keepInBackup(&re, cfg.WithV3) {
			re = raftpb.Entry{Index: re.Index, Term: re.Term, Type: raftpb.EntryNormal}
		}
		b, err := re.Marshal()
		if err != nil {
			return err
		}
		kept[i] = wal.Entry{Index: e.Index, Term: e.Term, Data: b}
	}
	// The vote was for the old cluster's IDs.
	hs = wal.HardState{Term: hs.Term, Commit: hs.Commit}
	if err := writeMemberDataDir(cfg.BackupDir, walMetadata{MemberID: newID, ClusterID: clusterID}, mark, payload, hs, kept, cfg.Logger); err != nil {
		return err
	}
	cfg.Logger.Info("backed up data dir", "data-dir", cfg.DataDir, "backup-dir", cfg.BackupDir, "member-id", newID.String(),
		"cluster-id", clusterID.String(), "snapshot-index", mark.Index, "entries", len(kept), "with-v3", cfg.WithV3)
	return nil
}

// skipBootstrap reads the configuration changes a bootstrapped member's log
// starts with, and returns the empty state with the members they added, the
// mark of the last of them and the entries after it.
func skipBootstrap(ents []wal.Entry) (restoredState, wal.SnapshotMark, []wal.Entry, error) {
	st := restoredState{kv: mvcc.New(), v2: tree.New(), leases: lease.New(), auth: auth.NewStore()}
	var mark wal.SnapshotMark
	n := 0
	for ; n < len(ents); n++ {
		var re raftpb.Entry
		if err := re.Unmarshal(ents[n].Data); err != nil {
			return st, mark, nil, fmt.Errorf("cluster: wal entry %d: %w", ents[n].Index, err)
		}
		if re.Type != raftpb.EntryConfChange {
			break
		}
		var cc raftpb.ConfChange
		if err := cc.Unmarshal(re.Data); err != nil {
			return st, mark, nil, fmt.Errorf("cluster: wal entry %d: %w", re.Index, err)
		}
		var m Member
		if json.Unmarshal(cc.Context, &m) == nil {
			st.members = append(st.members, m)
		}
		mark = wal.SnapshotMark{Index: re.Index, Term: re.Term}
	}
	if n == 0 {
		return st, mark, nil, errors.New("cluster: the data dir has no snapshot and its log does not start with the cluster's bootstrap")
	}
	return st, mark, ents[n:], nil
}

// keepInBackup tells which log entries a backup keeps: not membership
// changes, nor member attributes (they name the old members), nor, without
// v3, requests of the v3 keyspace and leases.
func keepInBackup(e *raftpb.Entry, withV3 bool) bool {
	if e.Type != raftpb.EntryNormal {
		return false
	}
	if len(e.Data) == 0 {
		return true
	}
	env, err := UnmarshalEnvelope(e.Data)
	if err != nil || env.Kind != KindV3 {
		return err == nil
	}
	r, err := decodeV3(env.Payload)
	if err != nil {
		return false
	}
	switch {
	case r.ClusterMemberAttrSet != nil, r.Alarm != nil:
		return false
	case r.V2 != nil:
		return true
	}
	return withV3 || !isV3KeyspaceRequest(r)
}

func isV3KeyspaceRequest(r *pb.InternalRaftRequest) bool {
	return r.Put != nil || r.DeleteRange != nil || r.Txn != nil || r.Compaction != nil ||
		r.LeaseGrant != nil || r.LeaseRevoke != nil || r.LeaseCheckpoint != nil
}
