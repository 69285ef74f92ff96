package wal

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// The peer transport moves snapshot files between members as they are on
// disk: the sender streams its file, the receiver writes the stream to a
// file of its own and checks it while it writes, so neither side holds a
// whole snapshot in memory.

// ErrSnapshotMismatch is returned by Receive for a stream that is not the
// snapshot file it claims to be (another mark, a bad checksum, a wrong
// length). Nothing is left on disk.
var ErrSnapshotMismatch = errors.New("wal: received snapshot does not match")

// OpenFile opens the snapshot file at mark for streaming to a peer and
// returns it with its size. The caller closes it.
func (s *Snapshotter) OpenFile(mark SnapshotMark) (io.ReadCloser, int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f, err := s.fs.OpenFile(filepath.Join(s.dir, snapName(mark)), os.O_RDONLY, 0)
	if err != nil {
		return nil, 0, fmt.Errorf("wal: %w", err)
	}
	size, err := f.Size()
	if err != nil {
		f.Close()
		return nil, 0, fmt.Errorf("wal: %w", err)
	}
	return struct {
		io.Reader
		io.Closer
	}{io.NewSectionReader(f, 0, size), f}, size, nil
}

// Receive writes a snapshot file streamed by a peer's OpenFile as the
// snapshot at mark. It checks the header, the length and the checksum as
// the bytes arrive and makes the file durable under its final name only if
// all of them hold, so a torn or altered stream leaves nothing behind. Like
// Save, the mark must be recorded in the WAL afterwards.
//
// The stream goes into a temporary file of its own, with the Snapshotter
// unlocked: a sender that stalls holds up neither the member's Save, LoadAt
// and OpenFile nor another Receive, even of the same mark. Only the rename
// to the final name takes the lock.
func (s *Snapshotter) Receive(mark SnapshotMark, r io.Reader) (err error) {
	path := filepath.Join(s.dir, snapName(mark))
	tmp, err := s.createTemp(mark)
	if err != nil {
		return fmt.Errorf("wal: receiving snapshot %s: %w", path, err)
	}
	f := tmp.f
	defer func() {
		s.dropTemp(&tmp)
		if err != nil {
			err = fmt.Errorf("wal: receiving snapshot %s: %w", path, err)
		}
	}()
	br := bufio.NewReaderSize(r, 64<<10)
	hdr := make([]byte, snapHeaderSize)
	if _, err := io.ReadFull(br, hdr); err != nil {
		return fmt.Errorf("%w: header: %v", ErrSnapshotMismatch, err)
	}
	if string(hdr[:8]) != snapMagic {
		return fmt.Errorf("%w: not a snapshot file", ErrSnapshotMismatch)
	}
	if v := binary.LittleEndian.Uint32(hdr[8:12]); v == 0 || v > snapFormat {
		return fmt.Errorf("%w: snapshot format %d", ErrUnsupportedVersion, v)
	}
	if got := decodeMarkPayload(hdr[12:28]); got != mark {
		return fmt.Errorf("%w: the stream holds %+v, not %+v", ErrSnapshotMismatch, got, mark)
	}
	length := binary.LittleEndian.Uint64(hdr[28:36])
	if _, err := f.WriteAt(hdr, 0); err != nil {
		return err
	}
	crc := crc32.Checksum(hdr, castagnoli)
	buf := make([]byte, 256<<10)
	off := int64(snapHeaderSize)
	for left := length; left > 0; {
		n, rerr := br.Read(buf[:min(uint64(len(buf)), left)])
		if n > 0 {
			crc = crc32.Update(crc, castagnoli, buf[:n])
			if _, err := f.WriteAt(buf[:n], off); err != nil {
				return err
			}
			off += int64(n)
			left -= uint64(n)
		}
		if rerr == io.EOF && left > 0 {
			return fmt.Errorf("%w: stream ended %d bytes short", ErrSnapshotMismatch, left)
		}
		if rerr != nil && rerr != io.EOF {
			return rerr
		}
	}
	trailer := make([]byte, snapCRCSize)
	if _, err := io.ReadFull(br, trailer); err != nil {
		return fmt.Errorf("%w: checksum: %v", ErrSnapshotMismatch, err)
	}
	if want := binary.LittleEndian.Uint32(trailer); crc != want {
		return fmt.Errorf("%w: checksum %#08x, want %#08x", ErrSnapshotMismatch, crc, want)
	}
	if n, _ := br.Read(make([]byte, 1)); n > 0 {
		return fmt.Errorf("%w: bytes after the checksum", ErrSnapshotMismatch)
	}
	if _, err := f.WriteAt(trailer, off); err != nil {
		return err
	}
	return s.finishTemp(&tmp, path)
}

