package wal

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"
)

// Entry is one Raft entry as the WAL stores it.
type Entry struct {
	Index uint64
	Term  uint64
	// Data is the marshalled raftpb.Entry. The WAL does not look inside.
	Data []byte
}

// HardState is Raft's persistent state besides the log. The zero HardState
// means "unchanged" to Save, as an empty raftpb.HardState does to etcd.
type HardState struct {
	Term   uint64
	Vote   uint64
	Commit uint64
}

// IsZero reports whether hs is the zero HardState.
func (hs HardState) IsZero() bool { return hs == HardState{} }

// SnapshotMark names a snapshot by the index and term of the last entry it
// covers. The zero mark means "no snapshot": replay from the first entry.
type SnapshotMark struct {
	Index uint64
	Term  uint64
}

// DefaultSegmentSize is the default Options.SegmentSize.
const DefaultSegmentSize = 64 << 20

// DefaultSlowSync is how long an fdatasync may take before it is logged
// (etcd's one second).
const DefaultSlowSync = time.Second

// maxRetainedBuffer bounds the encoding buffer a WAL keeps between Saves.
const maxRetainedBuffer = 4 << 20

// Options configures a WAL. The zero value is ready to use.
type Options struct {
	// SegmentSize is the size at which the active segment is closed and a
	// new one begins. Segments are preallocated to this size. A batch never
	// spans two segments, so a segment can end up larger. Default 64 MiB.
	SegmentSize int64
	// Logger receives warnings (torn tails, slow syncs) and notices (new and
	// released segments). Default slog.Default().
	Logger *slog.Logger
	// FS is the file system; tests use it to inject faults. Default OSFS.
	FS FS
	// SlowSync is how long an fdatasync may take before it is logged as
	// slow. Default DefaultSlowSync.
	SlowSync time.Duration
}

// validate fills in defaults and checks the fields.
func (o *Options) validate() error {
	if o.SegmentSize == 0 {
		o.SegmentSize = DefaultSegmentSize
	}
	if o.SegmentSize < 0 {
		return fmt.Errorf("wal: negative SegmentSize %d", o.SegmentSize)
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.FS == nil {
		o.FS = OSFS
	}
	if o.SlowSync == 0 {
		o.SlowSync = DefaultSlowSync
	}
	return nil
}

// WAL is the write-ahead log of one Raft member: a directory of segment
// files. It is safe for concurrent use; every method but the file removals
// of ReleaseTo runs under one mutex, so a Save waits for a concurrent
// SaveState records hs without waiting for the disk. Raft needs a commit
// index change neither durable nor recorded (a restarted member learns it
// again), so it is not worth an fdatasync; written all the same, it lets an
// offline reader of the log (a backup) tell committed entries from a
// deposed leader's tail after anything short of a power loss. A later Save
// makes it durable with its own sync.
func (w *WAL) SaveState(hs HardState) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.appendableLocked(); err != nil {
		return err
	}
	if hs.IsZero() || hs == w.hs {
		return nil
	}
	if err := w.rollIfFullLocked(); err != nil {
		return err
	}
	if err := w.writeLocked(appendHardState(w.buf[:0], hs, flagBatchEnd), false); err != nil {
		return err
	}
	w.hs = hs
	return nil
}

// SaveSnapshot and the other way round. See doc.go.
type WAL struct {
	dir         string
	fs          FS
	log         *slog.Logger
	segmentSize int64
	slowSync    time.Duration

	mu sync.Mutex // guards every field below
	// segs lists the segments on disk, by Seq; the last is the active one.
	segs []Segment
	f    File  // the active segment, open for writing
	off  int64 // where the next record goes in f

	metadata  []byte
	hs        HardState    // the last one saved
	mark      SnapshotMark // the last one recorded
	lastIndex uint64       // of the last entry, or of a later snapshot mark

	// pending holds what Open replayed until ReadAll hands it over. While
	// it is set the WAL refuses to append.
	pending *replayed

	buf    []byte // encoding buffer, reused across Saves
	err    error  // set by a failed write or sync; every later append returns it
	closed bool
}

type replayed struct {
	metadata []byte
	hs       HardState
	ents     []Entry
}

