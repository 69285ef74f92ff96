package cluster

import (
	"context"
	"fmt"
	"time"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"

	"github.com/larchkv/larch/tree"
)

// The v2 keyspace travels in KindV2 envelopes: one etcdserverpb.Request
// each, as etcd's v2 server proposes them. The proposer stamps Time; every
// member computes TTLs and expiry from that stamp, never from its own clock,
// so all members reach the same state.

// etcd keeps its membership in the v2 store too (under /0, which users
// never see), so every membership change advances the index users see:
// one for a member added, updated, promoted or publishing its attributes,
// two for a member removed (its key goes, a removed marker comes), one for
// the cluster version, once decided. Larch keeps the membership elsewhere
// but advances the index the same way (tree.Store.AdvanceIndex), so that
// v2 clients see the indexes etcd would give them: a fresh single member
// starts at 3, a fresh three-member cluster at 7.
const (
	v2IndexPerMemberChange = 1
	v2IndexPerRemoval      = 2
)

// clusterVersion is the version a cluster of Larch members runs at, once
// every voting member published itself (etcd's decided cluster version).
const clusterVersion = "3.6.0"

// ClusterVersion returns the cluster's version, "" until it is decided.
func (s *Server) ClusterVersion() string {
	s.membersMu.RLock()
	defer s.membersMu.RUnlock()
	return s.clusterVersion
}

// maybeDecideVersionLocked sets the cluster version once every voting
// member has published itself. Hold membersMu; apply loop only.
func (s *Server) maybeDecideVersionLocked() {
	if s.clusterVersion != "" || len(s.members) == 0 {
		return
	}
	for _, m := range s.members {
		if !m.IsLearner && m.Name == "" {
			return
		}
	}
	s.clusterVersion = clusterVersion
	s.v2.AdvanceIndex(v2IndexPerMemberChange)
}

// V2 returns the v2 store. Callers read it and watch it; only the apply
// loop writes it.
func (s *Server) V2() *tree.Store { return s.v2 }

// ProposeV2 replicates one v2 write (methods POST, PUT, DELETE, SYNC) and
// returns the event applying it produced, or the store's *tree.Error.
func (s *Server) ProposeV2(ctx context.Context, r *pb.Request) (*tree.Event, error) {
	r.ID = s.reqIDs.next()
	if r.Time == 0 {
		r.Time = time.Now().UnixNano()
	}
	size := r.Size()
	if size > s.cfg.MaxRequestBytes {
		return nil, ErrRequestTooLarge
	}
	data := make([]byte, envelopeHeaderSize+size)
	putEnvelopeHeader(data, KindV2)
	if _, err := r.MarshalToSizedBuffer(data[envelopeHeaderSize:]); err != nil {
		return nil, fmt.Errorf("cluster: marshal v2 request: %w", err)
	}
	return v2Event(s.proposeEntry(ctx, r.ID, data))
}

// ProposeV2As is ProposeV2 for a request the v2 API authorised for user
// (empty for a guest) against the auth state at revision authRev: if auth
// has changed by the time it applies, it fails with auth.ErrAuthOldRevision
// and the caller checks again.
func (s *Server) ProposeV2As(ctx context.Context, user string, authRev uint64, r *pb.Request) (*tree.Event, error) {
	if authRev == 0 {
		return s.ProposeV2(ctx, r)
	}
	if r.Time == 0 {
		r.Time = time.Now().UnixNano()
	}
	return v2Event(s.Propose(ctx, &pb.InternalRaftRequest{Header: &pb.RequestHeader{Username: user, AuthRevision: authRev}, V2: r}))
}

// v2Event is the event a v2 write produced, or its error.
func v2Event(res Result, err error) (*tree.Event, error) {
	if err != nil {
		return nil, err
	}
	if res.Err != nil {
		return nil, res.Err
	}
	ev, _ := res.Resp.(*tree.Event)
	return ev, nil
}

// decodeV2 decodes the payload of a KindV2 envelope.
func decodeV2(payload []byte) (*pb.Request, error) {
	r := &pb.Request{}
	if err := r.Unmarshal(payload); err != nil {
		return nil, fmt.Errorf("%w: bad v2 request: %v", ErrBadEnvelope, err)
	}
	return r, nil
}

// applyV2 applies one v2 request the way etcd's v2 apply does.
func (s *Server) applyV2(r *pb.Request) Result {
	now := time.Unix(0, r.Time)
	ttl := tree.TTLOptions{Refresh: r.Refresh != nil && *r.Refresh}
	if r.Expiration != 0 {
		ttl.ExpireTime = time.Unix(0, r.Expiration)
	}
	var ev *tree.Event
	var err error
	switch r.Method {
	case "POST":
		ev, err = s.v2.Create(r.Path, r.Dir, r.Val, true, ttl, now)
	case "PUT":
		switch {
		case r.PrevExist != nil && *r.PrevExist && r.PrevIndex == 0 && r.PrevValue == "":
			ev, err = s.v2.Update(r.Path, r.Val, ttl, now)
		case r.PrevExist != nil && *r.PrevExist:
			ev, err = s.v2.CompareAndSwap(r.Path, r.PrevValue, r.PrevIndex, r.Val, ttl, now)
		case r.PrevExist != nil:
			ev, err = s.v2.Create(r.Path, r.Dir, r.Val, false, ttl, now)
		case r.PrevIndex > 0 || r.PrevValue != "":
			ev, err = s.v2.CompareAndSwap(r.Path, r.PrevValue, r.PrevIndex, r.Val, ttl, now)
		default:
			ev, err = s.v2.Set(r.Path, r.Dir, r.Val, ttl, now)
		}
	case "DELETE":
		if r.PrevIndex > 0 || r.PrevValue != "" {
			ev, err = s.v2.CompareAndDelete(r.Path, r.PrevValue, r.PrevIndex, now)
		} else {
			ev, err = s.v2.Delete(r.Path, r.Dir, r.Recursive, now)
		}
	case "SYNC":
		s.v2.DeleteExpiredKeys(now)
		return Result{}
	default:
		return Result{Err: fmt.Errorf("cluster: unknown v2 method %q", r.Method)}
	}
	if err != nil {
		return Result{Err: err}
	}
	return Result{Resp: ev}
}

// v2SyncInterval is how often the leader proposes the time, so that v2
// TTLs expire on every member at the same log index (etcd's SYNC).
const v2SyncInterval = 500 * time.Millisecond

// runV2Sync proposes SYNC requests while this member leads and some v2
// node is due to expire.
func (s *Server) runV2Sync() {
	defer s.wg.Done()
	ticker := time.NewTicker(v2SyncInterval)
	defer ticker.Stop()
	for {
		select {
		case <-ticker.C:
		case <-s.stopping:
			return
		}
		if s.Leader() != s.id {
			continue
		}
		now := time.Now()
		next, ok := s.v2.NextExpiration()
		if !ok || next.After(now) {
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), s.RequestTimeout())
		if _, err := s.ProposeV2(ctx, &pb.Request{Method: "SYNC", Time: now.UnixNano()}); err != nil {
			s.logger.Debug("v2 expiry sync failed", "error", err)
		}
		cancel()
	}
}
