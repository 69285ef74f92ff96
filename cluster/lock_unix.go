//go:build unix

package cluster

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// lockDataDir takes an exclusive lock on the member directory so that two
// processes never append to the same WAL. The lock lives as long as the
// returned file stays open; the kernel drops it if the process dies.
func lockDataDir(memberDir string) (*os.File, error) {
	path := filepath.Join(memberDir, "lock")
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("cluster: open lock file: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("cluster: data dir %s is in use by another process", filepath.Dir(memberDir))
		}
		return nil, fmt.Errorf("cluster: lock %s: %w", path, err)
	}
	return f, nil
}
