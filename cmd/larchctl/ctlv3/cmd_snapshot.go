package ctlv3

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/larchkv/larch/cluster"
)

// The snapshot commands are etcdctl 3.5's: `save` as in 3.6, and `status`
// and `restore`, which etcd 3.6 moved to etcdutl. Status and restore read
// Larch's snapshot format offline, through the cluster package, which is
// why larchctl imports it.

const snapshotExample = `  # Save snapshot to a given file
  larchctl snapshot save /backup/etcd-snapshot.db

  # Get snapshot from given address and save it to file
  larchctl snapshot save --endpoints=127.0.0.1:3000 /backup/etcd-snapshot.db

  # Restore a snapshot into the data dir of one member of a new cluster
  larchctl snapshot restore /backup/etcd-snapshot.db --name m1 --data-dir /var/lib/m1.larch \
    --initial-cluster m1=http://10.0.0.1:2380,m2=http://10.0.0.2:2380,m3=http://10.0.0.3:2380 \
    --initial-cluster-token new-cluster --initial-advertise-peer-urls http://10.0.0.1:2380`

func (c *ctl) newSnapshotCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:     "snapshot <subcommand>",
		Short:   "Manages etcd node snapshots",
		Example: snapshotExample,
	}
	save := &cobra.Command{
		Use:     "save <filename>",
		Short:   "Stores an etcd node backend snapshot to a given file",
		Example: snapshotExample,
	}
	save.Run = c.run(c.snapshotSave)
	status := &cobra.Command{
		Use:   "status <filename>",
		Short: "Gets backend snapshot status of a given file",
		Long: `When --write-out is set to simple, this command prints out comma-separated status lists for each endpoint.
The items in the lists are hash, revision, total keys, total size.
`,
	}
	status.Run = c.run(c.snapshotStatus)
	cmd.AddCommand(save, status, c.newSnapshotRestoreCommand())
	return cmd
}

func (c *ctl) snapshotSave(cmd *cobra.Command, args []string) error {
	if len(args) != 1 {
		return failf(exitBadArgs, "snapshot save expects one argument <filename>")
	}
	lg := c.logger(zapcore.InfoLevel)
	spec, err := c.clientSpec(cmd)
	if err != nil {
		return err
	}
	if len(spec.Endpoints) != 1 {
		return failf(exitInterrupted, "snapshot must be requested to one selected node, not multiple %v", spec.Endpoints)
	}
	// Without an explicit --command-timeout a snapshot takes as long as it takes.
	ctx, cancel := context.WithCancel(context.Background())
	if f := cmd.Flags().Lookup("command-timeout"); f != nil && f.Changed {
		ctx, cancel = c.commandCtx()
	}
	defer cancel()
	version, err := c.saveBackup(ctx, lg, spec.Endpoints[0], args[0], func() (io.ReadCloser, string, error) {
		cli, err := c.newClient(spec, "client")
		if err != nil {
			return nil, "", err
		}
		resp, err := cli.SnapshotWithVersion(ctx)
		if err != nil {
			return nil, "", err
		}
		return resp.Snapshot, resp.Version, nil
	})
	if err != nil {
		var ce *commandError
		if errors.As(err, &ce) {
			return err
		}
		return fail(exitInterrupted, err)
	}
	fmt.Fprintf(c.stdout, "Snapshot saved at %s\n", args[0])
	if version != "" {
		fmt.Fprintf(c.stdout, "Server version %s\n", version)
	}
	return nil
}

