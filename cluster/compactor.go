package cluster

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"

	"github.com/larchkv/larch/tree/mvcc"
)

// Auto-compaction, as etcd's --auto-compaction-mode and
// --auto-compaction-retention: every member runs the loop, only the leader
// proposes, so the cluster compacts once.

// Auto-compaction modes.
const (
	CompactionPeriodic = "periodic"
	CompactionRevision = "revision"
)

// DefaultRevisionCompactionCheck is how often revision mode looks at the
// revision, etcd's five minutes.
const DefaultRevisionCompactionCheck = 5 * time.Minute

// ParseCompactionRetention reads --auto-compaction-retention as etcd does:
// a plain number is hours in periodic mode and revisions in revision mode;
// otherwise a duration, periodic only.
func ParseCompactionRetention(mode, retention string) (period time.Duration, revisions int64, err error) {
	if n, err := strconv.ParseInt(retention, 10, 64); err == nil && n >= 0 {
		switch mode {
		case CompactionRevision:
			return 0, n, nil
		case CompactionPeriodic:
			return time.Duration(n) * time.Hour, 0, nil
		default:
			return 0, 0, fmt.Errorf("unknown auto-compaction-mode %q", mode)
		}
	}
	d, err := time.ParseDuration(retention)
	if err != nil {
		return 0, 0, fmt.Errorf("error parsing CompactionRetention: %w", err)
	}
	if mode == CompactionRevision {
		return 0, 0, fmt.Errorf("auto-compaction-retention %q: revision mode takes a number of revisions", retention)
	}
	return d, 0, nil
}

// compactAuto proposes a compaction at rev; an already compacted revision
// counts as done.
func (s *Server) compactAuto(rev int64) error {
	ctx, cancel := context.WithTimeout(context.Background(), s.RequestTimeout())
	defer cancel()
	res, err := s.Propose(ctx, &pb.InternalRaftRequest{Compaction: &pb.CompactionRequest{Revision: rev}})
	if err == nil {
		err = res.Err
	}
	if errors.Is(err, mvcc.ErrCompacted) {
		return nil
	}
	return err
}

// runCompactor runs the configured auto-compaction until the member stops.
func (s *Server) runCompactor() {
	defer s.wg.Done()
	switch s.cfg.AutoCompactionMode {
	case CompactionPeriodic:
		if s.cfg.AutoCompactionPeriod > 0 {
			s.compactPeriodically(s.cfg.AutoCompactionPeriod)
		}
	case CompactionRevision:
		if s.cfg.AutoCompactionRevisions > 0 {
			s.compactByRevision(s.cfg.AutoCompactionRevisions, s.cfg.AutoCompactionCheck)
		}
	}
}

// wait waits for d or the member's stop, and reports whether to go on.
func (s *Server) wait(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-s.stopping:
		return false
	}
}

// compactByRevision keeps the last `keep` revisions: every check it
// compacts at the current revision minus keep, if that moved.
func (s *Server) compactByRevision(keep int64, every time.Duration) {
	var prev int64
	for s.wait(every) {
		rev := s.kv.Rev() - keep
		if rev <= 0 || rev == prev || s.Leader() != s.id {
			continue
		}
		start := time.Now()
		if err := s.compactAuto(rev); err != nil {
			s.logger.Warn("failed auto revision compaction", "revision", rev, "revision-compaction-retention", keep, "error", err)
			continue
		}
		prev = rev
		s.logger.Info("completed auto revision compaction", "revision", rev, "revision-compaction-retention", keep, "took", time.Since(start).String())
	}
}

// compactPeriodically keeps about a period of history, as etcd's periodic
// compactor: it samples the revision every tenth of the period (of an hour
// at most) and compacts at the revision it saw a period ago, the first time
// after a period, then every period (an hour at most).
func (s *Server) compactPeriodically(period time.Duration) {
	interval := min(period, time.Hour)
	retry := interval / 10
	keep := int(period/retry) + 1
	var (
		revs        []int64 // revs[0] is the revision a period ago
		last        int64
		lastSuccess = time.Now()
		base        = period
	)
	for {
		revs = append(revs, s.kv.Rev())
		if len(revs) > keep {
			revs = revs[1:]
		}
		if !s.wait(retry) {
			return
		}
		rev := revs[0]
		if s.Leader() != s.id || time.Since(lastSuccess) < base || rev == last {
			continue
		}
		base = interval
		start := time.Now()
		if err := s.compactAuto(rev); err != nil {
			s.logger.Warn("failed auto periodic compaction", "revision", rev, "compact-period", period.String(), "retry-interval", retry.String(), "error", err)
			continue
		}
		last, lastSuccess = rev, time.Now()
		s.logger.Info("completed auto periodic compaction", "revision", rev, "compact-period", period.String(), "took", time.Since(start).String())
	}
}
