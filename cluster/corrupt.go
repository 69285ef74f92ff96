package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"

	"github.com/larchkv/larch/tree/mvcc"
)

// Corruption checks compare the keyspace's HashKV across members at one
// revision, as etcd's --experimental-initial-corrupt-check and
// --experimental-corrupt-check-time do. Members that applied the same log
// hold the same keyspace, so the same hash at the same revision and
// compaction; a difference means one of them diverged (a bad disk, a bug).

// hashKVPath is the peer endpoint answering a member's HashKV at ?rev=.
const hashKVPath = "/larch/hashkv"

// ErrCorruptPeers is returned by CheckInitialHashKV when this member's
// keyspace differs from a peer's at the same revision.
var ErrCorruptPeers = errors.New("cluster: found data inconsistency with peers")

type peerHash struct {
	Hash       uint32 `json:"hash"`
	Revision   int64  `json:"revision"`
	CompactRev int64  `json:"compactRevision"`
	// CurrentRev is the peer's revision when it answered.
	CurrentRev int64 `json:"currentRevision"`
	// FutureRev is set when the peer has not reached the revision yet.
	FutureRev bool `json:"futureRevision,omitempty"`
}

func (s *Server) serveHashKV(w http.ResponseWriter, r *http.Request) {
	rev, err := strconv.ParseInt(r.URL.Query().Get("rev"), 10, 64)
	if err != nil {
		http.Error(w, "bad rev", http.StatusBadRequest)
		return
	}
	out := peerHash{CurrentRev: s.kv.Rev()}
	hash, hashRev, compactRev, err := s.kv.HashKV(rev)
	switch {
	case errors.Is(err, mvcc.ErrFutureRev):
		out.FutureRev = true
	case err != nil:
		http.Error(w, err.Error(), http.StatusConflict)
		return
	default:
		out.Hash, out.Revision, out.CompactRev = hash, hashRev, compactRev
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(out)
}

// peerHashes asks every other member for its HashKV at rev; members that
// do not answer or cannot hash that revision are left out.
func (s *Server) peerHashes(ctx context.Context, rev int64) map[MemberID]peerHash {
	client := s.peerHTTPClient()
	defer client.CloseIdleConnections()
	out := map[MemberID]peerHash{}
	for _, m := range s.Members() {
		if m.ID == s.id {
			continue
		}
		for _, u := range m.PeerURLs {
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf("%s%s?rev=%d", u, hashKVPath, rev), nil)
			if err != nil {
				continue
			}
			resp, err := client.Do(req)
			if err != nil {
				continue
			}
			var h peerHash
			err = json.NewDecoder(resp.Body).Decode(&h)
			resp.Body.Close()
			if err == nil && resp.StatusCode == http.StatusOK && !h.FutureRev {
				out[m.ID] = h
			}
			break
		}
	}
	return out
}

// CheckInitialHashKV compares this member's keyspace with its peers' at
// its own revision before it serves clients
// (--experimental-initial-corrupt-check): a peer at that revision and
// compaction with another hash stops this member from starting.
func (s *Server) CheckInitialHashKV(ctx context.Context) error {
	hash, rev, compactRev, err := s.kv.HashKV(0)
	if err != nil {
		return err
	}
	for id, h := range s.peerHashes(ctx, rev) {
		if h.CompactRev == compactRev && h.Hash != hash {
			return fmt.Errorf("%w: local member %s has hash %d at revision %d, peer %s has %d", ErrCorruptPeers, s.id, hash, rev, id, h.Hash)
		}
	}
	s.logger.Info("initial corruption checking passed; no corruption", "member-id", s.id.String(), "revision", rev)
	return nil
}

// runCorruptCheck is the periodic check (--experimental-corrupt-check-time),
// etcd's: the leader hashes its keyspace, asks every follower for its hash
// at that revision, waits until it has applied everything committed, and
// hashes again. It raises CORRUPT for itself if its own hash changed at the
// same revision, and for a follower ahead of it (in revision or compaction)
// or with another hash at the same compaction; one alarm per pass.
func (s *Server) runCorruptCheck() {
	defer s.wg.Done()
	if s.cfg.CorruptCheckTime <= 0 {
		return
	}
	// Requests to peers end when the member stops, not only at their timeout.
	life, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-s.stopping:
			cancel()
		case <-life.Done():
		}
	}()
	for s.wait(s.cfg.CorruptCheckTime) {
		if s.Leader() != s.id || s.HasAlarm(pb.AlarmType_CORRUPT) {
			continue
		}
		ctx, cancel := context.WithTimeout(life, s.RequestTimeout())
		s.checkPeersOnce(ctx)
		cancel()
	}
}

func (s *Server) checkPeersOnce(ctx context.Context) {
	hash1, rev1, compact1, err := s.kv.HashKV(0)
	if err != nil {
		return
	}
	peers := s.peerHashes(ctx, rev1)
	if err := s.LinearizableReadNotify(ctx); err != nil {
		return
	}
	hash2, rev2, compact2, err := s.kv.HashKV(0)
	if err != nil {
		return
	}
	alarmed := false
	raise := func(id MemberID, why string, args ...any) {
		if alarmed {
			return
		}
		alarmed = true
		s.logger.Error("found data inconsistency", append([]any{"reason", why, "member-id", id.String()}, args...)...)
		if _, err := s.Alarm(ctx, &pb.AlarmRequest{Action: pb.AlarmRequest_ACTIVATE, MemberID: uint64(id), Alarm: pb.AlarmType_CORRUPT}); err != nil {
			s.logger.Warn("raising the CORRUPT alarm", "member-id", id.String(), "error", err)
		}
	}
	if hash2 != hash1 && rev2 == rev1 && compact2 == compact1 {
		raise(s.id, "the leader's hash changed at one revision", "revision", rev1, "hash-1", hash1, "hash-2", hash2)
	}
	for id, p := range peers {
		switch {
		case p.CurrentRev > rev2:
			raise(id, "a follower's revision is ahead of the leader's", "leader-revision", rev2, "follower-revision", p.CurrentRev)
		case p.CompactRev > compact2:
			raise(id, "a follower's compaction is ahead of the leader's", "leader-compact-revision", compact2, "follower-compact-revision", p.CompactRev)
		case p.CompactRev == compact1 && p.Hash != hash1:
			raise(id, "another hash at the same compaction", "revision", rev1, "leader-hash", hash1, "follower-hash", p.Hash)
		}
	}
}

// DefaultCorruptCheckTimeout bounds the initial check.
const DefaultCorruptCheckTimeout = 5 * time.Second
