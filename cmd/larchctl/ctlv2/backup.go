package ctlv2

import (
	"errors"
	"log/slog"

	"github.com/larchkv/larch/cluster"
)

// backup is etcdctl v2's offline `backup`: it copies a stopped member's
// data dir into one a new single-member cluster starts from (new member
// and cluster IDs; the v3 keyspace only with --with-v3). etcd starts such
// a copy with --force-new-cluster; Larch, which has no such flag, starts
// it as it is. Progress and the result are logged as JSON on stderr, as
// etcdctl logs them.
func (c *ctl) backup(f *flagValues) error {
	if f.String("wal-dir") != "" || f.String("backup-wal-dir") != "" {
		return c.handleError(exitError, errors.New("--wal-dir and --backup-wal-dir are not supported: a Larch member keeps its WAL in its data dir"))
	}
	dataDir, backupDir := f.String("data-dir"), f.String("backup-dir")
	if dataDir == "" || backupDir == "" {
		return c.handleError(exitError, errors.New("--data-dir and --backup-dir are required"))
	}
	logger := slog.New(slog.NewJSONHandler(c.env.Stderr, nil))
	err := cluster.BackupDataDir(cluster.BackupConfig{DataDir: dataDir, BackupDir: backupDir, WithV3: f.Bool("with-v3"), Logger: logger})
	if err != nil {
		return c.handleError(exitError, err)
	}
	return nil
}
