package cluster

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"

	"github.com/larchkv/larch/tree/lease"
	"github.com/larchkv/larch/tree/mvcc"
)

// Leases are replicated state (tree/lease), but their clock is the
// leader's alone. The leader keeps a deadline per lease in memory
// (leaseClock): a grant or a keep-alive sets it to now + TTL; when one
// passes, the leader proposes the revocation, which every member applies
// at the same index. A member that becomes leader gives every lease its
// remaining time (the last checkpoint, or the whole TTL) plus an election
// timeout, so that no lease expires because leadership moved; the leader
// checkpoints the remaining times now and then, so that a long lease is not
// renewed in full by each election. Keep-alives and TTL queries made on a
// follower are forwarded to the leader over the peer port.

// leaseClock is the leader's view of when each lease expires.
type leaseClock struct {
	mu        sync.Mutex // guards the fields below
	leading   bool
	deadlines map[lease.ID]time.Time
	// revoking are the expired leases whose revocation is proposed and
	// not applied yet: they are not proposed again meanwhile.
	revoking map[lease.ID]bool
	// clearing are the leases whose checkpoint a renewal is clearing: a
	// burst of keep-alives proposes one clearing, not one each.
	clearing map[lease.ID]bool
}

// Lease request timings (etcd's defaults).
const (
	leaseTick          = 500 * time.Millisecond
	leaseRevokePerTick = 500 // etcd revokes at most 1000 leases a second
)

// MinLeaseTTL is the shortest TTL a lease is granted, in seconds: one and
// a half election timeouts, rounded up (etcd's rule), so that a lease
// cannot expire during an election.
func (s *Server) MinLeaseTTL() int64 {
	min := time.Duration(3*s.cfg.ElectionTicks/2) * s.cfg.TickInterval
	return int64((min + time.Second - 1) / time.Second)
}

// NewLeaseID returns a positive ID for a lease the client did not name.
func (s *Server) NewLeaseID() int64 { return int64(s.reqIDs.next() & (1<<63 - 1)) }

// Leases returns the lease store. Callers read it; the apply loop writes it.
func (s *Server) Leases() *lease.Store { return s.leases }

// LeaseIDs returns the IDs of the leases as etcd lists them: on the
// leader, the soonest to expire first; elsewhere (no clock runs there) by
// ID.
func (s *Server) LeaseIDs() []lease.ID {
	ids := s.leases.IDs()
	s.leaseClock.mu.Lock()
	defer s.leaseClock.mu.Unlock()
	if !s.leaseClock.leading {
		return ids
	}
	d := s.leaseClock.deadlines
	slices.SortStableFunc(ids, func(a, b lease.ID) int { return d[a].Compare(d[b]) })
	return ids
}

// applyLeaseGrant applies a grant and, on the leader, starts its clock.
func (s *Server) applyLeaseGrant(r *pb.LeaseGrantRequest) Result {
	if err := s.leases.Grant(lease.ID(r.ID), r.TTL); err != nil {
		return Result{Err: err}
	}
	s.leaseClock.mu.Lock()
	if s.leaseClock.leading {
		s.leaseClock.deadlines[lease.ID(r.ID)] = time.Now().Add(time.Duration(r.TTL) * time.Second)
	}
	s.leaseClock.mu.Unlock()
	return Result{Resp: &pb.LeaseGrantResponse{Header: &pb.ResponseHeader{Revision: s.kv.Rev()}, ID: r.ID, TTL: r.TTL}}
}

// applyLeaseRevoke removes a lease and deletes its keys, in one revision.
func (s *Server) applyLeaseRevoke(r *pb.LeaseRevokeRequest) Result {
	keys, err := s.leases.Revoke(lease.ID(r.ID))
	if err != nil {
		return Result{Err: err}
	}
	s.leaseClock.mu.Lock()
	delete(s.leaseClock.deadlines, lease.ID(r.ID))
	delete(s.leaseClock.revoking, lease.ID(r.ID))
	s.leaseClock.mu.Unlock()
	if len(keys) > 0 {
		txn := mvcc.TxnRequest{Success: make([]mvcc.Op, len(keys))}
		for i, k := range keys {
			txn.Success[i] = mvcc.Op{Delete: &mvcc.DeleteRequest{Key: []byte(k)}}
		}
		_, evs, err := s.kv.Txn(txn, s.leases)
		if err != nil {
			return Result{Err: fmt.Errorf("cluster: deleting the keys of lease %x: %w", r.ID, err)}
		}
		s.notifyWatchers(evs)
	}
	return Result{Resp: &pb.LeaseRevokeResponse{Header: &pb.ResponseHeader{Revision: s.kv.Rev()}}}
}