func newWAL(dir string, opts Options) *WAL {
	return &WAL{dir: dir, fs: opts.FS, log: opts.Logger, segmentSize: opts.SegmentSize, slowSync: opts.SlowSync}
}

// Exist reports whether dir holds a WAL (at least one segment file). A
// missing dir holds none; any other failure to list it is an error, so a
// disk problem is never mistaken for a fresh member.
func Exist(dir string) (bool, error) {
	names, err := OSFS.List(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("wal: %w", err)
	}
	for _, name := range names {
		if _, ok := ParseSegment(name); ok {
			return true, nil
		}
	}
	return false, nil
}

// Create makes a new WAL in dir, creating dir if needed, with metadata
// stored in every segment header. It fails with ErrExist if dir already
// holds a WAL. The returned WAL appends at once; it has nothing to ReadAll.
func Create(dir string, metadata []byte, opts Options) (*WAL, error) {
	if err := opts.validate(); err != nil {
		return nil, err
	}
	if len(metadata) > maxPayload-segHeaderFixed {
		return nil, fmt.Errorf("wal: metadata of %d bytes is too large", len(metadata))
	}
	if err := opts.FS.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("wal: %w", err)
	}
	w := newWAL(dir, opts)
	segs, tmps, err := listSegments(w.fs, dir, w.log)
	if err != nil {
		return nil, fmt.Errorf("wal: %w", err)
	}
	if len(segs) > 0 {
		return nil, fmt.Errorf("%w: %s", ErrExist, dir)
	}
	w.removeTemps(tmps)
	w.metadata = bytes.Clone(metadata)
	first := Segment{Seq: 0, Index: 1}
	f, off, err := w.createSegment(first)
	if err != nil {
		return nil, err
	}
	// dir may be new: make its own entry durable too.
	if err := w.fs.SyncDir(filepath.Dir(filepath.Clean(dir))); err != nil {
		return nil, errors.Join(fmt.Errorf("wal: %w", err), f.Close())
	}
	w.segs, w.f, w.off = []Segment{first}, f, off
	return w, nil
}

// Open opens the WAL in dir to replay the entries after from, the snapshot
// the member restarts from (the zero mark: from the first entry). It reads
// and checks every segment the replay needs, truncates a torn tail at the
// end of the last one (logging a warning), and returns the WAL positioned
// for ReadAll.
//
// Errors: ErrNotExist; ErrSnapshotNotFound when from is not the zero mark
// and was never recorded, or the entries after it were released; a
// *CorruptionError (errors.Is ErrCorrupt) for damage other than a torn
// tail; ErrUnsupportedVersion for a segment of a newer format.
func Open(dir string, from SnapshotMark, opts Options) (*WAL, error) {
	if err := opts.validate(); err != nil {
		return nil, err
	}
	w := newWAL(dir, opts)
	segs, tmps, start, err := segmentsFrom(w.fs, w.log, dir, from)
	w.removeTemps(tmps)
	if err != nil {
		return nil, err
	}
	rp := &replay{from: from, keepEntries: true, matched: from == SnapshotMark{}}
	f, end, t, err := readSegments(w.fs, dir, segs[start:], rp, true)
	if err != nil {
		return nil, err
	}
	if !rp.matched {
		return nil, errors.Join(fmt.Errorf("%w: %+v", ErrSnapshotNotFound, from), f.Close())
	}
	active := filepath.Join(dir, segs[len(segs)-1].Name())
	if t != nil {
		w.log.Warn("wal: truncating a torn write at the end of the log",
			"path", active, "offset", t.offset, "reason", t.reason, "discarded_sound_records", t.dropped)
		err = f.Truncate(t.offset)
	}
	// Preallocate (again, after a truncation, or for a segment written with
	// a smaller SegmentSize) so appends overwrite zeros; sync the repair.
	if err == nil {
		err = f.Preallocate(w.segmentSize)
	}
	if err == nil {
		err = f.Sync()
	}
	if err != nil {
		return nil, errors.Join(fmt.Errorf("wal: repairing %s: %w", active, err), f.Close())
	}
	w.segs, w.f, w.off = segs, f, end
	w.metadata, w.hs, w.mark, w.lastIndex = rp.metadata, rp.hs, rp.mark, rp.lastIndex
	w.pending = &replayed{metadata: bytes.Clone(rp.metadata), hs: rp.hs, ents: rp.ents}
	return w, nil
}

