package cluster

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"

	"go.etcd.io/raft/v3/raftpb"

	"github.com/larchkv/larch/cluster/wal"
	"github.com/larchkv/larch/tree/mvcc"
)

// A backup is what Maintenance.Snapshot streams and `snapshot save`
// writes: the snapshot payload, then the SHA-256 of the payload. The
// functions here read one offline: `snapshot status` and `snapshot
// restore`, which builds the data dir of a member of a new cluster.

// backupHashSize is the length of a backup's checksum trailer.
const backupHashSize = sha256.Size

var (
	// ErrBackupHash is matched (errors.Is) by the error for a backup whose
	// checksum does not match its contents: altered, or cut short at a
	// size that still looks like one with a checksum. The message is
	// etcd's.
	ErrBackupHash = errors.New("cluster: backup checksum mismatch")
	// ErrBackupNoHash is returned, unless the check is skipped, for a file
	// whose size says it has no checksum (etcd's rule: a backup with one is
	// 32 bytes past a multiple of 512), which a truncated backup usually is.
	ErrBackupNoHash = errors.New("snapshot missing hash but --skip-hash-check=false")
	// ErrDataDirNotEmpty is matched by the error for a data dir to be made
	// that already holds something. The message is etcd's.
	ErrDataDirNotEmpty = errors.New("cluster: data dir not empty")
)

type backupHashError struct{ want, got []byte }

func (e *backupHashError) Error() string {
	return fmt.Sprintf("expected sha256 %v, got %v", e.want, e.got)
}
func (e *backupHashError) Is(target error) bool { return target == ErrBackupHash }

type dataDirError struct{ dir string }

func (e *dataDirError) Error() string {
	return fmt.Sprintf("data-dir %q not empty or could not be read", e.dir)
}
func (e *dataDirError) Is(target error) bool { return target == ErrDataDirNotEmpty }

// BackupStatus describes a backup file (`snapshot status`).
type BackupStatus struct {
	// Hash is the CRC-32C of the payload (etcd's status hashes its
	// database with the same polynomial).
	Hash      uint32 `json:"hash"`
	Revision  int64  `json:"revision"`
	TotalKey  int    `json:"totalKey"`
	TotalSize int64  `json:"totalSize"`
}

// hasBackupHash tells from a backup's size whether it ends with its
// checksum, as etcd's client and etcdutl do.
func hasBackupHash(size int64) bool { return size%backupAlign == backupHashSize }

// readBackup checks and decodes the backup at path, reading it twice: once
// for the checksums, once to decode. With skipHash the trailer, if the
// size says there is one, is dropped unchecked.
func readBackup(path string, skipHash bool) (restoredState, BackupStatus, error) {
	var st restoredState
	f, err := os.Open(path)
	if err != nil {
		return st, BackupStatus{}, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return st, BackupStatus{}, err
	}
	size := fi.Size()
	hashed := hasBackupHash(size)
	if !hashed && !skipHash {
		return st, BackupStatus{}, ErrBackupNoHash
	}
	payloadLen := size
	if hashed {
		payloadLen -= backupHashSize
	}
	h, c := sha256.New(), crc32.New(crc32.MakeTable(crc32.Castagnoli))
	if _, err := io.Copy(io.MultiWriter(h, c), io.NewSectionReader(f, 0, payloadLen)); err != nil {
		return st, BackupStatus{}, err
	}
	if hashed && !skipHash {
		want := make([]byte, backupHashSize)
		if _, err := f.ReadAt(want, payloadLen); err != nil {
			return st, BackupStatus{}, err
		}
		if got := h.Sum(nil); !bytes.Equal(got, want) {
			return st, BackupStatus{}, &backupHashError{want: want, got: got}
		}
	}
	st, err = decodeSnapshot(io.NewSectionReader(f, 0, payloadLen))
	if err != nil {
		return st, BackupStatus{}, fmt.Errorf("%s: %w", path, err)
	}
	status := BackupStatus{Hash: c.Sum32(), Revision: st.kv.Rev(), TotalKey: st.kv.Snapshot().KeyCount(), TotalSize: size}
	return st, status, nil
}

// ReadBackupStatus checks the backup at path, checksum included, and
// describes it.
func ReadBackupStatus(path string) (BackupStatus, error) {
	_, status, err := readBackup(path, false)
	return status, err
}

// RestoreConfig describes the member `snapshot restore` makes.
type RestoreConfig struct {
	// BackupPath is the file `snapshot save` wrote.
	BackupPath string
	// Name, DataDir, InitialCluster, InitialClusterToken and PeerURLs are
	// the new member's, as its server flags will give them.
	Name                string
	DataDir             string
	InitialCluster      []InitialMember
	InitialClusterToken string
	PeerURLs            []string
	// SkipHashCheck reads a file without a valid checksum trailer.
	SkipHashCheck bool
	// BumpRevision moves the keyspace's revision this far ahead; with
	// MarkCompacted the history up to the new revision is compacted, so
	// watchers and caches of the old cluster start over rather than see
	// revisions go back (etcd's disaster-recovery step).
	BumpRevision  int64
	MarkCompacted bool
	// Logger receives progress; none by default.
	Logger *slog.Logger
}