func (s *Server) applyLeaseCheckpoint(r *pb.LeaseCheckpointRequest) Result {
	for _, cp := range r.Checkpoints {
		s.leases.Checkpoint(lease.ID(cp.ID), cp.Remaining_TTL)
	}
	return Result{Resp: &pb.LeaseCheckpointResponse{Header: &pb.ResponseHeader{Revision: s.kv.Rev()}}}
}

// attachLeases keeps the leases' key sets in step with a write's events.
// An event's PrevKV is the key as it was before the whole transaction, so
// for a key a transaction touches twice (a put, then a range delete) the
// lease it had before an event is followed through the events.
func (s *Server) attachLeases(evs []mvcc.Event) {
	var current map[string]int64 // the key's lease after the events so far
	for i := range evs {
		ev := &evs[i]
		key := string(ev.KV.Key)
		before, seen := current[key]
		if !seen && ev.PrevKV != nil {
			before = ev.PrevKV.Lease
		}
		after := int64(0)
		if ev.Type == mvcc.EventPut {
			after = ev.KV.Lease
		}
		if before != 0 && before != after {
			s.leases.Detach(lease.ID(before), key)
		}
		if after != 0 {
			s.leases.Attach(lease.ID(after), key)
		}
		if len(evs) > 1 {
			// Only a write of several events can touch a key twice; a
			// single put, the common case, allocates nothing here.
			if current == nil {
				current = map[string]int64{}
			}
			current[key] = after
		}
	}
}

// leadershipChanged starts or stops the lease clock. It starts in the
// apply loop, which owns the lease store it reads.
func (s *Server) leadershipChanged(leading bool) {
	s.leaseClock.mu.Lock()
	defer s.leaseClock.mu.Unlock()
	if leading == s.leaseClock.leading {
		return
	}
	s.leaseClock.leading = leading
	s.leaseClock.deadlines = map[lease.ID]time.Time{}
	s.leaseClock.revoking = map[lease.ID]bool{}
	s.leaseClock.clearing = map[lease.ID]bool{}
	if !leading {
		return
	}
	// Everyone gets its time left plus an election's worth: the old leader
	// may have renewed it just before it went.
	now := time.Now()
	extend := 2 * s.ElectionTimeout()
	for _, l := range s.leases.All() {
		left := l.TTL
		if l.RemainingTTL > 0 {
			left = l.RemainingTTL
		}
		s.leaseClock.deadlines[l.ID] = now.Add(time.Duration(left)*time.Second + extend)
	}
}

// dueLocked returns the expired leases whose revocation is not under way
// yet, at most limit of them, the oldest IDs first: leases expiring
// together are revoked a tick's share at a time and never crowd out writes.
func (c *leaseClock) dueLocked(now time.Time, limit int) []lease.ID {
	var expired []lease.ID
	for id, d := range c.deadlines {
		if d.Before(now) && !c.revoking[id] {
			expired = append(expired, id)
		}
	}
	slices.Sort(expired)
	return expired[:min(len(expired), limit)]
}

