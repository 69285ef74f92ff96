package wal

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
)

const (
	snapExt    = ".snap"
	brokenExt  = ".broken"
	orphanExt  = ".orphan"
	snapMagic  = "larchsnp"
	snapFormat = uint32(1)
	// snapHeaderSize: magic, version, index, term, data length.
	snapHeaderSize = 8 + 4 + 8 + 8 + 8
	snapCRCSize    = 4
)

// Snapshotter keeps the snapshot files of a member in one directory, one
// file per snapshot, named "%016x-%016x.snap" of the mark's index and term.
// The file format is in doc.go. A Snapshotter is safe for concurrent use;
// its methods run one at a time, except that Receive waits for the network
// without the lock.
type Snapshotter struct {
	dir string
	fs  FS
	log *slog.Logger

	// mu serializes the methods, but for the network transfer of a
	// Receive: Load must not clean up a file Save is writing.
	mu sync.Mutex
	// receiving holds the paths of the temporary files of the Receives in
	// progress, which Load's clean-up must leave alone. Guarded by mu.
	receiving map[string]struct{}
}

// NewSnapshotter returns a Snapshotter for dir, which Save creates if
// needed. A nil logger means slog.Default().
func NewSnapshotter(dir string, logger *slog.Logger) *Snapshotter {
	if logger == nil {
		logger = slog.Default()
	}
	return &Snapshotter{dir: dir, fs: OSFS, log: logger}
}

func snapName(m SnapshotMark) string {
	return fmt.Sprintf("%016x-%016x%s", m.Index, m.Term, snapExt)
}

func parseSnapName(name string) (SnapshotMark, bool) {
	base, ok := strings.CutSuffix(name, snapExt)
	if !ok || len(base) != 33 || base[16] != '-' {
		return SnapshotMark{}, false
	}
	idx, err1 := strconv.ParseUint(base[:16], 16, 64)
	term, err2 := strconv.ParseUint(base[17:], 16, 64)
	m := SnapshotMark{Index: idx, Term: term}
	return m, err1 == nil && err2 == nil && snapName(m) == name
}

// Save durably writes the snapshot data at mark: to a temporary file, which
// is synced, renamed to its final name, and made durable in the directory by
// syncing it. A crash leaves either the complete file or none. Record the
// mark in the WAL (WAL.SaveSnapshot) only after Save returns.
func (s *Snapshotter) Save(mark SnapshotMark, data []byte) error {
	return s.SaveFrom(mark, int64(len(data)), bytes.NewReader(data))
}

// SaveFrom is Save for data that writes itself: src writes exactly size
// bytes, streamed into the file, so a large snapshot is never held whole.
func (s *Snapshotter) SaveFrom(mark SnapshotMark, size int64, src io.WriterTo) (err error) {
	path := filepath.Join(s.dir, snapName(mark))
	// As Receive does, the data goes into a temporary file of its own with
	// the Snapshotter unlocked: a large state encoding itself holds up
	// neither OpenAt (a follower installing the leader's snapshot) nor
	// OpenFile nor a Receive. Only the rename takes the lock.
	tmp, err := s.createTemp(mark)
	if err != nil {
		return fmt.Errorf("wal: saving snapshot %s: %w", path, err)
	}
	f := tmp.f
	defer func() {
		s.dropTemp(&tmp)
		if err != nil {
			err = fmt.Errorf("wal: saving snapshot %s: %w", path, err)
		}
	}()

	hdr := make([]byte, 0, snapHeaderSize)
	hdr = append(hdr, snapMagic...)
	hdr = binary.LittleEndian.AppendUint32(hdr, snapFormat)
	hdr = appendMarkPayload(hdr, mark)
	hdr = binary.LittleEndian.AppendUint64(hdr, uint64(size))
	fw := &fileWriter{f: f, crc: crc32.Update(0, castagnoli, hdr)}
	if _, err := f.WriteAt(hdr, 0); err != nil {
		return err
	}
	fw.off = snapHeaderSize
	if _, err := src.WriteTo(fw); err != nil {
		return err
	}
	if fw.off-snapHeaderSize != size {
		return fmt.Errorf("wal: snapshot data is %d bytes, announced %d", fw.off-snapHeaderSize, size)
	}
	if _, err := f.WriteAt(binary.LittleEndian.AppendUint32(nil, fw.crc), fw.off); err != nil {
		return err
	}
	return s.finishTemp(&tmp, path)
}

// fileWriter appends to a File, which only writes at offsets, and keeps
// the checksum of what it wrote.
type fileWriter struct {
	f   File
	off int64
	crc uint32
}

func (w *fileWriter) Write(p []byte) (int, error) {
	n, err := w.f.WriteAt(p, w.off)
	w.crc = crc32.Update(w.crc, castagnoli, p[:n])
	w.off += int64(n)
	return n, err
}