// ReadAt replays the log in dir from the snapshot mark without opening it
// for appends or repairing anything: what Open then ReadAll return, for a
// reader that must leave the log as it is (an offline backup). A torn tail
// is left out, as Open would cut it.
func ReadAt(dir string, from SnapshotMark, opts Options) (metadata []byte, hs HardState, ents []Entry, err error) {
	if err := opts.validate(); err != nil {
		return nil, HardState{}, nil, err
	}
	segs, _, start, err := segmentsFrom(opts.FS, opts.Logger, dir, from)
	if err != nil {
		return nil, HardState{}, nil, err
	}
	rp := &replay{from: from, keepEntries: true, matched: from == SnapshotMark{}}
	if _, _, _, err := readSegments(opts.FS, dir, segs[start:], rp, false); err != nil {
		return nil, HardState{}, nil, err
	}
	if !rp.matched {
		return nil, HardState{}, nil, fmt.Errorf("%w: %+v", ErrSnapshotNotFound, from)
	}
	return rp.metadata, rp.hs, rp.ents, nil
}

// segmentsFrom lists the segments of dir, with the leftover temporary
// files, and finds the first one a replay from the mark must read: segs[start:]
// are the segments to replay, checked to follow each other.
func segmentsFrom(fsys FS, log *slog.Logger, dir string, from SnapshotMark) (segs []Segment, tmps []string, start int, err error) {
	segs, tmps, err = listSegments(fsys, dir, log)
	if errors.Is(err, fs.ErrNotExist) || err == nil && len(segs) == 0 {
		return nil, tmps, 0, fmt.Errorf("%w: %s", ErrNotExist, dir)
	}
	if err != nil {
		return nil, tmps, 0, fmt.Errorf("wal: %w", err)
	}
	start = startFor(segs, from.Index)
	if start < 0 {
		return nil, tmps, 0, fmt.Errorf("%w: replay from %+v needs entry %d, but the oldest segment %s starts later",
			ErrSnapshotNotFound, from, from.Index+1, segs[0].Name())
	}
	if err := checkSequence(dir, segs[start:]); err != nil {
		return nil, tmps, 0, err
	}
	return segs, tmps, start, nil
}

// readSegments replays segs, in order, into rp. With forWrite it returns the
// last segment's file open for writing; otherwise every file is closed. end
// is where the log ends in the last segment, t its torn tail if it has one.
func readSegments(fsys FS, dir string, segs []Segment, rp *replay, forWrite bool) (f File, end int64, t *tear, err error) {
	var buf []byte
	for i, s := range segs {
		last := i == len(segs)-1
		keep := last && forWrite
		path := filepath.Join(dir, s.Name())
		flag := os.O_RDONLY
		if keep {
			flag = os.O_RDWR
		}
		file, err := fsys.OpenFile(path, flag, 0)
		if err != nil {
			return nil, 0, nil, fmt.Errorf("wal: %w", err)
		}
		buf, err = readFile(file, buf)
		if err != nil {
			err = fmt.Errorf("wal: reading %s: %w", path, err)
		} else {
			rp.pos, rp.seg, rp.path = i, s, path
			end, t, err = scanSegment(buf, path, last, rp.visit)
		}
		if err != nil || !keep {
			if cerr := file.Close(); err == nil && cerr != nil {
				err = fmt.Errorf("wal: %w", cerr)
			}
		}
		if err != nil {
			return nil, 0, nil, err
		}
		if keep {
			f = file
		}
	}
	return f, end, t, nil
}

