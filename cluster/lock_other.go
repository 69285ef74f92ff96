//go:build !unix

package cluster

import (
	"os"
	"path/filepath"
)

// lockDataDir only opens the lock file where flock is not available.
func lockDataDir(memberDir string) (*os.File, error) {
	return os.OpenFile(filepath.Join(memberDir, "lock"), os.O_RDWR|os.O_CREATE, 0o600)
}
