package cluster

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/membershippb"
	"go.etcd.io/raft/v3"
	"go.etcd.io/raft/v3/raftpb"

	"github.com/larchkv/larch/auth"
	"github.com/larchkv/larch/tree/mvcc"
	"github.com/larchkv/larch/tree/mvcc/wire"
)

// Propose replicates one v3 request through Raft and returns what applying
// it produced. The request's ID is assigned here.
func (s *Server) Propose(ctx context.Context, r *pb.InternalRaftRequest) (Result, error) {
	// The ID travels in the request header, where etcd puts it, so the
	// marshalled request has exactly the size etcd compares with
	// --max-request-bytes.
	id := s.reqIDs.next()
	// Who asks, and at which auth revision, as the client API found it.
	in := r.Header
	hdr := &pb.RequestHeader{ID: id}
	r.Header = hdr
	if in != nil {
		hdr.Username = in.Username
		if in.Username != "" || s.authStore.Enabled() {
			hdr.AuthRevision = in.AuthRevision
		}
	}
	// etcd's entries carry the auth fields only while auth is on: the
	// limit is etcd's to the byte. The revision a client request carries
	// while auth is off (so that it is checked if auth is on when it
	// applies) is added after.
	if r.Size() > s.cfg.MaxRequestBytes {
		return Result{}, ErrRequestTooLarge
	}
	if in != nil {
		hdr.AuthRevision = in.AuthRevision
	}
	size := r.Size()
	// Marshalled straight behind the envelope header: one allocation, no copy.
	data := make([]byte, envelopeHeaderSize+size)
	putEnvelopeHeader(data, KindV3)
	if _, err := r.MarshalToSizedBuffer(data[envelopeHeaderSize:]); err != nil {
		return Result{}, fmt.Errorf("cluster: marshal request: %w", err)
	}
	return s.proposeEntry(ctx, id, data)
}

// runApply is the apply loop: the only goroutine that changes the state
// machines. It applies committed entries in log order and hands results to
// waiting proposers.
func (s *Server) runApply() {
	defer s.wg.Done()
	for {
		select {
		case b := <-s.applyc:
			if b.snapshot != nil {
				if err := s.applySnapshot(b.snapshot.Metadata); err != nil {
					s.fail(err)
					return
				}
			}
			for i := range b.entries {
				s.bytesSinceSnap += int64(len(b.entries[i].Data))
				if err := s.applyEntry(&b.entries[i]); err != nil {
					if !errors.Is(err, ErrStopped) {
						s.fail(err)
					}
					return
				}
			}
			if n := len(b.entries); n > 0 {
				last := b.entries[n-1]
				s.appliedTerm = last.Term
				s.applied.advance(last.Index)
				proposalsApplied.Add(float64(n))
				s.noteDBSize()
				s.maybeSnapshot(last.Index, false)
			}
			if b.applied != nil {
				close(b.applied)
			}
		case <-s.snapshotNow:
			s.maybeSnapshot(s.applied.current(), true)
		case f := <-s.applyCalls:
			f()
		case <-s.stopping:
			return
		}
	}
}

func (s *Server) applyEntry(e *raftpb.Entry) error {
	if e.Index <= s.applied.current() {
		// Already in the state restored from a snapshot.
		return nil
	}
	switch e.Type {
	case raftpb.EntryNormal:
		if len(e.Data) == 0 {
			// A new leader's empty entry: once it is applied, so is
			// everything of the terms before, checkpoints included, and a
			// leader starts its lease clock from there (etcd's Promote).
			if e.Term == s.Term() && s.Leader() == s.id {
				s.leadershipChanged(true)
			}
			return nil
		}
		env, err := UnmarshalEnvelope(e.Data)
		if err != nil {
			return fmt.Errorf("cluster: entry %d: %w", e.Index, err)
		}
		return s.applyEnvelope(e.Index, env)
	case raftpb.EntryConfChange:
		var cc raftpb.ConfChange
		if err := cc.Unmarshal(e.Data); err != nil {
			return fmt.Errorf("cluster: entry %d: bad conf change: %w", e.Index, err)
		}
		return s.applyConfChange(cc, e.Index)
	case raftpb.EntryConfChangeV2:
		// Raft proposes these itself to leave a joint configuration; Larch
		// proposes only simple changes, so they carry no membership change.
		var cc raftpb.ConfChangeV2
		if err := cc.Unmarshal(e.Data); err != nil {
			return fmt.Errorf("cluster: entry %d: bad conf change: %w", e.Index, err)
		}
		if len(cc.Changes) > 0 {
			return fmt.Errorf("cluster: entry %d: joint configuration changes are not supported", e.Index)
		}
		var cs *raftpb.ConfState
		if err := s.withRaft(func(rn *raft.RawNode) { cs = rn.ApplyConfChange(cc) }); err != nil {
			return err
		}
		s.membersMu.Lock()
		s.confState = *cs
		s.membersMu.Unlock()
		return nil
	default:
		return fmt.Errorf("cluster: entry %d: unsupported entry type %v", e.Index, e.Type)
	}
}

