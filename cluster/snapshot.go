package cluster

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"go.etcd.io/raft/v3"
	"go.etcd.io/raft/v3/raftpb"

	"github.com/larchkv/larch/auth"
	"github.com/larchkv/larch/cluster/wal"
	"github.com/larchkv/larch/tree"
	"github.com/larchkv/larch/tree/lease"
	"github.com/larchkv/larch/tree/mvcc"
)

// The snapshot payload is a versioned list of sections, one per piece of
// replicated state: magic, version, then (kind byte, uvarint length, bytes)
// until a zero kind. New sections get new kinds; kinds are never reused.
const (
	snapshotMagic   = "LARCHSNP"
	snapshotVersion = 1

	sectionEnd       byte = 0
	sectionConfState byte = 1
	sectionMembers   byte = 2
	sectionKV        byte = 3
	sectionV2        byte = 4
	sectionRemoved   byte = 5
	sectionVersion   byte = 6
	sectionLeases    byte = 7
	sectionAuth      byte = 8
)

// errBadSnapshot marks a snapshot payload this build cannot read.
var errBadSnapshot = errors.New("cluster: bad snapshot payload")

type restoredState struct {
	kv      *mvcc.Store
	v2      *tree.Store
	leases  *lease.Store
	auth    *auth.Store
	members []Member
	removed []MemberID
	// clusterVersion is "" until decided.
	clusterVersion string
	confState      raftpb.ConfState
}

// encodeSnapshot encodes a captured state; sizeHint is the expected size
// of its keyspace section.
func encodeSnapshot(st stateView, sizeHint int64) ([]byte, error) {
	var buf bytes.Buffer
	buf.WriteString(snapshotMagic)
	buf.WriteByte(snapshotVersion)
	section := func(kind byte, data []byte) {
		buf.WriteByte(kind)
		buf.Write(binary.AppendUvarint(nil, uint64(len(data))))
		buf.Write(data)
	}
	cs, err := st.confState.Marshal()
	if err != nil {
		return nil, err
	}
	section(sectionConfState, cs)
	members, err := json.Marshal(st.members)
	if err != nil {
		return nil, err
	}
	section(sectionMembers, members)
	var kv bytes.Buffer
	// Growing a large buffer step by step costs more than the encoding.
	kv.Grow(int(sizeHint))
	if _, err := st.kv.WriteTo(&kv); err != nil {
		return nil, err
	}
	section(sectionKV, kv.Bytes())
	section(sectionV2, st.v2)
	removed, err := json.Marshal(st.removed)
	if err != nil {
		return nil, err
	}
	section(sectionRemoved, removed)
	section(sectionVersion, []byte(st.clusterVersion))
	section(sectionLeases, st.leases)
	section(sectionAuth, st.auth)
	buf.WriteByte(sectionEnd)
	return buf.Bytes(), nil
}

func decodeSnapshot(data []byte) (restoredState, error) {
	var st restoredState
	if len(data) < len(snapshotMagic)+1 || string(data[:len(snapshotMagic)]) != snapshotMagic {
		return st, fmt.Errorf("%w: no magic", errBadSnapshot)
	}
	if v := data[len(snapshotMagic)]; v != snapshotVersion {
		return st, fmt.Errorf("%w: unknown version %d", errBadSnapshot, v)
	}
	rest := data[len(snapshotMagic)+1:]
	for {
		if len(rest) == 0 {
			return st, fmt.Errorf("%w: truncated", errBadSnapshot)
		}
		kind := rest[0]
		rest = rest[1:]
		if kind == sectionEnd {
			break
		}
		n, w := binary.Uvarint(rest)
		if w <= 0 || n > uint64(len(rest)-w) {
			return st, fmt.Errorf("%w: bad length of section %d", errBadSnapshot, kind)
		}
		body := rest[w : w+int(n)]
		rest = rest[w+int(n):]
		var err error
		switch kind {
		case sectionConfState:
			err = st.confState.Unmarshal(body)
		case sectionMembers:
			err = json.Unmarshal(body, &st.members)
		case sectionKV:
			st.kv, err = mvcc.Restore(bytes.NewReader(body))
		case sectionV2:
			st.v2, err = tree.Restore(bytes.NewReader(body))
		case sectionRemoved:
			err = json.Unmarshal(body, &st.removed)
		case sectionVersion:
			st.clusterVersion = string(body)
		case sectionLeases:
			st.leases, err = lease.Restore(bytes.NewReader(body))
		case sectionAuth:
			st.auth, err = auth.Restore(body)
		default:
			err = fmt.Errorf("unknown section %d", kind)
		}
		if err != nil {
			return st, fmt.Errorf("%w: section %d: %v", errBadSnapshot, kind, err)
		}
	}
	if st.kv == nil {
		return st, fmt.Errorf("%w: no keyspace section", errBadSnapshot)
	}
	return st, nil
}