// receiveInfix sits between the snapshot file name and a random suffix in
// the name of the temporary file of a Receive or a SaveFrom:
// "<name>.snap.recv-%016x.tmp", unique, so that two never collide.
const receiveInfix = ".recv-"

// receiveTemp is the temporary file of a Receive or a SaveFrom in progress.
type receiveTemp struct {
	path            string
	f               File
	closed, renamed bool
}

// finishTemp makes a complete temporary file durable under its final name
// path: it syncs and closes it, then, under the lock, renames it and syncs
// the directory.
func (s *Snapshotter) finishTemp(t *receiveTemp, path string) error {
	if err := t.f.Sync(); err != nil {
		return err
	}
	t.closed = true
	if err := t.f.Close(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.fs.Rename(t.path, path); err != nil {
		return err
	}
	t.renamed = true
	return s.fs.SyncDir(s.dir)
}

// dropTemp closes and removes a temporary file that finishTemp did not
// make final, and forgets it.
func (s *Snapshotter) dropTemp(t *receiveTemp) {
	if !t.closed {
		t.f.Close()
	}
	if !t.renamed {
		_ = s.fs.Remove(t.path)
	}
	s.mu.Lock()
	delete(s.receiving, t.path)
	s.mu.Unlock()
}

// createTemp creates a uniquely named temporary file for a Receive or a
// SaveFrom at mark and records it in s.receiving, so that Load does not
// take it for the leftover of a crash.
func (s *Snapshotter) createTemp(mark SnapshotMark) (receiveTemp, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.fs.MkdirAll(s.dir, 0o700); err != nil {
		return receiveTemp{}, err
	}
	for {
		path := filepath.Join(s.dir, fmt.Sprintf("%s%s%016x%s", snapName(mark), receiveInfix, rand.Uint64(), tmpExt))
		f, err := s.fs.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		if err != nil {
			return receiveTemp{}, err
		}
		if s.receiving == nil {
			s.receiving = map[string]struct{}{}
		}
		s.receiving[path] = struct{}{}
		return receiveTemp{path: path, f: f}, nil
	}
}

// isSnapTemp reports whether name is the temporary file of a Receive or a
// SaveFrom ("<name>.snap.recv-%016x.tmp") or of a Save of an earlier build
// ("<name>.snap.tmp").
func isSnapTemp(name string) bool {
	base, ok := strings.CutSuffix(name, tmpExt)
	if !ok {
		return false
	}
	if _, ok := parseSnapName(base); ok {
		return true
	}
	i := strings.LastIndex(base, receiveInfix)
	if i < 0 || len(base)-i-len(receiveInfix) != 16 {
		return false
	}
	_, err := strconv.ParseUint(base[i+len(receiveInfix):], 16, 64)
	_, ok = parseSnapName(base[:i])
	return ok && err == nil
}

// LoadAt returns the data of the snapshot at mark, checked.
func (s *Snapshotter) LoadAt(mark SnapshotMark) ([]byte, error) {
	d, err := s.OpenAt(mark)
	if err != nil {
		return nil, err
	}
	return d.readAll()
}

// OpenAt is LoadAt for a reader (see OpenNewestAvailable). The caller
// closes it.
func (s *Snapshotter) OpenAt(mark SnapshotMark) (*SnapshotData, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.openChecked(filepath.Join(s.dir, snapName(mark)), mark)
}
