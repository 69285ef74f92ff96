package cluster

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"go.etcd.io/raft/v3"
	"go.etcd.io/raft/v3/raftpb"

	"github.com/larchkv/larch/cluster/wal"
)

// runRaft owns the raft.Node: it ticks it and handles each Ready in order:
// persist (one WAL write and one fdatasync for the whole Ready, which is
// where concurrent proposals share a sync), hand committed entries to the
// apply loop, then Advance.
func (s *Server) runRaft() {
	defer s.wg.Done()
	ticker := time.NewTicker(s.cfg.TickInterval)
	defer ticker.Stop()
	var prevHS raftpb.HardState
	for {
		select {
		case <-ticker.C:
			s.node.Tick()
		case rd := <-s.node.Ready():
			if rd.SoftState != nil {
				old := s.leader.Swap(rd.SoftState.Lead)
				if old != rd.SoftState.Lead {
					s.onLeaderChange(old, rd.SoftState.Lead)
				}
			}
			if len(rd.ReadStates) > 0 {
				s.publishReadState(rd.ReadStates[len(rd.ReadStates)-1])
			}
			if !raft.IsEmptySnap(rd.Snapshot) {
				// Snapshots from a leader arrive with multi-member clusters.
				s.fail(fmt.Errorf("cluster: received a snapshot at index %d; installing leader snapshots is not supported yet", rd.Snapshot.Metadata.Index))
				return
			}
			if err := s.persist(rd.HardState, rd.Entries, prevHS); err != nil {
				s.fail(err)
				return
			}
			if !raft.IsEmptyHardState(rd.HardState) {
				prevHS = rd.HardState
				s.term.Store(rd.HardState.Term)
				s.commitIndex.Store(rd.HardState.Commit)
			}
			if err := s.raftStorage.Append(rd.Entries); err != nil {
				s.fail(fmt.Errorf("cluster: append to raft log: %w", err))
				return
			}
			// Messages to peers go out once the entries they carry are durable here.
			s.send(rd.Messages)
			if len(rd.CommittedEntries) > 0 {
				select {
				case s.applyc <- applyBatch{entries: rd.CommittedEntries}:
				case <-s.stopping:
					return
				}
			}
			s.node.Advance()
		case <-s.stopping:
			return
		}
	}
}

func (s *Server) persist(hs raftpb.HardState, ents []raftpb.Entry, prev raftpb.HardState) error {
	if len(ents) == 0 && (raft.IsEmptyHardState(hs) || hs == prev) {
		return nil
	}
	wents := make([]wal.Entry, len(ents))
	for i := range ents {
		data, err := ents[i].Marshal()
		if err != nil {
			return fmt.Errorf("cluster: marshal entry: %w", err)
		}
		wents[i] = wal.Entry{Index: ents[i].Index, Term: ents[i].Term, Data: data}
	}
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

// send delivers Raft messages to peers. A single-member cluster has none;
// the peer transport arrives with multi-member clusters.
func (s *Server) send(msgs []raftpb.Message) {
	for _, m := range msgs {
		if m.To == uint64(s.id) {
			continue
		}
		s.logger.Debug("dropping message to peer without transport", "to", MemberID(m.To).String(), "type", m.Type.String())
	}
}

func (s *Server) onLeaderChange(old, lead uint64) {
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

// Propose replicates one v3 request and returns what applying it produced.
func (s *Server) proposeEnvelope(ctx context.Context, id uint64, env Envelope) (Result, error) {
	data := env.Marshal()
	if len(data) > s.cfg.MaxRequestBytes {
		return Result{}, ErrRequestTooLarge
	}
	ch := s.waiters.register(id)
	proposalsPending.Inc()
	defer proposalsPending.Dec()
	if err := s.node.Propose(ctx, data); err != nil {
		s.waiters.cancel(id)
		proposalsFailed.Inc()
		return Result{}, s.contextError(ctx, err)
	}
	select {
	case r := <-ch:
		return r, nil
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