func (s *Server) applyEnvelope(index uint64, env Envelope) error {
	switch env.Kind {
	case KindV3:
		r, err := decodeV3(env.Payload)
		if err != nil {
			return fmt.Errorf("cluster: entry %d: %w", index, err)
		}
		start := time.Now()
		res := s.applyV3(index, r)
		s.warnIfSlow(start, r)
		if r.Header != nil {
			s.waiters.trigger(r.Header.ID, outcome{res: res})
		}
		return nil
	case KindV2:
		r, err := decodeV2(env.Payload)
		if err != nil {
			return fmt.Errorf("cluster: entry %d: %w", index, err)
		}
		res := Result{Err: auth.ErrAuthOldRevision}
		// A plain v2 write was checked while auth was off: if auth is on
		// now, the v2 API checks it again and proposes it with the
		// revision it checked at. The member's own SYNC needs no check.
		if r.Method == "SYNC" || !s.authStore.Enabled() {
			res = s.applyV2(r)
		}
		s.waiters.trigger(r.ID, outcome{res: res})
		return nil
	case KindAuthV2:
		r, err := decodeAuthV2(env.Payload)
		if err != nil {
			return fmt.Errorf("cluster: entry %d: %w", index, err)
		}
		s.waiters.trigger(r.ID, outcome{res: s.applyAuthV2(r)})
		return nil
	default:
		return fmt.Errorf("cluster: entry %d: %w: kind %v", index, ErrBadEnvelope, env.Kind)
	}
}

// decodeV3 decodes the payload of a KindV3 envelope.
func decodeV3(payload []byte) (*pb.InternalRaftRequest, error) {
	r := &pb.InternalRaftRequest{}
	if err := r.Unmarshal(payload); err != nil {
		return nil, fmt.Errorf("%w: bad v3 request: %v", ErrBadEnvelope, err)
	}
	return r, nil
}

// DefaultWarningApplyDuration is etcd's --warning-apply-duration.
const DefaultWarningApplyDuration = 100 * time.Millisecond

// warnIfSlow logs a request whose apply, started at start, took longer
// than WarningApplyDuration, with etcd's message: the apply loop is the
// one goroutine every write waits behind.
func (s *Server) warnIfSlow(start time.Time, r *pb.InternalRaftRequest) {
	took := time.Since(start)
	if took <= s.cfg.WarningApplyDuration {
		return
	}
	s.logger.Warn("apply request took too long", "took", took.String(), "expected-duration", s.cfg.WarningApplyDuration.String(),
		"request", requestSummary(r))
}

// requestSummary names a request's operation and key, without values.
func requestSummary(r *pb.InternalRaftRequest) string {
	switch {
	case r.Put != nil:
		return fmt.Sprintf("put key:%q value_size:%d lease:%d", r.Put.Key, len(r.Put.Value), r.Put.Lease)
	case r.DeleteRange != nil:
		return fmt.Sprintf("delete_range key:%q range_end:%q", r.DeleteRange.Key, r.DeleteRange.RangeEnd)
	case r.Txn != nil:
		return fmt.Sprintf("txn compare:%d success:%d failure:%d", len(r.Txn.Compare), len(r.Txn.Success), len(r.Txn.Failure))
	case r.Compaction != nil:
		return fmt.Sprintf("compaction revision:%d", r.Compaction.Revision)
	case r.LeaseGrant != nil:
		return fmt.Sprintf("lease_grant id:%x ttl:%d", r.LeaseGrant.ID, r.LeaseGrant.TTL)
	case r.LeaseRevoke != nil:
		return fmt.Sprintf("lease_revoke id:%x", r.LeaseRevoke.ID)
	case r.V2 != nil:
		return fmt.Sprintf("v2 %s path:%q", r.V2.Method, r.V2.Path)
	default:
		// Auth, membership attributes, lease checkpoints: the kind is enough.
		return strings.SplitN(r.String(), ":", 2)[0]
	}
}

