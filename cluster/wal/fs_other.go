//go:build !linux

package wal

import "os"

// fdatasync falls back to fsync (F_FULLFSYNC on darwin) where the platform
// has no fdatasync in package syscall.
func fdatasync(f *os.File) error { return f.Sync() }

// preallocate extends the file sparsely: the new bytes read as zeros, which
// is all the log relies on.
func preallocate(f *os.File, _, size int64) error { return f.Truncate(size) }