// ValidSnapshotMarks returns the snapshot marks, oldest first, that Open in
// dir would accept as from: recorded in the segments still on disk, with
// the entries after them still there, and covered by the last HardState's
// commit index (a mark recorded just before a crash can be ahead of the
// saved commit index, and Raft refuses to start from such a snapshot). The
// zero mark is among them while the log still starts at entry 1.
//
// The snapshot files are written before their marks are recorded, so a
// crash can leave a newest file the WAL does not know; pass these marks to
// Snapshotter.LoadNewestAvailable to skip it. It reads without repairing.
func ValidSnapshotMarks(dir string, opts Options) ([]SnapshotMark, error) {
	if err := opts.validate(); err != nil {
		return nil, err
	}
	segs, _, err := listSegments(opts.FS, dir, opts.Logger)
	if errors.Is(err, fs.ErrNotExist) || err == nil && len(segs) == 0 {
		return nil, fmt.Errorf("%w: %s", ErrNotExist, dir)
	}
	if err != nil {
		return nil, fmt.Errorf("wal: %w", err)
	}
	// Segments before a gap in the sequence are leftovers of an interrupted
	// ReleaseTo (it removes the oldest first); Open never needs them.
	i := len(segs) - 1
	for i > 0 && segs[i-1].Seq+1 == segs[i].Seq {
		i--
	}
	if i > 0 && segs[i-1].Seq == segs[i].Seq {
		return nil, checkSequence(dir, segs[i-1:i+1])
	}
	segs = segs[i:]
	rp := &replay{}
	if _, _, _, err := readSegments(opts.FS, dir, segs, rp, false); err != nil {
		return nil, err
	}
	var marks []SnapshotMark
	for _, m := range rp.marks {
		if start := startFor(segs, m.mark.Index); start >= 0 && m.pos >= start && m.mark.Index <= rp.hs.Commit {
			marks = append(marks, m.mark)
		}
	}
	slices.SortFunc(marks, compareMarks)
	return marks, nil
}

func compareMarks(a, b SnapshotMark) int {
	return cmp.Or(cmp.Compare(a.Index, b.Index), cmp.Compare(a.Term, b.Term))
}

// ReadAll returns what Open replayed: the metadata given to Create, the
// last HardState saved, and the entries after Open's snapshot mark, with
// overwritten entries already replaced. Call it exactly once, right after
// Open; the WAL then accepts appends.
func (w *WAL) ReadAll() (metadata []byte, hs HardState, ents []Entry, err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return nil, HardState{}, nil, ErrClosed
	}
	if w.pending == nil {
		return nil, HardState{}, nil, ErrReplay
	}
	r := w.pending
	w.pending = nil
	return r.metadata, r.hs, r.ents, nil
}

// Save appends ents and, unless it is zero or unchanged, hs, in one write
// followed by one fdatasync: it returns once they are durable. Entries go
// first, so a durable HardState implies durable entries. Save is a no-op
// when there is nothing new.
//
// ents must be contiguous, start at most one past the log's last index
// (a lower start overwrites the uncommitted tail, as Raft does), and start
// after the last recorded snapshot mark; otherwise Save returns
// ErrOutOfOrder and writes nothing.
//
// When the active segment is full Save first starts a new one, which costs
// a few more syncs. If a write or sync fails the WAL is unusable: what
// reached the disk is unknown (a failed fsync may have dropped the dirty
// pages), so every later append returns the same error. Restart and replay.
func (w *WAL) Save(hs HardState, ents []Entry) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.appendableLocked(); err != nil {
		return err
	}
	saveHS := !hs.IsZero() && hs != w.hs
	if len(ents) == 0 && !saveHS {
		return nil
	}
	if err := w.checkEntriesLocked(ents); err != nil {
		return err
	}
	if err := w.rollIfFullLocked(); err != nil {
		return err
	}
	b := w.buf[:0]
	for i, e := range ents {
		var flags uint8
		if i == len(ents)-1 && !saveHS {
			flags = flagBatchEnd
		}
		b = appendEntry(b, e, flags)
	}
	if saveHS {
		b = appendHardState(b, hs, flagBatchEnd)
	}
	if err := w.writeLocked(b, true); err != nil {
		return err
	}
	if len(ents) > 0 {
		w.lastIndex = ents[len(ents)-1].Index
	}
	if saveHS {
		w.hs = hs
	}
	return nil
}