func (s *Server) applyV3(index uint64, r *pb.InternalRaftRequest) Result {
	// Alarms come first, as etcd's appliers are stacked: a write refused
	// for space is refused whoever asks.
	if err := s.refusedByAlarm(r); err != nil {
		return Result{Err: err}
	}
	if err := s.checkAuth(r); err != nil {
		return Result{Err: err}
	}
	if res, ok := s.applyAuthRequest(index, r); ok {
		return res
	}
	switch {
	case r.Alarm != nil:
		return s.applyAlarm(r.Alarm)
	case r.V2 != nil:
		return s.applyV2(r.V2)
	case r.Put != nil:
		res, evs, err := s.kv.Put(wire.PutRequest(r.Put), s.leases)
		if err != nil {
			return Result{Err: err}
		}
		s.attachLeases(evs)
		s.notifyWatchers(evs)
		return Result{Resp: wire.PutResponse(&res)}
	case r.DeleteRange != nil:
		res, evs, err := s.kv.Delete(wire.DeleteRequest(r.DeleteRange))
		if err != nil {
			return Result{Err: err}
		}
		s.attachLeases(evs)
		s.notifyWatchers(evs)
		return Result{Resp: wire.DeleteResponse(&res)}
	case r.Txn != nil:
		res, evs, err := s.kv.Txn(wire.TxnRequest(r.Txn), s.leases)
		if err != nil {
			return Result{Err: err}
		}
		s.attachLeases(evs)
		s.notifyWatchers(evs)
		return Result{Resp: wire.TxnResponse(&res)}
	case r.Compaction != nil:
		if err := s.kv.Compact(r.Compaction.Revision); err != nil {
			return Result{Err: err}
		}
		return Result{Resp: &pb.CompactionResponse{Header: &pb.ResponseHeader{Revision: s.kv.Rev()}}}
	case r.LeaseGrant != nil:
		return s.applyLeaseGrant(r.LeaseGrant)
	case r.LeaseRevoke != nil:
		return s.applyLeaseRevoke(r.LeaseRevoke)
	case r.LeaseCheckpoint != nil:
		return s.applyLeaseCheckpoint(r.LeaseCheckpoint)
	case r.ClusterMemberAttrSet != nil:
		s.applyMemberAttrs(r.ClusterMemberAttrSet)
		return Result{}
	default:
		return Result{Err: fmt.Errorf("cluster: request %v names no operation this member can apply", r.Header)}
	}
}

// notifyWatchers hands a write's events to the watchers, before the
// proposer learns the write is done: a watch created after a client saw
// the write's revision starts after it.
func (s *Server) notifyWatchers(evs []mvcc.Event) {
	if len(evs) > 0 {
		s.watchers.Notify(s.kv.Rev(), evs)
	}
}

func newMemberAttrSet(id MemberID, name string, clientURLs []string) *membershippb.ClusterMemberAttrSetRequest {
	return &membershippb.ClusterMemberAttrSetRequest{
		Member_ID:        uint64(id),
		MemberAttributes: &membershippb.Attributes{Name: name, ClientUrls: clientURLs},
	}
}

func (s *Server) applyMemberAttrs(r *membershippb.ClusterMemberAttrSetRequest) {
	s.membersMu.Lock()
	defer s.membersMu.Unlock()
	m, ok := s.members[MemberID(r.Member_ID)]
	if !ok || r.MemberAttributes == nil {
		return
	}
	m.Name = r.MemberAttributes.Name
	m.ClientURLs = append([]string(nil), r.MemberAttributes.ClientUrls...)
	s.v2.AdvanceIndex(v2IndexPerMemberChange)
	s.maybeDecideVersionLocked()
}

