package cluster

import (
	"context"
	"encoding/binary"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"go.etcd.io/raft/v3"
	"go.etcd.io/raft/v3/raftpb"

	"github.com/larchkv/larch/cluster/wal"
)

// proposal is one entry on its way into the Raft log.
type proposal struct {
	id   uint64
	data []byte
}

// maxProposalsPerReady bounds how many queued proposals one Ready takes, so
// one batch cannot grow without limit while the disk is slow.
const maxProposalsPerReady = 4096

// runRaft owns the raft.RawNode: nothing else touches it. It ticks it, feeds
// it proposals and commands, and handles each Ready in order: persist (one
// WAL write and one fdatasync for the whole Ready), send, hand committed
// entries to the apply loop, Advance. Proposals that queue while a sync
// runs are taken together into the next Ready: that is the group commit.
func (s *Server) runRaft() {
	defer s.wg.Done()
	ticker := time.NewTicker(s.cfg.TickInterval)
	defer ticker.Stop()
	campaigned := false
	for {
		for s.rn.HasReady() {
			rd := s.rn.Ready()
			if !s.handleReady(rd) {
				return
			}
			s.rn.Advance(rd)
		}
		if !campaigned {
			campaigned = s.campaignIfAlone()
		}
		// Proposals wait while there is no leader to take them, as with
		// raft.Node, instead of being dropped.
		propc := s.propc
		if s.leader.Load() == raft.None {
			propc = nil
		}
		select {
		case <-ticker.C:
			s.rn.Tick()
		case p := <-propc:
			s.propose(p)
			for n := 1; n < maxProposalsPerReady; n++ {
				select {
				case p := <-s.propc:
					s.propose(p)
					continue
				default:
				}
				break
			}
		case m := <-s.recvc:
			s.step(m)
			for n := 1; n < maxProposalsPerReady; n++ {
				select {
				case m := <-s.recvc:
					s.step(m)
					continue
				default:
				}
				break
			}
		case <-s.reports.wake:
			s.reports.apply(s.rn)
		case f := <-s.cmdc:
			f(s.rn)
		case <-s.stopping:
			return
		}
	}
}

// step feeds Raft a message from a peer.
func (s *Server) step(m raftpb.Message) {
	if err := s.rn.Step(m); err != nil {
		s.logger.Debug("raft refused a message", "from", MemberID(m.From).String(), "type", m.Type.String(), "error", err)
	}
}

// campaignIfAlone starts an election at once when this member is the only
// voter, instead of waiting out a randomized election timeout. It reports
// whether there is nothing left to decide: raft refuses to campaign until
// the bootstrap configuration entries are applied, so it is retried.
func (s *Server) campaignIfAlone() bool {
	st := s.rn.Status()
	if st.Lead != raft.None {
		return true
	}
	voters := st.Config.Voters[0]
	if _, self := voters[uint64(s.id)]; !self || len(voters) != 1 {
		return len(voters) > 0
	}
	if st.Applied < st.Commit {
		return false
	}
	_ = s.rn.Campaign()
	return true
}

func (s *Server) propose(p proposal) {
	if err := s.rn.Propose(p.data); err != nil {
		proposalsFailed.Inc()
		if s.leader.Load() == raft.None {
			err = ErrNoLeader
		}
		s.waiters.trigger(p.id, outcome{err: err})
	}
}