func (w *WAL) checkEntriesLocked(ents []Entry) error {
	for i, e := range ents {
		if len(e.Data) > maxPayload-entryFixedSize {
			return fmt.Errorf("wal: entry %d of %d bytes is too large", e.Index, len(e.Data))
		}
		if i > 0 && e.Index != ents[i-1].Index+1 {
			return fmt.Errorf("%w: entry %d follows entry %d", ErrOutOfOrder, e.Index, ents[i-1].Index)
		}
	}
	if len(ents) == 0 {
		return nil
	}
	switch first := ents[0].Index; {
	case first == 0:
		return fmt.Errorf("%w: entry index 0", ErrOutOfOrder)
	case first > w.lastIndex+1:
		return fmt.Errorf("%w: entry %d leaves a gap after the last index %d", ErrOutOfOrder, first, w.lastIndex)
	case first <= w.mark.Index:
		return fmt.Errorf("%w: entry %d would overwrite the snapshot at %+v", ErrOutOfOrder, first, w.mark)
	}
	return nil
}

// SaveSnapshot durably records that a snapshot file at mark exists, so Open
// can replay from it. Write and sync the snapshot file (Snapshotter.Save)
// first, and record the mark before saving the entries that follow it. A
// mark older than the last recorded one is ErrOutOfOrder; recording the
// same mark again is a no-op. A mark past the log's last index (a follower
// that received a snapshot) moves the last index to it.
func (w *WAL) SaveSnapshot(mark SnapshotMark) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.appendableLocked(); err != nil {
		return err
	}
	if mark == w.mark {
		return nil
	}
	if mark.Index <= w.mark.Index {
		return fmt.Errorf("%w: snapshot %+v after snapshot %+v", ErrOutOfOrder, mark, w.mark)
	}
	if err := w.rollIfFullLocked(); err != nil {
		return err
	}
	// A snapshot holds only committed entries, so its index is a lower
	// bound of the commit index. Recording that here keeps the mark valid
	// (ValidSnapshotMarks) even when the caller does not persist HardStates
	// that only advance Commit, which need no sync of their own.
	hs := w.hs
	b := w.buf[:0]
	if hs.Commit < mark.Index {
		hs.Commit = mark.Index
		b = appendHardState(b, hs, 0)
	}
	if err := w.writeLocked(appendSnapshot(b, mark, flagBatchEnd), true); err != nil {
		return err
	}
	w.hs = hs
	w.mark = mark
	w.lastIndex = max(w.lastIndex, mark.Index)
	return nil
}

// LastSnapshotMark returns the newest snapshot mark recorded.
func (w *WAL) LastSnapshotMark() SnapshotMark {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.mark
}

// ReleaseTo removes the segments that a replay of the entries after index
// does not need: those before the last segment created when the log ended
// at or before index. An index beyond the last recorded snapshot mark is
// taken as that mark. The active segment is never removed. Safe to call from another
// goroutine than Save's; the removals happen outside the lock.
func (w *WAL) ReleaseTo(index uint64) error {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return ErrClosed
	}
	// Entries after the last recorded snapshot are what a restart replays;
	// releasing them would leave a log that cannot be opened.
	index = min(index, w.mark.Index)
	start := startFor(w.segs, index)
	if start <= 0 {
		w.mu.Unlock()
		return nil
	}
	victims := w.segs[:start]
	w.segs = slices.Clone(w.segs[start:])
	w.mu.Unlock()

	// Oldest first, so a crash in between leaves a suffix of the log: its
	// sequence has no gap. Not syncing the directory is fine: a segment
	// that comes back after a crash is an unneeded prefix.
	var errs []error
	for _, s := range victims {
		path := filepath.Join(w.dir, s.Name())
		if err := w.fs.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, fmt.Errorf("wal: %w", err))
			continue
		}
		w.log.Info("wal: released segment", "path", path, "release_index", index)
	}
	return errors.Join(errs...)
}

// Close closes the active segment. Every write was synced by the call that
// made it, so there is nothing to flush.
func (w *WAL) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return ErrClosed
	}
	w.closed = true
	w.pending = nil
	if err := w.f.Close(); err != nil {
		return fmt.Errorf("wal: %w", err)
	}
	return nil
}

func (w *WAL) appendableLocked() error {
	switch {
	case w.closed:
		return ErrClosed
	case w.err != nil:
		return w.err
	case w.pending != nil:
		return ErrReplay
	}
	return nil
}

