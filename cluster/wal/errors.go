package wal

import (
	"errors"
	"fmt"
)

var (
	// ErrCorrupt is the class of every error that says the files on disk
	// are not what this package wrote: a bad checksum or length followed by
	// more data, a bad record in a segment that is not the last, a missing
	// segment, a bad segment header or snapshot file. Test with
	// errors.Is(err, ErrCorrupt); the concrete error is a *CorruptionError.
	ErrCorrupt = errors.New("wal: corrupt")

	// ErrExist is returned by Create when the directory already holds a WAL.
	ErrExist = errors.New("wal: a WAL already exists in the directory")

	// ErrNotExist is returned by Open when the directory holds no WAL.
	ErrNotExist = errors.New("wal: no WAL in the directory")

	// ErrSnapshotNotFound is returned by Open when the replay cannot start
	// at the given snapshot mark: the WAL never recorded that mark, or the
	// segments holding the entries that follow it were released.
	ErrSnapshotNotFound = errors.New("wal: snapshot mark not found in the log")

	// ErrUnsupportedVersion is returned when a file carries a format
	// version or record type that this build does not know: it was written
	// by a newer Larch. It is not corruption.
	ErrUnsupportedVersion = errors.New("wal: unsupported format version")

	// ErrReplay is returned on misuse of the replay protocol: ReadAll called
	// twice or on a WAL made by Create, or Save/SaveSnapshot called on an
	// opened WAL before ReadAll.
	ErrReplay = errors.New("wal: ReadAll must be called exactly once, right after Open, before appending")

	// ErrOutOfOrder is returned by Save when the entries are not contiguous,
	// leave a gap after the log's last index, start at index 0, or overwrite
	// an entry covered by a recorded snapshot; and by SaveSnapshot when the
	// mark is older than the last recorded one.
	ErrOutOfOrder = errors.New("wal: out of order")

	// ErrClosed is returned by every method of a closed WAL.
	ErrClosed = errors.New("wal: closed")

	// ErrNoSnapshot is returned by Snapshotter.Load when the directory holds
	// no valid snapshot file.
	ErrNoSnapshot = errors.New("wal: no snapshot")
)

// CorruptionError names the file and byte offset where the data on disk
// stopped making sense. errors.Is(err, ErrCorrupt) holds for it.
type CorruptionError struct {
	Path   string
	Offset int64
	Reason string
}

func (e *CorruptionError) Error() string {
	return fmt.Sprintf("wal: corrupt record in %s at offset %d: %s", e.Path, e.Offset, e.Reason)
}

// Is makes errors.Is(err, ErrCorrupt) true.
func (e *CorruptionError) Is(target error) bool { return target == ErrCorrupt }

func corruptf(path string, off int64, format string, args ...any) error {
	return &CorruptionError{Path: path, Offset: off, Reason: fmt.Sprintf(format, args...)}
}