// Load returns the newest valid snapshot. A corrupt file is logged, renamed
// aside with the suffix ".broken" and the next newest tried. It returns
// ErrNoSnapshot when no valid file is left, and other errors (an I/O error,
// ErrUnsupportedVersion) as they come, without trying older files.
func (s *Snapshotter) Load() (SnapshotMark, []byte, error) {
	m, d, err := s.open(false, nil, false)
	if err != nil {
		return m, nil, err
	}
	b, err := d.readAll()
	return m, b, err
}

// LoadNewestAvailable is Load restricted to the snapshots whose marks are
// in marks, normally ValidSnapshotMarks of the WAL. A file newer than the
// one returned whose mark is not in marks was written by a Save whose
// SaveSnapshot never happened (a crash in between): it is useless to Open,
// so it is renamed aside with the suffix ".orphan", lest Release keep it
// instead of a usable one.
func (s *Snapshotter) LoadNewestAvailable(marks []SnapshotMark) (SnapshotMark, []byte, error) {
	m, d, err := s.OpenNewestAvailable(marks)
	if err != nil {
		return m, nil, err
	}
	b, err := d.readAll()
	return m, b, err
}

// OpenNewestAvailable is LoadNewestAvailable for a reader: the snapshot's
// data, checked, streams from the file, so a large snapshot is never held
// in memory next to what is built from it. The caller closes it.
func (s *Snapshotter) OpenNewestAvailable(marks []SnapshotMark) (SnapshotMark, *SnapshotData, error) {
	return s.open(true, marks, false)
}

// PeekNewestAvailable is OpenNewestAvailable for a reader that must leave
// the directory as it is (an offline backup): corrupt and orphaned files
// are skipped, not moved aside.
func (s *Snapshotter) PeekNewestAvailable(marks []SnapshotMark) (SnapshotMark, *SnapshotData, error) {
	return s.open(true, marks, true)
}

// SnapshotData is the data of a snapshot file whose header, length and
// checksum were checked, open for reading once.
type SnapshotData struct {
	io.Reader
	// Size is the length of the data.
	Size int64
	f    File
}

// Close closes the file.
func (d *SnapshotData) Close() error { return d.f.Close() }

func (d *SnapshotData) readAll() ([]byte, error) {
	defer d.Close()
	b := make([]byte, d.Size)
	if _, err := io.ReadFull(d, b); err != nil {
		return nil, fmt.Errorf("wal: reading snapshot: %w", err)
	}
	return b, nil
}

// open opens the newest valid snapshot, among only if filter is set;
// readOnly leaves bad files where they are.
func (s *Snapshotter) open(filter bool, only []SnapshotMark, readOnly bool) (SnapshotMark, *SnapshotData, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	marks, err := s.listLocked(!readOnly)
	if err != nil {
		return SnapshotMark{}, nil, err
	}
	var orphans []SnapshotMark
	for _, m := range marks {
		if filter && !slices.Contains(only, m) {
			orphans = append(orphans, m)
			continue
		}
		path := filepath.Join(s.dir, snapName(m))
		d, err := s.openChecked(path, m)
		if errors.Is(err, ErrCorrupt) && readOnly {
			s.log.Warn("wal: snapshot file is corrupt, trying an older one", "path", path, "err", err)
			continue
		}
		if errors.Is(err, ErrCorrupt) {
			s.log.Warn("wal: snapshot file is corrupt, moving it aside and trying an older one", "path", path, "err", err)
			if err := s.fs.Rename(path, path+brokenExt); err != nil {
				return SnapshotMark{}, nil, fmt.Errorf("wal: %w", err)
			}
			continue
		}
		if err != nil {
			return SnapshotMark{}, nil, err
		}
		for _, o := range orphans {
			if readOnly {
				break
			}
			op := filepath.Join(s.dir, snapName(o))
			s.log.Warn("wal: snapshot file was never recorded in the WAL, moving it aside", "path", op, "loaded", path)
			if err := s.fs.Rename(op, op+orphanExt); err != nil {
				d.Close()
				return SnapshotMark{}, nil, fmt.Errorf("wal: %w", err)
			}
		}
		return m, d, nil
	}
	return SnapshotMark{}, nil, ErrNoSnapshot
}