// writeLocked writes b at the end of the active segment with one write and
// makes it durable with one fdatasync.
func (w *WAL) writeLocked(b []byte, sync bool) error {
	if cap(b) <= maxRetainedBuffer {
		w.buf = b[:0]
	} else {
		w.buf = nil
	}
	if _, err := w.f.WriteAt(b, w.off); err != nil {
		return w.failLocked(err)
	}
	if !sync {
		w.off += int64(len(b))
		return nil
	}
	start := time.Now()
	if err := w.f.Sync(); err != nil {
		return w.failLocked(err)
	}
	if took := time.Since(start); took > w.slowSync {
		// etcd's words: every write waits behind this sync.
		w.log.Warn("slow fdatasync", "took", took.String(), "expected-duration", w.slowSync.String(),
			"path", w.activePathLocked(), "bytes", len(b))
	}
	w.off += int64(len(b))
	return nil
}

// failLocked makes err sticky. After a failed write or fdatasync the state
// of the file is unknown: Linux may have dropped the dirty pages and marked
// them clean, so a retried fdatasync could succeed without writing them.
func (w *WAL) failLocked(err error) error {
	w.err = fmt.Errorf("wal: %s is unusable after a failed write or sync, restart to replay what is durable: %w",
		w.activePathLocked(), err)
	return w.err
}

func (w *WAL) activePathLocked() string { return filepath.Join(w.dir, w.segs[len(w.segs)-1].Name()) }

// rollIfFullLocked starts a new segment if the active one is full.
func (w *WAL) rollIfFullLocked() error {
	if w.off < w.segmentSize {
		return nil
	}
	// Give back the full segment's unused preallocation. Only tidiness: a
	// zeroed tail reads as the end of a segment.
	if err := w.f.Truncate(w.off); err != nil {
		return w.failLocked(err)
	}
	next := Segment{Seq: w.segs[len(w.segs)-1].Seq + 1, Index: w.lastIndex + 1}
	f, off, err := w.createSegment(next)
	if err != nil {
		return w.failLocked(err)
	}
	if err := w.f.Close(); err != nil {
		w.log.Warn("wal: closing a full segment", "path", w.activePathLocked(), "err", err)
	}
	w.segs = append(w.segs, next)
	w.f, w.off = f, off
	w.log.Info("wal: started segment", "path", w.activePathLocked(), "first_index", next.Index)
	return nil
}

// createSegment makes segment s durable with its header (the current
// metadata, HardState and mark) and returns it open for appending after the
// header. It prepares the file under a temporary name and renames it, so a
// segment with a final name always has a complete header.
func (w *WAL) createSegment(s Segment) (File, int64, error) {
	path := filepath.Join(w.dir, s.Name())
	tmp := path + tmpExt
	f, err := w.fs.OpenFile(tmp, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, 0, fmt.Errorf("wal: %w", err)
	}
	hdr := appendSegmentHeader(nil, segmentHeader{
		version:   formatVersion,
		seq:       s.Seq,
		prevIndex: s.Index - 1,
		hs:        w.hs,
		mark:      w.mark,
		metadata:  w.metadata,
	})
	err = f.Preallocate(w.segmentSize)
	if err == nil {
		_, err = f.WriteAt(hdr, 0)
	}
	if err == nil {
		err = f.Sync()
	}
	if err == nil {
		err = w.fs.Rename(tmp, path)
		if err == nil {
			err = w.fs.SyncDir(w.dir)
		}
	}
	if err != nil {
		_ = w.fs.Remove(tmp)
		return nil, 0, errors.Join(fmt.Errorf("wal: creating %s: %w", path, err), f.Close())
	}
	return f, int64(len(hdr)), nil
}

// removeTemps removes segments whose creation a crash interrupted: they
// never got their final name, so nothing was appended to them.
func (w *WAL) removeTemps(names []string) {
	for _, name := range names {
		path := filepath.Join(w.dir, name)
		if err := w.fs.Remove(path); err != nil {
			w.log.Warn("wal: removing an unfinished segment", "path", path, "err", err)
			continue
		}
		w.log.Info("wal: removed an unfinished segment", "path", path)
	}
}
