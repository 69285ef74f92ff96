package wal

import (
	"errors"
	"io"
	"io/fs"
	"os"
)

// FS is the narrow slice of a file system that the WAL and the Snapshotter
// use. Every durability step goes through it, so tests can inject torn
// writes, failed syncs and crashes (see faultfs_test.go), the way pebble's
// vfs does. Names are full paths.
type FS interface {
	// OpenFile opens a file; flag and perm mean what they mean to os.OpenFile.
	OpenFile(name string, flag int, perm fs.FileMode) (File, error)
	// Rename atomically replaces newname with oldname (rename(2)).
	Rename(oldname, newname string) error
	// Remove deletes a file.
	Remove(name string) error
	// List returns the names (not paths) of the entries of dir, in any order.
	List(dir string) ([]string, error)
	// MkdirAll creates dir and its parents.
	MkdirAll(dir string, perm fs.FileMode) error
	// SyncDir makes the entries of dir (creations, renames, removals) durable.
	SyncDir(dir string) error
}

// File is an open file of an FS.
type File interface {
	io.ReaderAt
	io.WriterAt
	io.Closer
	// Sync makes the file's data durable, together with the metadata needed
	// to read it back (size, allocation): fdatasync(2) semantics.
	Sync() error
	// Truncate changes the file's size.
	Truncate(size int64) error
	// Preallocate makes the file at least size bytes long; the added bytes
	// read as zeros. It does not make the change durable (Sync does).
	Preallocate(size int64) error
	// Size returns the file's current size.
	Size() (int64, error)
}

// OSFS is the FS of the operating system; the default of Options.FS.
var OSFS FS = osFS{}

type osFS struct{}

var _ FS = osFS{}

func (osFS) OpenFile(name string, flag int, perm fs.FileMode) (File, error) {
	f, err := os.OpenFile(name, flag, perm)
	if err != nil {
		return nil, err
	}
	return osFile{f}, nil
}

func (osFS) Rename(oldname, newname string) error { return os.Rename(oldname, newname) }

func (osFS) Remove(name string) error { return os.Remove(name) }

func (osFS) MkdirAll(dir string, perm fs.FileMode) error { return os.MkdirAll(dir, perm) }

func (osFS) List(dir string) ([]string, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	names := make([]string, len(ents))
	for i, e := range ents {
		names[i] = e.Name()
	}
	return names, nil
}

func (osFS) SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	// fsync on a directory makes its entries durable (Linux, the BSDs).
	// Some platforms refuse it; they have nothing better to offer.
	err = d.Sync()
	if errors.Is(err, errors.ErrUnsupported) {
		err = nil
	}
	return errors.Join(err, d.Close())
}

type osFile struct{ *os.File }

var _ File = osFile{}

func (f osFile) Sync() error { return fdatasync(f.File) }

func (f osFile) Preallocate(size int64) error {
	cur, err := f.Size()
	if err != nil || cur >= size {
		return err
	}
	return preallocate(f.File, cur, size)
}

func (f osFile) Size() (int64, error) {
	fi, err := f.Stat()
	if err != nil {
		return 0, err
	}
	return fi.Size(), nil
}