// handleReady persists and dispatches one Ready. It returns false when the
// member must stop.
func (s *Server) handleReady(rd raft.Ready) bool {
	if rd.SoftState != nil {
		old := s.leader.Swap(rd.SoftState.Lead)
		if old != rd.SoftState.Lead {
			s.onLeaderChange(old, rd.SoftState.Lead)
		}
	}
	for _, rs := range rd.ReadStates {
		// Only the answer the read loop waits for; a late answer to an
		// earlier round must not take its place.
		if len(rs.RequestCtx) == 8 && binary.BigEndian.Uint64(rs.RequestCtx) == s.pendingReadID.Load() {
			s.publishReadState(rs)
		}
	}
	// A leader's messages (appends, heartbeats) may go out while it writes
	// the same entries to its own disk: the followers' syncs then overlap
	// the leader's, and a commit costs one sync's time, not two (Raft
	// thesis 10.2.1; etcd does the same). Anyone else's messages (votes,
	// append responses) promise what must be durable first.
	leading := s.leader.Load() == uint64(s.id)
	if leading {
		s.send(rd.Messages)
	}
	var snap *raftpb.Snapshot
	if !raft.IsEmptySnap(rd.Snapshot) {
		// A leader's snapshot: the transport saved its file before Raft
		// saw the message. Its mark goes into the WAL before anything that
		// follows it, and the state is restored by the apply loop, in order.
		snap = &rd.Snapshot
		mark := wal.SnapshotMark{Index: snap.Metadata.Index, Term: snap.Metadata.Term}
		s.walMu.Lock()
		err := s.wal.SaveSnapshot(mark)
		s.walMu.Unlock()
		if err != nil {
			s.fail(fmt.Errorf("cluster: record received snapshot: %w", err))
			return false
		}
		if err := s.raftStorage.ApplySnapshot(*snap); err != nil {
			s.fail(fmt.Errorf("cluster: apply received snapshot to raft log: %w", err))
			return false
		}
		s.setCommitted(max(s.commitIndex.Load(), mark.Index))
		s.logger.Info("installing snapshot from leader", "index", mark.Index, "term", mark.Term)
	}
	if err := s.persist(rd.HardState, rd.Entries, s.prevHS); err != nil {
		s.fail(err)
		return false
	}
	if !raft.IsEmptyHardState(rd.HardState) {
		s.prevHS = rd.HardState
		s.term.Store(rd.HardState.Term)
		s.setCommitted(rd.HardState.Commit)
	}
	if err := s.raftStorage.Append(rd.Entries); err != nil {
		s.fail(fmt.Errorf("cluster: append to raft log: %w", err))
		return false
	}
	if !leading {
		s.send(rd.Messages)
	}
	if len(rd.CommittedEntries) == 0 && snap == nil {
		return true
	}
	batch := applyBatch{entries: rd.CommittedEntries, snapshot: snap}
	if !s.bootstrapping && !leading && hasConfChange(rd.CommittedEntries) {
		// Raft takes an entry as applied at Advance; a configuration change
		// must really be applied by then, or this member could campaign or
		// count votes under the old configuration (etcd's waitApply). A
		// leader need not wait, as in etcd: it is not campaigning, and it
		// takes no new change before this one is committed.
		batch.applied = make(chan struct{})
	}
	// While the apply loop is busy, keep serving commands: it may be
	// waiting on one (ApplyConfChange) before it can take this batch.
	for sent := false; !sent; {
		select {
		case s.applyc <- batch:
			sent = true
		case f := <-s.cmdc:
			f(s.rn)
		case <-s.stopping:
			return false
		}
	}
	for batch.applied != nil {
		select {
		case <-batch.applied:
			batch.applied = nil
		case f := <-s.cmdc:
			f(s.rn)
		case <-s.stopping:
			return false
		}
	}
	return true
}

func hasConfChange(ents []raftpb.Entry) bool {
	for i := range ents {
		if ents[i].Type == raftpb.EntryConfChange || ents[i].Type == raftpb.EntryConfChangeV2 {
			return true
		}
	}
	return false
}

// withRaft runs f on the raft goroutine and waits for it.
func (s *Server) withRaft(f func(rn *raft.RawNode)) error {
	done := make(chan struct{})
	select {
	case s.cmdc <- func(rn *raft.RawNode) { f(rn); close(done) }:
	case <-s.stopping:
		return ErrStopped
	}
	select {
	case <-done:
		return nil
	case <-s.stopping:
		return ErrStopped
	}
}

// persist makes the entries and HardState of a Ready durable before
// anything that depends on them happens. A HardState that only moves Commit
// forward is written without an fdatasync (wal.SaveState): the commit index
// can always be learned again from the leader (a lone member re-commits its
// whole log when it wins its next election), so it is not worth a sync of
// its own, which would double the syncs of every write; but written, it
// tells an offline reader of the log (a v2 backup) which entries were
// committed. The next entries' sync makes it durable.
func (s *Server) persist(hs raftpb.HardState, ents []raftpb.Entry, prev raftpb.HardState) error {
	if len(ents) == 0 && (raft.IsEmptyHardState(hs) || !raft.MustSync(hs, prev, 0)) {
		if raft.IsEmptyHardState(hs) {
			return nil
		}
		s.walMu.Lock()
		err := s.wal.SaveState(wal.HardState{Term: hs.Term, Vote: hs.Vote, Commit: hs.Commit})
		s.walMu.Unlock()
		if err != nil {
			return fmt.Errorf("cluster: save to wal: %w", err)
		}
		return nil
	}
	// The WAL copies what it is given before Save returns, so every entry
	// is marshalled into one scratch buffer that the next Ready reuses.
	size := 0
	for i := range ents {
		size += ents[i].Size()
	}
	if cap(s.persistScratch) < size {
		s.persistScratch = make([]byte, size)
	}
	buf := s.persistScratch[:size]
	wents := s.persistEntries[:0]
	for i := range ents {
		n, err := ents[i].MarshalTo(buf)
		if err != nil {
			return fmt.Errorf("cluster: marshal entry: %w", err)
		}
		wents = append(wents, wal.Entry{Index: ents[i].Index, Term: ents[i].Term, Data: buf[:n:n]})
		buf = buf[n:]
	}
	s.persistEntries = wents[:0]
	if raft.IsEmptyHardState(hs) {
		hs = prev
	}
	start := time.Now()
	s.walMu.Lock()
	err := s.wal.Save(wal.HardState{Term: hs.Term, Vote: hs.Vote, Commit: hs.Commit}, wents)
	s.walMu.Unlock()
	walFsyncSeconds.Observe(time.Since(start).Seconds())
	if err != nil {
		return fmt.Errorf("cluster: save to wal: %w", err)
	}
	return nil
}

