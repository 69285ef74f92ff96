package cluster

import (
	"context"
	"fmt"
	"io"
	"runtime/debug"
	"time"
)

// StateSnapshot is a consistent point-in-time copy of the whole replicated
// state (keyspace, v2 tree, leases, auth, alarms, membership), to be
// written out in the snapshot format while the member goes on serving. It
// costs little memory: the keyspace is a copy-on-write view, so only what
// changes while it is written is held twice.
type StateSnapshot struct{ p *snapshotPayload }

// backupAlign is what a backup's payload is padded to a multiple of:
// etcd's client tells a saved snapshot has its checksum by the file's size,
// 32 bytes past a multiple of 512, as a bbolt file plus a SHA-256 is.
const backupAlign = 512

// Len is the number of bytes WriteTo writes.
func (s *StateSnapshot) Len() int64 {
	n := s.p.Len()
	return n + (backupAlign-n%backupAlign)%backupAlign
}

// WriteTo writes the snapshot payload, the format `snapshot restore`
// reads, padded with zeros to Len. The checksum a backup ends with is the
// sender's to add.
func (s *StateSnapshot) WriteTo(w io.Writer) (int64, error) {
	n, err := s.p.WriteTo(w)
	if err != nil {
		return n, err
	}
	pad, err := w.Write(make([]byte, s.Len()-n))
	return n + int64(pad), err
}

// Revision is the keyspace revision the snapshot was taken at.
func (s *StateSnapshot) Revision() int64 { return s.p.rev }

// Snapshot captures the state as of the last applied entry.
func (s *Server) Snapshot(ctx context.Context) (*StateSnapshot, error) {
	var (
		st  stateView
		err error
	)
	// Only the capture runs in the apply loop; sizing the keyspace walks
	// it, which is done here.
	if cerr := s.applyCall(ctx, func() { st, err = s.captureState() }); cerr != nil {
		return nil, cerr
	}
	if err != nil {
		return nil, fmt.Errorf("cluster: capture state: %w", err)
	}
	p, err := newSnapshotPayload(st)
	if err != nil {
		return nil, err
	}
	return &StateSnapshot{p: p}, nil
}

// DefragResult says what a Defragment did.
type DefragResult struct {
	// SizeBefore and SizeAfter are DBSize before and after.
	SizeBefore, SizeAfter int64
	// SnapshotIndex is the index of the snapshot written.
	SnapshotIndex uint64
	Took          time.Duration
}

// Defragment gives back the space compaction freed: it writes a snapshot
// of the state as it is now, which releases the log and the older
// snapshots on disk, returns freed memory to the system, and lowers DBSize
// to the size in use. It is this member's alone, as in etcd. Writes go on
// meanwhile: the apply loop only captures a copy-on-write view, and the
// snapshot is written from it on the caller's goroutine.
func (s *Server) Defragment(ctx context.Context) (DefragResult, error) {
	start := time.Now()
	res := DefragResult{SizeBefore: s.DBSize()}
	select {
	case s.snapshotSem <- struct{}{}:
	case <-ctx.Done():
		return res, ctx.Err()
	case <-s.stopping:
		return res, ErrStopped
	}
	defer func() { <-s.snapshotSem }()
	var (
		st          stateView
		index, term uint64
		err         error
	)
	if cerr := s.applyCall(ctx, func() {
		index = s.applied.current()
		st, term, err = s.captureForSnapshot()
		// What the snapshot holds is all the keyspace takes from now on.
		s.dbSizeHigh.Store(s.DBSizeInUse())
	}); cerr != nil {
		return res, cerr
	}
	if err != nil {
		return res, err
	}
	s.walMu.Lock()
	// With nothing applied since the last snapshot, that one is this one.
	written := s.wal.LastSnapshotMark().Index >= index
	s.walMu.Unlock()
	if !written {
		if err := s.writeSnapshot(index, term, st); err != nil {
			s.fail(fmt.Errorf("cluster: snapshot at index %d: %w", index, err))
			return res, err
		}
	}
	debug.FreeOSMemory()
	res.SizeAfter, res.SnapshotIndex, res.Took = s.DBSize(), index, time.Since(start)
	s.logger.Info("defragmented", "size-before", res.SizeBefore, "size-after", res.SizeAfter,
		"snapshot-index", index, "took", res.Took.String())
	return res, nil
}