// saveBackup writes the stream open returns to path+".part", checks its
// SHA-256 trailer as it arrives, and renames it to path only when the
// trailer matches and the file is synced: a backup at path is whole.
func (c *ctl) saveBackup(ctx context.Context, lg *zap.Logger, endpoint, path string, open func() (io.ReadCloser, string, error)) (string, error) {
	part := path + ".part"
	defer os.RemoveAll(part)
	f, err := os.OpenFile(part, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return "", fmt.Errorf("could not open %s (%w)", part, err)
	}
	defer f.Close()
	lg.Info("created temporary db file", zap.String("path", part))

	start := time.Now()
	rc, version, err := open()
	if err != nil {
		return "", err
	}
	defer rc.Close()
	lg.Info("fetching snapshot", zap.String("endpoint", endpoint))
	check := &trailerCheck{h: sha256.New()}
	progress := c.progress("fetched")
	size, err := io.Copy(io.MultiWriter(f, check, progress), rc)
	progress.done()
	if err != nil {
		return version, fmt.Errorf("could not write snapshot: %w", err)
	}
	// etcd's client finds the checksum by the size, 32 bytes past a
	// multiple of 512.
	if size%512 != sha256.Size {
		return version, fmt.Errorf("sha256 checksum not found [bytes: %d]", size)
	}
	if !check.matches() {
		return version, errors.New("sha256 checksum mismatch: the snapshot was damaged in transit")
	}
	if err := f.Sync(); err != nil {
		return version, fmt.Errorf("could not fsync snapshot: %w", err)
	}
	if err := f.Close(); err != nil {
		return version, fmt.Errorf("could not close file descriptor: %w", err)
	}
	lg.Info("fetched snapshot", zap.String("endpoint", endpoint), zap.String("size", humanBytes(uint64(size))),
		zap.Duration("took", time.Since(start)), zap.String("etcd-version", version))
	if err := os.Rename(part, path); err != nil {
		return version, fmt.Errorf("could not rename %s to %s (%w)", part, path, err)
	}
	lg.Info("saved", zap.String("path", path))
	return version, nil
}

// trailerCheck hashes everything written to it but the last 32 bytes, and
// tells whether those are the SHA-256 of the rest.
type trailerCheck struct {
	h    hash.Hash
	tail []byte
}

func (t *trailerCheck) Write(p []byte) (int, error) {
	t.tail = append(t.tail, p...)
	if extra := len(t.tail) - sha256.Size; extra > 0 {
		t.h.Write(t.tail[:extra])
		t.tail = append(t.tail[:0], t.tail[extra:]...)
	}
	return len(p), nil
}

func (t *trailerCheck) matches() bool {
	return len(t.tail) == sha256.Size && bytes.Equal(t.h.Sum(nil), t.tail)
}

// progressWriter counts bytes and, on a terminal, shows the count on one
// line that it rewrites at most a few times a second.
type progressWriter struct {
	out   io.Writer // nil when stderr is not a terminal
	verb  string
	n     int64
	shown time.Time
}

func (c *ctl) progress(verb string) *progressWriter {
	p := &progressWriter{verb: verb}
	if f, ok := c.stderr.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			p.out = f
		}
	}
	return p
}

func (p *progressWriter) Write(b []byte) (int, error) {
	p.n += int64(len(b))
	if p.out != nil && time.Since(p.shown) > 200*time.Millisecond {
		p.shown = time.Now()
		fmt.Fprintf(p.out, "\r%s %s ", p.verb, humanBytes(uint64(p.n)))
	}
	return len(b), nil
}

func (p *progressWriter) done() {
	if p.out != nil && !p.shown.IsZero() {
		fmt.Fprintf(p.out, "\r%s %s\n", p.verb, humanBytes(uint64(p.n)))
	}
}

func (c *ctl) snapshotStatus(cmd *cobra.Command, args []string) error {
	if len(args) != 1 {
		return failf(exitBadArgs, "snapshot status requires exactly one argument")
	}
	format := c.global.outputFormat
	switch format {
	case "simple", "json", "table", "fields", "protobuf":
	default:
		return fail(exitBadFeature, errors.New("unsupported output format"))
	}
	st, err := cluster.ReadBackupStatus(args[0])
	if err != nil {
		return fail(exitError, err)
	}
	if format == "protobuf" {
		// etcdutl reads the file, then finds its printer has no protobuf form.
		return fail(exitBadFeature, errors.New("protobuf not supported as output format"))
	}
	row := []string{fmt.Sprintf("%x", st.Hash), fmt.Sprint(st.Revision), fmt.Sprint(st.TotalKey), humanBytes(uint64(st.TotalSize))}
	switch format {
	case "simple":
		fmt.Fprintln(c.stdout, strings.Join(row, ", "))
	case "table":
		writeTable(c.stdout, []string{"hash", "revision", "total keys", "total size"}, [][]string{row})
	case "fields":
		fmt.Fprintln(c.stdout, `"Hash" :`, st.Hash)
		fmt.Fprintln(c.stdout, `"Revision" :`, st.Revision)
		fmt.Fprintln(c.stdout, `"Keys" :`, st.TotalKey)
		fmt.Fprintln(c.stdout, `"Size" :`, st.TotalSize)
	case "json":
		b, err := json.Marshal(st)
		if err != nil {
			return fail(exitError, err)
		}
		fmt.Fprintln(c.stdout, string(b))
	}
	return nil
}