// runLeases, on the leader, revokes expired leases and checkpoints the
// remaining times.
func (s *Server) runLeases() {
	defer s.wg.Done()
	ticker := time.NewTicker(leaseTick)
	defer ticker.Stop()
	lastCheckpoint := time.Now()
	for {
		select {
		case <-ticker.C:
		case <-s.stopping:
			return
		}
		if s.Leader() != s.id {
			s.leadershipChanged(false)
			continue
		}
		now := time.Now()
		s.leaseClock.mu.Lock()
		if !s.leaseClock.leading {
			// Not started yet: the term's empty entry is still to apply.
			s.leaseClock.mu.Unlock()
			continue
		}
		expired := s.leaseClock.dueLocked(now, leaseRevokePerTick)
		if len(expired) > 0 {
			// Only a leader that a quorum still follows revokes (etcd's
			// ensureLeadership): a deposed one's clock is not the cluster's.
			s.leaseClock.mu.Unlock()
			ctx, cancel := context.WithTimeout(context.Background(), s.ElectionTimeout())
			err := s.LinearizableReadNotify(ctx)
			cancel()
			s.leaseClock.mu.Lock()
			if err != nil || s.Leader() != s.id {
				expired = nil
			}
		}
		for _, id := range expired {
			s.leaseClock.revoking[id] = true
		}
		s.leaseClock.mu.Unlock()
		for _, id := range expired {
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				// Only the leader's clock counts: a member that has just lost
				// the leadership must not have its proposal forwarded to the
				// new leader, whose clock may say otherwise.
				if s.Leader() != s.id {
					s.leaseClock.mu.Lock()
					delete(s.leaseClock.revoking, id)
					s.leaseClock.mu.Unlock()
					return
				}
				ctx, cancel := context.WithTimeout(context.Background(), s.RequestTimeout())
				defer cancel()
				_, err := s.Propose(ctx, &pb.InternalRaftRequest{LeaseRevoke: &pb.LeaseRevokeRequest{ID: int64(id)}})
				if err != nil && !errors.Is(err, ErrStopped) {
					s.logger.Warn("revoking an expired lease failed; retrying", "lease-id", fmt.Sprintf("%x", int64(id)), "error", err)
					s.leaseClock.mu.Lock()
					delete(s.leaseClock.revoking, id)
					s.leaseClock.mu.Unlock()
				}
			}()
		}
		if now.Sub(lastCheckpoint) >= s.cfg.LeaseCheckpointInterval {
			lastCheckpoint = now
			s.checkpointLeases(now)
		}
	}
}

// checkpointLeases records, through Raft, the time left on every lease
// that has less than its TTL left.
func (s *Server) checkpointLeases(now time.Time) {
	var cps []*pb.LeaseCheckpoint
	s.leaseClock.mu.Lock()
	for id, d := range s.leaseClock.deadlines {
		l, ok := s.leases.Get(id)
		left := int64(d.Sub(now) / time.Second)
		if ok && left > 0 && left < l.TTL {
			cps = append(cps, &pb.LeaseCheckpoint{ID: int64(id), Remaining_TTL: left})
		}
	}
	s.leaseClock.mu.Unlock()
	if len(cps) == 0 {
		return
	}
	slices.SortFunc(cps, func(a, b *pb.LeaseCheckpoint) int { return cmp.Compare(a.ID, b.ID) })
	ctx, cancel := context.WithTimeout(context.Background(), s.RequestTimeout())
	defer cancel()
	if _, err := s.Propose(ctx, &pb.InternalRaftRequest{LeaseCheckpoint: &pb.LeaseCheckpointRequest{Checkpoints: cps}}); err != nil {
		s.logger.Warn("checkpointing leases failed", "error", err)
	}
}

// LeaseKeepAlive renews lease id for its whole TTL and returns that TTL,
// 0 if the lease does not exist. A follower forwards it to the leader.
func (s *Server) LeaseKeepAlive(ctx context.Context, id int64) (int64, error) {
	if s.Leader() != s.id {
		var ttl int64
		err := s.forwardLease(ctx, leaseKeepAlivePath, id, &ttl)
		return ttl, err
	}
	// A read index confirms this member still leads (a leader cut off
	// must not renew what the new leader may revoke; etcd's
	// ensureLeadership), and waiting for it to be applied makes a lease
	// granted just now known here.
	if err := s.LinearizableReadNotify(ctx); err != nil {
		return 0, err
	}
	l, ok := s.leases.Get(lease.ID(id))
	if !ok {
		return 0, nil
	}
	s.leaseClock.mu.Lock()
	if d, ok := s.leaseClock.deadlines[l.ID]; ok && d.Before(time.Now()) {
		// Expired: its revocation is due or on its way. etcd does not
		// bring an expired lease back either (two holders of one lock).
		s.leaseClock.mu.Unlock()
		return 0, nil
	}
	if s.leaseClock.leading {
		s.leaseClock.deadlines[l.ID] = time.Now().Add(time.Duration(l.TTL) * time.Second)
	}
	// The checkpoint no longer holds: a later leader must not cut the
	// renewed lease short. As in etcd, the renewal that finds it clears it
	// through Raft before it answers; renewals meanwhile leave it to that one.
	clearCheckpoint := l.RemainingTTL > 0 && !s.leaseClock.clearing[l.ID]
	if clearCheckpoint && s.leaseClock.clearing != nil {
		s.leaseClock.clearing[l.ID] = true
	}
	s.leaseClock.mu.Unlock()
	if clearCheckpoint {
		_, err := s.Propose(ctx, &pb.InternalRaftRequest{LeaseCheckpoint: &pb.LeaseCheckpointRequest{
			Checkpoints: []*pb.LeaseCheckpoint{{ID: id, Remaining_TTL: 0}}}})
		s.leaseClock.mu.Lock()
		delete(s.leaseClock.clearing, l.ID)
		s.leaseClock.mu.Unlock()
		if err != nil {
			return 0, err
		}
	}
	return l.TTL, nil
}