// restoreState replaces the state machines' state with a snapshot's, in
// place, so that readers holding them see the new state.
func (s *Server) restoreState(st restoredState) {
	s.kv.ReplaceWith(st.kv)
	if st.v2 != nil {
		s.v2.ReplaceWith(st.v2)
	}
	if st.leases != nil {
		s.leases.ReplaceWith(st.leases)
	} else {
		s.leases.ReplaceWith(lease.New())
	}
	if st.auth != nil {
		s.authStore.ReplaceWith(st.auth)
	} else {
		s.authStore.ReplaceWith(auth.NewStore())
	}
	// The sessions go: the changes the snapshot skipped over (a password
	// changed, a user deleted, auth turned off) would have ended some,
	// and a simple token always stands for the current revision. Clients
	// log in again.
	s.tokens.Clear()
	s.membersMu.Lock()
	defer s.membersMu.Unlock()
	s.confState = st.confState
	s.members = map[MemberID]*Member{}
	for i := range st.members {
		m := st.members[i]
		s.members[m.ID] = &m
	}
	s.removed = map[MemberID]bool{}
	for _, id := range st.removed {
		s.removed[id] = true
	}
	s.clusterVersion = st.clusterVersion
	s.membersChangedLocked()
}

// applySnapshot restores, in the apply loop, a snapshot received from the
// leader, whose file the transport saved.
func (s *Server) applySnapshot(meta raftpb.SnapshotMetadata) error {
	if meta.Index <= s.applied.current() {
		return nil
	}
	mark := wal.SnapshotMark{Index: meta.Index, Term: meta.Term}
	data, err := s.snapshotter.LoadAt(mark)
	if err != nil {
		return fmt.Errorf("cluster: load received snapshot: %w", err)
	}
	st, err := decodeSnapshot(data)
	if err != nil {
		return fmt.Errorf("cluster: received snapshot at index %d: %w", meta.Index, err)
	}
	s.restoreState(st)
	s.watchers.Restored(s.kv.Rev())
	s.reconcilePeers(st.members)
	s.lastSnapIndex = meta.Index
	s.lastSnapshotSize.Store(int64(len(data)))
	s.bytesSinceSnap = 0
	s.appliedTerm = meta.Term
	s.applied.advance(meta.Index)
	s.logger.Info("restored snapshot from leader", "index", meta.Index, "term", meta.Term, "bytes", len(data), "members", len(st.members))
	return nil
}

// writeSnapshot persists a captured state at index. Order matters for crash
// safety: the snapshot file first, then its mark in the WAL, and only then
// are older WAL segments released. A crash in between leaves a file without
// a mark, which restart skips for the previous snapshot, whose entries are
// all still in the WAL.
func (s *Server) writeSnapshot(index, term uint64, st stateView) error {
	data, err := encodeSnapshot(st, s.lastSnapshotSize.Load()+st.logBytes)
	if err != nil {
		return err
	}
	mark := wal.SnapshotMark{Index: index, Term: term}
	start := time.Now()
	if err := s.snapshotter.Save(mark, data); err != nil {
		return err
	}
	backendCommitSeconds.Observe(time.Since(start).Seconds())
	s.walMu.Lock()
	if last := s.wal.LastSnapshotMark(); mark.Index <= last.Index {
		// A leader's snapshot, newer than this one, was installed while it
		// was written: this one is of no use any more (Release removes it
		// in time).
		s.walMu.Unlock()
		s.logger.Info("dropping a snapshot superseded by the leader's", "index", index, "leader-snapshot-index", last.Index)
		return nil
	}
	err = s.wal.SaveSnapshot(mark)
	s.walMu.Unlock()
	if err != nil {
		return err
	}
	s.lastSnapshotSize.Store(int64(len(data)))
	// After a restart from a snapshot the in-memory log starts there, so
	// either call may find its work already done; that is not an error.
	// Raft's copy needs no data: a peer that needs it is sent the file.
	if _, err := s.raftStorage.CreateSnapshot(index, &st.confState, nil); err != nil && !errors.Is(err, raft.ErrSnapOutOfDate) {
		return err
	}
	if keep := s.cfg.SnapshotCatchUpEntries; index > keep {
		if err := s.raftStorage.Compact(index - keep); err != nil && !errors.Is(err, raft.ErrCompacted) {
			return err
		}
	}
	s.walMu.Lock()
	err = s.wal.ReleaseTo(index)
	s.walMu.Unlock()
	if err != nil {
		return err
	}
	if err := s.snapshotter.Release(snapshotsKept); err != nil {
		s.logger.Warn("releasing old snapshots", "error", err)
	}
	s.logger.Info("saved snapshot", "index", index, "term", term, "bytes", len(data))
	return nil
}

// snapshotsKept is how many snapshot files stay on disk.
const snapshotsKept = 3