func (c *ctl) newSnapshotRestoreCommand() *cobra.Command {
	var (
		dataDir, walDir, initialCluster, token, peerURLs, name string
		skipHashCheck, markCompacted                           bool
		bumpRevision, initialMmapSize                          uint64
	)
	cmd := &cobra.Command{
		Use:   "restore <filename> [options]",
		Short: "Restores an etcd member snapshot to an etcd directory",
	}
	fs := cmd.Flags()
	fs.StringVar(&dataDir, "data-dir", "", "Path to the data directory")
	fs.StringVar(&walDir, "wal-dir", "", "Path to the WAL directory (use --data-dir if none given)")
	fs.StringVar(&initialCluster, "initial-cluster", "default=http://localhost:2380", "Initial cluster configuration for restore bootstrap")
	fs.StringVar(&token, "initial-cluster-token", "etcd-cluster", "Initial cluster token for the etcd cluster during restore bootstrap")
	fs.StringVar(&peerURLs, "initial-advertise-peer-urls", "http://localhost:2380", "List of this member's peer URLs to advertise to the rest of the cluster")
	fs.StringVar(&name, "name", "default", "Human-readable name for this member")
	fs.BoolVar(&skipHashCheck, "skip-hash-check", false, "Ignore snapshot integrity hash value (required if copied from data directory)")
	fs.Uint64Var(&bumpRevision, "bump-revision", 0, "How much to increase the latest revision after restore")
	fs.BoolVar(&markCompacted, "mark-compacted", false, "Mark the latest revision after restore as the point of scheduled compaction (required if --bump-revision > 0, disallowed otherwise)")
	// Accepted for etcdctl's scripts; Larch's state is not a memory-mapped file.
	fs.Uint64Var(&initialMmapSize, "initial-memory-map-size", 0, "Initial memory map size of the database in bytes. It uses the default value if not defined or defined to 0")
	cmd.Run = c.run(func(cmd *cobra.Command, args []string) error {
		if len(args) != 1 {
			return failf(exitBadArgs, "snapshot restore requires exactly one argument")
		}
		if (bumpRevision == 0 && markCompacted) || (bumpRevision > 0 && !markCompacted) {
			return failf(exitBadArgs, "--mark-compacted required if --revision-bump > 0")
		}
		if walDir != "" {
			return failf(exitError, "--wal-dir is not supported: a Larch member keeps its WAL in its data dir")
		}
		members, err := parseInitialCluster(initialCluster)
		if err != nil {
			return fail(exitError, err)
		}
		if dataDir == "" {
			dataDir = name + ".larch"
		}
		err = cluster.RestoreBackup(cluster.RestoreConfig{
			BackupPath: args[0], Name: name, DataDir: dataDir, InitialCluster: members,
			InitialClusterToken: token, PeerURLs: strings.Split(peerURLs, ","), SkipHashCheck: skipHashCheck,
			BumpRevision: int64(bumpRevision), MarkCompacted: markCompacted,
		})
		if err != nil {
			return fail(exitError, err)
		}
		lg := c.logger(zapcore.InfoLevel)
		lg.Info("restored snapshot", zap.String("path", args[0]), zap.String("data-dir", dataDir), zap.String("name", name))
		return nil
	})
	return cmd
}

// parseInitialCluster reads name=url,name=url as the server's
// --initial-cluster does; a name given twice has several peer URLs.
func parseInitialCluster(s string) ([]cluster.InitialMember, error) {
	var out []cluster.InitialMember
	index := map[string]int{}
	for _, pair := range strings.Split(s, ",") {
		name, u, ok := strings.Cut(pair, "=")
		if !ok || name == "" || u == "" {
			return nil, fmt.Errorf("invalid --initial-cluster entry %q: want name=peer-url", pair)
		}
		if i, seen := index[name]; seen {
			out[i].PeerURLs = append(out[i].PeerURLs, u)
			continue
		}
		index[name] = len(out)
		out = append(out, cluster.InitialMember{Name: name, PeerURLs: []string{u}})
	}
	return out, nil
}