// maybeSnapshot starts a background snapshot once SnapshotCount entries
// were applied since the last one and the log since then is at least as
// large as the last snapshot. The second rule scales the cadence with the
// state's size: a snapshot writes the whole state, so without it a large
// store would be rewritten every few thousand small writes. Each logged byte
// then costs at most about one snapshot byte, and a restart replays at most
// about one state's worth of log.
//
// The state is captured here, in the apply loop, as copy-on-write views;
// encoding and writing happen elsewhere.
//
// force skips the cadence: a peer needs a snapshot newer than the last.
func (s *Server) maybeSnapshot(index uint64, force bool) {
	due := index-s.lastSnapIndex >= s.cfg.SnapshotCount && s.bytesSinceSnap >= s.lastSnapshotSize.Load()
	if force {
		due = index > s.lastSnapIndex
	}
	if !due {
		return
	}
	select {
	case s.snapshotSem <- struct{}{}:
	default:
		return // one is being written
	}
	st, term, err := s.captureForSnapshot()
	if err != nil {
		<-s.snapshotSem
		s.fail(err)
		return
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer func() { <-s.snapshotSem }()
		if err := s.writeSnapshot(index, term, st); err != nil {
			s.fail(fmt.Errorf("cluster: snapshot at index %d: %w", index, err))
		}
	}()
}

// captureForSnapshot captures the state at the applied index for a
// snapshot file and restarts the cadence from there. Apply loop only.
func (s *Server) captureForSnapshot() (stateView, uint64, error) {
	index := s.applied.current()
	s.lastSnapIndex = index
	st, err := s.captureState()
	if err != nil {
		return st, 0, fmt.Errorf("cluster: capture state at index %d: %w", index, err)
	}
	s.bytesSinceSnap = 0
	return st, s.appliedTerm, nil
}

// applyCall runs f in the apply loop, between two entries, and waits for
// it: f sees the state machines at one index while nothing changes them.
func (s *Server) applyCall(ctx context.Context, f func()) error {
	done := make(chan struct{})
	select {
	case s.applyCalls <- func() { f(); close(done) }:
	case <-ctx.Done():
		return ctx.Err()
	case <-s.stopping:
		return ErrStopped
	}
	<-done
	return nil
}

// stateView is a consistent copy of everything the state machines hold.
type stateView struct {
	// v2 is the encoded v2 store: it has no copy-on-write view, so it is
	// encoded in the apply loop (v2 stores are small).
	v2 []byte
	// leases and auth are the encoded lease and auth stores, small enough
	// to encode here too.
	leases, auth []byte
	// alarms are the encoded alarms.
	alarms  []byte
	kv      *mvcc.Snapshot
	members []Member
	removed []MemberID
	// clusterVersion is "" until decided.
	clusterVersion string
	confState      raftpb.ConfState
}

func (s *Server) removedIDs() []MemberID {
	s.membersMu.RLock()
	defer s.membersMu.RUnlock()
	ids := make([]MemberID, 0, len(s.removed))
	for id := range s.removed {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

func (s *Server) captureState() (stateView, error) {
	var v2, leases bytes.Buffer
	if _, err := s.v2.WriteTo(&v2); err != nil {
		return stateView{}, err
	}
	if _, err := s.leases.WriteTo(&leases); err != nil {
		return stateView{}, err
	}
	authState, err := s.authStore.Encode()
	if err != nil {
		return stateView{}, err
	}
	alarms, err := s.alarms.encode()
	if err != nil {
		return stateView{}, err
	}
	return stateView{kv: s.kv.Snapshot(), v2: v2.Bytes(), leases: leases.Bytes(), auth: authState, alarms: alarms, members: s.Members(), removed: s.removedIDs(),
		clusterVersion: s.ClusterVersion(), confState: s.confStateCopy()}, nil
}

func (s *Server) confStateCopy() raftpb.ConfState {
	s.membersMu.RLock()
	defer s.membersMu.RUnlock()
	cs := s.confState
	cs.Voters = append([]uint64(nil), cs.Voters...)
	cs.Learners = append([]uint64(nil), cs.Learners...)
	cs.VotersOutgoing = append([]uint64(nil), cs.VotersOutgoing...)
	cs.LearnersNext = append([]uint64(nil), cs.LearnersNext...)
	return cs
}