// LeaseTTL is what LeaseTimeToLive tells of a lease.
type LeaseTTL struct {
	// TTL is the time left in seconds; -1 when the lease does not exist.
	TTL        int64    `json:"ttl"`
	GrantedTTL int64    `json:"grantedTTL"`
	Keys       []string `json:"keys,omitempty"`
}

// LeaseTimeToLive tells the time left on lease id, as the leader counts
// it. A follower forwards it to the leader.
func (s *Server) LeaseTimeToLive(ctx context.Context, id int64) (LeaseTTL, error) {
	if s.Leader() != s.id {
		var out LeaseTTL
		err := s.forwardLease(ctx, leaseTTLPath, id, &out)
		return out, err
	}
	if err := s.waitAppliedCommitted(ctx); err != nil {
		return LeaseTTL{}, err
	}
	l, ok := s.leases.Get(lease.ID(id))
	if !ok {
		return LeaseTTL{TTL: -1}, nil
	}
	left := l.TTL
	if l.RemainingTTL > 0 {
		left = l.RemainingTTL
	}
	s.leaseClock.mu.Lock()
	if d, ok := s.leaseClock.deadlines[l.ID]; ok {
		left = max(int64(time.Until(d).Round(time.Second)/time.Second), 0)
	}
	s.leaseClock.mu.Unlock()
	return LeaseTTL{TTL: left, GrantedTTL: l.TTL, Keys: l.Keys}, nil
}

// waitAppliedCommitted waits until this member applied everything it knows
// to be committed.
func (s *Server) waitAppliedCommitted(ctx context.Context) error {
	if err := s.applied.wait(ctx, s.stopping, s.CommittedIndex()); err != nil {
		return s.contextError(ctx, err)
	}
	return nil
}

// The leader's lease endpoints on the peer port.
const (
	leaseKeepAlivePath = "/leases/keepalive/"
	leaseTTLPath       = "/leases/ttl/"
)

func (s *Server) serveLease(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "Method Not Allowed", http.StatusMethodNotAllowed)
		return
	}
	path, idText, _ := cutLast(r.URL.Path)
	id, err := strconv.ParseInt(idText, 10, 64)
	if err != nil {
		http.Error(w, "bad lease ID", http.StatusBadRequest)
		return
	}
	if s.Leader() != s.id {
		http.Error(w, ErrNotLeader.Error(), http.StatusPreconditionFailed)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.RequestTimeout())
	defer cancel()
	var out any
	switch path {
	case leaseKeepAlivePath:
		out, err = s.LeaseKeepAlive(ctx, id)
	case leaseTTLPath:
		out, err = s.LeaseTimeToLive(ctx, id)
	default:
		http.NotFound(w, r)
		return
	}
	if err != nil {
		http.Error(w, err.Error(), http.StatusServiceUnavailable)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(out)
}

// cutLast splits "/a/b/c" into "/a/b/" and "c".
func cutLast(p string) (string, string, bool) {
	for i := len(p) - 1; i >= 0; i-- {
		if p[i] == '/' {
			return p[:i+1], p[i+1:], true
		}
	}
	return "", p, false
}

// forwardLease asks the leader to serve a lease request for this member.
func (s *Server) forwardLease(ctx context.Context, path string, id int64, out any) error {
	// As etcd's LeaseRenew: until the request timeout, a missing, moved or
	// unreachable leader is waited for and asked again, so that an
	// election does not end the clients' keep-alive streams.
	ctx, cancel := context.WithTimeout(ctx, s.RequestTimeout())
	defer cancel()
	for {
		refused, err := s.postToLeader(ctx, path+strconv.FormatInt(id, 10), out)
		if err == nil && refused == "" {
			return nil
		}
		select {
		case <-time.After(leaseForwardRetry):
		case <-ctx.Done():
			return s.contextError(ctx, ctx.Err())
		case <-s.stopping:
			return ErrStopped
		}
	}
}

// leaseForwardRetry spaces the attempts to reach the leader (etcd's 50 ms).
const leaseForwardRetry = 50 * time.Millisecond