// RestoreBackup builds the data dir of one member of a new cluster from a
// backup: the keyspace with its revisions and history, the v2 tree,
// leases and auth as they were; the membership and cluster ID are the new
// cluster's, and alarms are not carried over (they named the old members).
// Every member of the new cluster is restored from the same backup.
func RestoreBackup(cfg RestoreConfig) error {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if err := checkEmptyDir(cfg.DataDir); err != nil {
		return err
	}
	if err := checkInitialCluster(&Config{Name: cfg.Name, InitialCluster: cfg.InitialCluster, PeerURLs: cfg.PeerURLs}); err != nil {
		return err
	}
	st, _, err := readBackup(cfg.BackupPath, cfg.SkipHashCheck)
	if err != nil {
		return err
	}
	var (
		self   MemberID
		ids    []MemberID
		voters []uint64
	)
	st.members = st.members[:0]
	for _, im := range cfg.InitialCluster {
		m := Member{ID: ComputeMemberID(im.PeerURLs, cfg.InitialClusterToken), Name: im.Name, PeerURLs: slices.Clone(im.PeerURLs)}
		if im.Name == cfg.Name {
			self = m.ID
		}
		st.members = append(st.members, m)
		ids = append(ids, m.ID)
		voters = append(voters, uint64(m.ID))
	}
	clusterID := ComputeClusterID(ids)
	st.confState = raftpb.ConfState{Voters: voters}
	st.removed, st.alarms = nil, nil
	if cfg.BumpRevision > 0 {
		st.kv.BumpRevision(cfg.BumpRevision)
	}
	if cfg.MarkCompacted {
		if err := st.kv.Compact(st.kv.Rev()); err != nil && !errors.Is(err, mvcc.ErrCompacted) {
			return err
		}
	}

	view, err := st.view()
	if err != nil {
		return err
	}
	payload, err := newSnapshotPayload(view)
	if err != nil {
		return err
	}
	// etcd's restore leaves the snapshot at the index of the last
	// membership entry of a bootstrap, in term 1.
	mark := wal.SnapshotMark{Index: uint64(len(voters)), Term: 1}
	hs := wal.HardState{Term: mark.Term, Commit: mark.Index}
	if err := writeMemberDataDir(cfg.DataDir, walMetadata{MemberID: self, ClusterID: clusterID}, mark, payload, hs, nil, cfg.Logger); err != nil {
		return err
	}
	cfg.Logger.Info("restored snapshot", "path", cfg.BackupPath, "data-dir", cfg.DataDir, "member-id", self.String(),
		"cluster-id", clusterID.String(), "revision", st.kv.Rev())
	return nil
}

// writeMemberDataDir makes a member's data dir at dir from a snapshot and
// the log after it, atomically: it is built in a temporary dir beside dir,
// synced, and renamed into place only when complete, so an interrupted
// restore or backup leaves no data dir a server would take for its own
// (or, finding a WAL without entries, bootstrap anew over).
func writeMemberDataDir(dir string, meta walMetadata, mark wal.SnapshotMark, payload *snapshotPayload, hs wal.HardState, ents []wal.Entry, logger *slog.Logger) (err error) {
	if err := checkEmptyDir(dir); err != nil {
		return err
	}
	dir = filepath.Clean(dir)
	parent := filepath.Dir(dir)
	if err := os.MkdirAll(parent, 0o700); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp(parent, filepath.Base(dir)+".tmp-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp) // gone already once renamed
	dirs := memberDirs(tmp)
	if err := os.MkdirAll(dirs.snap, 0o700); err != nil {
		return err
	}
	if err := wal.NewSnapshotter(dirs.snap, logger).SaveFrom(mark, payload.Len(), payload); err != nil {
		return err
	}
	metaBytes, err := json.Marshal(meta)
	if err != nil {
		return err
	}
	w, err := wal.Create(dirs.wal, metaBytes, wal.Options{Logger: logger})
	if err != nil {
		return err
	}
	err = w.SaveSnapshot(mark)
	if err == nil {
		err = w.Save(hs, ents)
	}
	if cerr := w.Close(); err == nil {
		err = cerr
	}
	for _, d := range []string{dirs.member, tmp} {
		if err == nil {
			err = wal.OSFS.SyncDir(d)
		}
	}
	if err != nil {
		return err
	}
	// An empty data dir given by the operator makes way for the new one.
	if err := os.Remove(dir); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	if err := os.Rename(tmp, dir); err != nil {
		return err
	}
	return wal.OSFS.SyncDir(parent)
}

// checkEmptyDir refuses a data dir to be made that already holds something.
func checkEmptyDir(dir string) error {
	if entries, err := os.ReadDir(dir); err == nil && len(entries) > 0 || err != nil && !errors.Is(err, os.ErrNotExist) {
		return &dataDirError{dir: dir}
	}
	return nil
}

// view is the restored state as a snapshot captures it.
func (st *restoredState) view() (stateView, error) {
	v := stateView{kv: st.kv.Snapshot(), members: st.members, removed: st.removed, clusterVersion: st.clusterVersion, confState: st.confState}
	var err error
	if st.v2 != nil {
		var b bytes.Buffer
		if _, err = st.v2.WriteTo(&b); err != nil {
			return v, err
		}
		v.v2 = b.Bytes()
	}
	if st.leases != nil {
		var b bytes.Buffer
		if _, err = st.leases.WriteTo(&b); err != nil {
			return v, err
		}
		v.leases = b.Bytes()
	}
	if st.auth != nil {
		if v.auth, err = st.auth.Encode(); err != nil {
			return v, err
		}
	}
	if v.alarms, err = json.Marshal(st.alarms); err != nil {
		return v, err
	}
	return v, nil
}