// send hands Raft's messages to the transport, which never blocks.
//
// Raft sends the newest stored snapshot to a follower that needs one; a
// member added since cannot use it (its Raft ignores a snapshot whose
// configuration lacks it), so instead of sending it the leader takes a new
// one and Raft, told the send failed, asks again.
func (s *Server) send(msgs []raftpb.Message) {
	// The transport starts after the bootstrap Ready, which sends nothing.
	if len(msgs) == 0 || s.transport == nil {
		return
	}
	for i := range msgs {
		m := &msgs[i]
		if m.Type != raftpb.MsgSnap || m.Snapshot == nil || inConfState(&m.Snapshot.Metadata.ConfState, m.To) {
			continue
		}
		to := m.To
		m.To = raft.None // the transport skips it
		s.reports.add(func(rn *raft.RawNode) { rn.ReportSnapshot(to, raft.SnapshotFailure) })
		select {
		case s.snapshotNow <- struct{}{}:
		default:
		}
	}
	s.transport.Send(msgs)
}

func inConfState(cs *raftpb.ConfState, id uint64) bool {
	return slices.Contains(cs.Voters, id) || slices.Contains(cs.Learners, id) ||
		slices.Contains(cs.VotersOutgoing, id) || slices.Contains(cs.LearnersNext, id)
}

func (s *Server) onLeaderChange(old, lead uint64) {
	// The lease clock stops now, not at the next lease tick; it starts in
	// the apply loop, at the new leader's empty entry.
	if lead != uint64(s.id) {
		s.leadershipChanged(false)
	}
	if lead != raft.None {
		leaderChanges.Inc()
		hasLeader.Set(1)
	} else {
		hasLeader.Set(0)
	}
	if lead == uint64(s.id) {
		isLeader.Set(1)
	} else {
		isLeader.Set(0)
	}
	s.logger.Info("leader changed", "from", MemberID(old).String(), "to", MemberID(lead).String())
}

// raftLogger routes the raft library's logs into slog.
type raftLogger struct{ l *slog.Logger }

func (r raftLogger) Debug(v ...any)              { r.l.Debug(fmt.Sprint(v...)) }
func (r raftLogger) Debugf(f string, v ...any)   { r.l.Debug(fmt.Sprintf(f, v...)) }
func (r raftLogger) Info(v ...any)               { r.l.Info(fmt.Sprint(v...)) }
func (r raftLogger) Infof(f string, v ...any)    { r.l.Info(fmt.Sprintf(f, v...)) }
func (r raftLogger) Warning(v ...any)            { r.l.Warn(fmt.Sprint(v...)) }
func (r raftLogger) Warningf(f string, v ...any) { r.l.Warn(fmt.Sprintf(f, v...)) }
func (r raftLogger) Error(v ...any)              { r.l.Error(fmt.Sprint(v...)) }
func (r raftLogger) Errorf(f string, v ...any)   { r.l.Error(fmt.Sprintf(f, v...)) }
func (r raftLogger) Fatal(v ...any)              { r.Panic(v...) }
func (r raftLogger) Fatalf(f string, v ...any)   { r.Panicf(f, v...) }
func (r raftLogger) Panic(v ...any)              { s := fmt.Sprint(v...); r.l.Error(s); panic(s) }
func (r raftLogger) Panicf(f string, v ...any)   { r.Panic(fmt.Sprintf(f, v...)) }

var _ raft.Logger = raftLogger{}

// proposeEntry replicates one marshalled envelope and waits for what
// applying it produced.
func (s *Server) proposeEntry(ctx context.Context, id uint64, data []byte) (Result, error) {
	ch := s.waiters.register(id)
	proposalsPending.Inc()
	defer proposalsPending.Dec()
	select {
	case s.propc <- proposal{id: id, data: data}:
	case <-ctx.Done():
		s.waiters.cancel(id)
		proposalsFailed.Inc()
		return Result{}, s.contextError(ctx, ctx.Err())
	case <-s.stopping:
		s.waiters.cancel(id)
		return Result{}, ErrStopped
	}
	select {
	case o := <-ch:
		return o.res, o.err
	case <-ctx.Done():
		s.waiters.cancel(id)
		proposalsFailed.Inc()
		return Result{}, s.contextError(ctx, ctx.Err())
	case <-s.stopping:
		return Result{}, ErrStopped
	}
}

func (s *Server) contextError(ctx context.Context, err error) error {
	select {
	case <-s.stopping:
		return ErrStopped
	default:
	}
	if err == raft.ErrStopped {
		return ErrStopped
	}
	if ctx.Err() == context.DeadlineExceeded {
		return ErrTimeout
	}
	return err
}