// openChecked opens the snapshot file at path, named after m, and checks
// it, reading it through once in chunks for the checksum.
func (s *Snapshotter) openChecked(path string, m SnapshotMark) (_ *SnapshotData, err error) {
	f, err := s.fs.OpenFile(path, os.O_RDONLY, 0)
	if err != nil {
		return nil, fmt.Errorf("wal: %w", err)
	}
	defer func() {
		if err != nil {
			f.Close()
		}
	}()
	size, err := f.Size()
	if err != nil {
		return nil, fmt.Errorf("wal: reading %s: %w", path, err)
	}
	if size < snapHeaderSize+snapCRCSize {
		return nil, corruptf(path, 0, "snapshot file of %d bytes", size)
	}
	hdr := make([]byte, snapHeaderSize)
	trailer := make([]byte, snapCRCSize)
	if _, err := f.ReadAt(hdr, 0); err != nil {
		return nil, fmt.Errorf("wal: reading %s: %w", path, err)
	}
	if _, err := f.ReadAt(trailer, size-snapCRCSize); err != nil {
		return nil, fmt.Errorf("wal: reading %s: %w", path, err)
	}
	h := crc32.New(castagnoli)
	if _, err := io.Copy(h, io.NewSectionReader(f, 0, size-snapCRCSize)); err != nil {
		return nil, fmt.Errorf("wal: reading %s: %w", path, err)
	}
	if err := checkSnapshotFile(path, m, hdr, size-snapCRCSize-snapHeaderSize, h.Sum32(), trailer); err != nil {
		return nil, err
	}
	n := size - snapCRCSize - snapHeaderSize
	return &SnapshotData{Reader: io.NewSectionReader(f, snapHeaderSize, n), Size: n, f: f}, nil
}

// decodeSnapshotFile checks a whole snapshot file b, named after m, and
// returns its data, which aliases b.
func decodeSnapshotFile(path string, m SnapshotMark, b []byte) ([]byte, error) {
	if len(b) < snapHeaderSize+snapCRCSize {
		return nil, corruptf(path, 0, "snapshot file of %d bytes", len(b))
	}
	body := len(b) - snapCRCSize
	if err := checkSnapshotFile(path, m, b[:snapHeaderSize], int64(body-snapHeaderSize), crc32.Checksum(b[:body], castagnoli), b[body:]); err != nil {
		return nil, err
	}
	return b[snapHeaderSize:body], nil
}

// checkSnapshotFile checks a snapshot file named after m from its header,
// the length of its data, the checksum of everything before its trailer,
// and its trailer.
func checkSnapshotFile(path string, m SnapshotMark, hdr []byte, dataLen int64, crc uint32, trailer []byte) error {
	if string(hdr[:8]) != snapMagic {
		return corruptf(path, 0, "not a snapshot file (magic %q)", hdr[:8])
	}
	// The checksum first: a version field is only worth reading if sound.
	if want := binary.LittleEndian.Uint32(trailer); crc != want {
		return corruptf(path, snapHeaderSize+dataLen, "snapshot checksum mismatch (%#08x, want %#08x)", crc, want)
	}
	switch v := binary.LittleEndian.Uint32(hdr[8:12]); {
	case v > snapFormat:
		return fmt.Errorf("%w: snapshot %s has format %d, this build reads up to %d", ErrUnsupportedVersion, path, v, snapFormat)
	case v == 0:
		return corruptf(path, 8, "snapshot format 0")
	}
	if got := decodeMarkPayload(hdr[12:28]); got != m {
		return corruptf(path, 12, "snapshot file holds %+v, its name says %+v", got, m)
	}
	if n := binary.LittleEndian.Uint64(hdr[28:36]); n != uint64(dataLen) {
		return corruptf(path, 28, "snapshot data length %d in a file with %d bytes of data", n, dataLen)
	}
	return nil
}

// Release removes all but the newest keep snapshot files (keep >= 1). Files
// moved aside as broken or orphaned stay, for an operator to look at.
func (s *Snapshotter) Release(keep int) error {
	if keep < 1 {
		return fmt.Errorf("wal: Release must keep at least one snapshot, not %d", keep)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	marks, err := s.listLocked(false)
	if errors.Is(err, ErrNoSnapshot) {
		return nil
	}
	if err != nil || len(marks) <= keep {
		return err
	}
	var errs []error
	for _, m := range marks[keep:] {
		path := filepath.Join(s.dir, snapName(m))
		if err := s.fs.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, fmt.Errorf("wal: %w", err))
			continue
		}
		s.log.Info("wal: released snapshot", "path", path)
	}
	return errors.Join(errs...)
}

// listLocked returns the marks of the snapshot files, newest first. With
// cleanup it removes the temporary files of interrupted Saves and Receives:
// none of a Save can be in progress (Save holds the lock), and those of the
// Receives in progress are in s.receiving.
func (s *Snapshotter) listLocked(cleanup bool) ([]SnapshotMark, error) {
	names, err := s.fs.List(s.dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, ErrNoSnapshot
	}
	if err != nil {
		return nil, fmt.Errorf("wal: %w", err)
	}
	var marks []SnapshotMark
	for _, name := range names {
		if m, ok := parseSnapName(name); ok {
			marks = append(marks, m)
			continue
		}
		path := filepath.Join(s.dir, name)
		if _, busy := s.receiving[path]; cleanup && !busy && isSnapTemp(name) {
			if err := s.fs.Remove(path); err != nil {
				s.log.Warn("wal: removing an unfinished snapshot file", "path", path, "err", err)
			}
		}
	}
	slices.SortFunc(marks, func(a, b SnapshotMark) int { return compareMarks(b, a) })
	return marks, nil
}
