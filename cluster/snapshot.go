package cluster

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
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
	sectionAlarms    byte = 9
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
	alarms  []Alarm
	// clusterVersion is "" until decided.
	clusterVersion string
	confState      raftpb.ConfState
}

// snapshotSection is one section of a snapshot payload, with its length
// known before it is written, so a payload streams without being held in
// memory: only the keyspace section is large, and it writes itself.
type snapshotSection struct {
	kind  byte
	len   int64
	write func(w io.Writer) error
}

func bytesSection(kind byte, data []byte) snapshotSection {
	return snapshotSection{kind: kind, len: int64(len(data)), write: func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	}}
}

// snapshotPayload is a captured state ready to be written in the snapshot
// format, as many times as needed, while the member goes on.
type snapshotPayload struct {
	sections []snapshotSection
	// rev is the keyspace's revision in it.
	rev int64
}

func newSnapshotPayload(st stateView) (*snapshotPayload, error) {
	cs, err := st.confState.Marshal()
	if err != nil {
		return nil, err
	}
	members, err := json.Marshal(st.members)
	if err != nil {
		return nil, err
	}
	removed, err := json.Marshal(st.removed)
	if err != nil {
		return nil, err
	}
	kv := st.kv
	return &snapshotPayload{rev: kv.Rev(), sections: []snapshotSection{
		bytesSection(sectionConfState, cs),
		bytesSection(sectionMembers, members),
		{kind: sectionKV, len: kv.EncodedLen(), write: func(w io.Writer) error {
			_, err := kv.WriteTo(w)
			return err
		}},
		bytesSection(sectionV2, st.v2),
		bytesSection(sectionRemoved, removed),
		bytesSection(sectionVersion, []byte(st.clusterVersion)),
		bytesSection(sectionLeases, st.leases),
		bytesSection(sectionAuth, st.auth),
		bytesSection(sectionAlarms, st.alarms),
	}}, nil
}

// Len is the number of bytes WriteTo writes.
func (p *snapshotPayload) Len() int64 {
	n := int64(len(snapshotMagic) + 1 + 1)
	for _, sec := range p.sections {
		n += 1 + int64(uvarintLen(uint64(sec.len))) + sec.len
	}
	return n
}

func uvarintLen(x uint64) int {
	var b [binary.MaxVarintLen64]byte
	return binary.PutUvarint(b[:], x)
}

// WriteTo writes the payload: magic, version, then (kind byte, uvarint
// length, bytes) per section, then a zero kind.
func (p *snapshotPayload) WriteTo(w io.Writer) (int64, error) {
	cw := &countingWriter{w: w}
	bw := bufio.NewWriterSize(cw, 64<<10)
	bw.WriteString(snapshotMagic)
	bw.WriteByte(snapshotVersion)
	for _, sec := range p.sections {
		bw.WriteByte(sec.kind)
		bw.Write(binary.AppendUvarint(nil, uint64(sec.len)))
		before := cw.n + int64(bw.Buffered())
		if err := sec.write(bw); err != nil {
			return cw.n, err
		}
		if got := cw.n + int64(bw.Buffered()) - before; got != sec.len {
			panic(fmt.Sprintf("cluster: snapshot section %d wrote %d bytes, announced %d", sec.kind, got, sec.len))
		}
	}
	bw.WriteByte(sectionEnd)
	err := bw.Flush()
	return cw.n, err
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// decodeSnapshot reads a snapshot payload from r, section by section: the
// keyspace is rebuilt as it streams in, never held as bytes.
func decodeSnapshot(r io.Reader) (restoredState, error) {
	var st restoredState
	br := bufio.NewReaderSize(r, 64<<10)
	head := make([]byte, len(snapshotMagic)+1)
	if _, err := io.ReadFull(br, head); err != nil || string(head[:len(snapshotMagic)]) != snapshotMagic {
		return st, fmt.Errorf("%w: no magic", errBadSnapshot)
	}
	if v := head[len(snapshotMagic)]; v != snapshotVersion {
		return st, fmt.Errorf("%w: unknown version %d", errBadSnapshot, v)
	}
	for {
		kind, err := br.ReadByte()
		if err != nil {
			return st, fmt.Errorf("%w: truncated", errBadSnapshot)
		}
		if kind == sectionEnd {
			break
		}
		n, err := binary.ReadUvarint(br)
		if err != nil || n > math.MaxInt64 {
			return st, fmt.Errorf("%w: bad length of section %d", errBadSnapshot, kind)
		}
		body := &io.LimitedReader{R: br, N: int64(n)}
		if kind == sectionKV {
			st.kv, err = mvcc.Restore(body)
		} else {
			err = decodeSmallSection(&st, kind, body)
		}
		if err == nil && body.N != 0 {
			err = fmt.Errorf("%d bytes short or unread", body.N)
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

// decodeSmallSection reads one section other than the keyspace: these are
// small enough to read whole.
func decodeSmallSection(st *restoredState, kind byte, r *io.LimitedReader) error {
	want := r.N
	body, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	if int64(len(body)) != want {
		return fmt.Errorf("truncated: %d of %d bytes", len(body), want)
	}
	switch kind {
	case sectionConfState:
		return st.confState.Unmarshal(body)
	case sectionMembers:
		return json.Unmarshal(body, &st.members)
	case sectionV2:
		st.v2, err = tree.Restore(bytes.NewReader(body))
	case sectionRemoved:
		return json.Unmarshal(body, &st.removed)
	case sectionVersion:
		st.clusterVersion = string(body)
	case sectionLeases:
		st.leases, err = lease.Restore(bytes.NewReader(body))
	case sectionAuth:
		st.auth, err = auth.Restore(body)
	case sectionAlarms:
		return json.Unmarshal(body, &st.alarms)
	default:
		return fmt.Errorf("unknown section %d", kind)
	}
	return err
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
	s.alarms.replaceWith(st.alarms)
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
	data, err := s.snapshotter.OpenAt(mark)
	if err != nil {
		return fmt.Errorf("cluster: load received snapshot: %w", err)
	}
	st, err := decodeSnapshot(data)
	data.Close()
	if err != nil {
		return fmt.Errorf("cluster: received snapshot at index %d: %w", meta.Index, err)
	}
	s.restoreState(st)
	s.watchers.Restored(s.kv.Rev())
	s.reconcilePeers(st.members)
	s.lastSnapIndex = meta.Index
	s.lastSnapshotSize.Store(data.Size)
	s.bytesSinceSnap = 0
	s.appliedTerm = meta.Term
	s.applied.advance(meta.Index)
	s.logger.Info("restored snapshot from leader", "index", meta.Index, "term", meta.Term, "bytes", data.Size, "members", len(st.members))
	return nil
}

// writeSnapshot persists a captured state at index. Order matters for crash
// safety: the snapshot file first, then its mark in the WAL, and only then
// are older WAL segments released. A crash in between leaves a file without
// a mark, which restart skips for the previous snapshot, whose entries are
// all still in the WAL.
func (s *Server) writeSnapshot(index, term uint64, st stateView) error {
	payload, err := newSnapshotPayload(st)
	if err != nil {
		return err
	}
	size := payload.Len()
	mark := wal.SnapshotMark{Index: index, Term: term}
	start := time.Now()
	if err := s.snapshotter.SaveFrom(mark, size, payload); err != nil {
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
	s.lastSnapshotSize.Store(size)
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
	s.logger.Info("saved snapshot", "index", index, "term", term, "bytes", size)
	return nil
}

// snapshotsKept is how many snapshot files stay on disk.
const snapshotsKept = 3
