package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"go.etcd.io/raft/v3"
	"go.etcd.io/raft/v3/raftpb"
)

// Errors of membership changes. Their texts are etcd's, which its clients
// show; the API layers map them to etcd's wire errors.
var (
	// ErrIDNotFound is returned for a member ID that is not in the cluster.
	ErrIDNotFound = errors.New("etcdserver: member not found")
	// ErrIDRemoved is returned for a member ID that was removed before.
	ErrIDRemoved = errors.New("etcdserver: member was removed")
	// ErrIDExists is returned when adding a member ID that exists.
	ErrIDExists = errors.New("etcdserver: member ID already exist")
	// ErrPeerURLExists is returned when another member has one of the peer URLs.
	ErrPeerURLExists = errors.New("etcdserver: Peer URLs already exists")
	// ErrMemberNotLearner is returned when promoting a voting member.
	ErrMemberNotLearner = errors.New("etcdserver: can only promote a learner member")
	// ErrLearnerNotReady is returned when promoting a learner that has not caught up.
	ErrLearnerNotReady = errors.New("etcdserver: can only promote a learner member which is in sync with leader")
	// ErrTooManyLearners is returned when adding a learner beyond MaxLearners.
	ErrTooManyLearners = errors.New("etcdserver: too many learner members in cluster")
	// ErrNotEnoughStartedMembers is returned for a change that would leave
	// fewer started voting members than a quorum.
	ErrNotEnoughStartedMembers = errors.New("etcdserver: re-configuration failed due to not enough started members")
	// ErrUnhealthy is returned for a change this member cannot judge safe
	// because it is not connected to enough voting members.
	ErrUnhealthy = errors.New("etcdserver: unhealthy cluster")
	// ErrNotLeader is returned for a request only the leader can serve.
	ErrNotLeader = errors.New("etcdserver: not leader")
	// ErrBadLeaderTransferee is returned when moving the leadership to a
	// learner or a member that does not exist.
	ErrBadLeaderTransferee = errors.New("etcdserver: bad leader transferee")
	// ErrLeaderTransferTimeout is returned when the leadership did not move in time.
	ErrLeaderTransferTimeout = errors.New("etcdserver: request timed out, leader transfer took too long")
	// ErrRemoved is reported on Fatal when this member was removed from the cluster.
	ErrRemoved = errors.New("the member has been permanently removed from the cluster")
	// ErrNoPeerTLS is returned when dialing a member whose peer URL is
	// https:// while this member has no peer TLS configured.
	ErrNoPeerTLS = errors.New("cluster: peer URL is https but this member has no peer TLS (--peer-cert-file, --peer-key-file or --peer-auto-tls)")
)

// confChangeContext is what a configuration change entry carries about its
// member. Its JSON is a Member's with one more field, so entries written
// before promotions existed still decode.
type confChangeContext struct {
	Member
	IsPromote bool `json:"isPromote,omitempty"`
}

// readyPercent is how far, as a share of the leader's log, a learner must
// have caught up before it may be promoted (etcd's rule).
const readyPercent = 0.9

// AddMember adds a member with peerURLs to the cluster, as a learner if
// isLearner, and returns it with the membership after the change.
func (s *Server) AddMember(ctx context.Context, peerURLs []string, isLearner bool) (Member, []Member, error) {
	if len(peerURLs) == 0 {
		return Member{}, nil, errors.New("cluster: member peer urls not provided")
	}
	if err := s.mayAddMember(isLearner); err != nil {
		return Member{}, nil, err
	}
	m := Member{PeerURLs: slices.Clone(peerURLs), IsLearner: isLearner}
	// etcd adds the time to the hash, so a member re-added with the same
	// URLs gets a new ID.
	now := time.Now()
	for {
		m.ID = ComputeMemberID(peerURLs, strconv.FormatInt(now.Unix(), 10))
		if s.member(m.ID) == nil && !s.isRemoved(m.ID) {
			break
		}
		now = now.Add(time.Second)
	}
	typ := raftpb.ConfChangeAddNode
	if isLearner {
		typ = raftpb.ConfChangeAddLearnerNode
	}
	members, err := s.proposeConfChange(ctx, typ, confChangeContext{Member: m})
	return m, members, err
}

// RemoveMember removes the member id and returns the membership after.
func (s *Server) RemoveMember(ctx context.Context, id MemberID) ([]Member, error) {
	if err := s.mayRemoveMember(id); err != nil {
		return nil, err
	}
	return s.proposeConfChange(ctx, raftpb.ConfChangeRemoveNode, confChangeContext{Member: Member{ID: id}})
}

// UpdateMember changes the peer URLs of member id.
func (s *Server) UpdateMember(ctx context.Context, id MemberID, peerURLs []string) ([]Member, error) {
	if len(peerURLs) == 0 {
		return nil, errors.New("cluster: member peer urls not provided")
	}
	m := Member{ID: id, PeerURLs: slices.Clone(peerURLs)}
	if old := s.member(id); old != nil {
		m.Name, m.ClientURLs, m.IsLearner = old.Name, old.ClientURLs, old.IsLearner
	}
	return s.proposeConfChange(ctx, raftpb.ConfChangeUpdateNode, confChangeContext{Member: m})
}

// PromoteMember makes the learner id a voting member, once it has caught
// up with the leader. A follower forwards the request to the leader.
func (s *Server) PromoteMember(ctx context.Context, id MemberID) ([]Member, error) {
	members, err := s.promoteAsLeader(ctx, id)
	if !errors.Is(err, ErrNotLeader) {
		return members, err
	}
	return s.forwardPromote(ctx, id)
}

func (s *Server) promoteAsLeader(ctx context.Context, id MemberID) ([]Member, error) {
	if err := s.learnerReady(id); err != nil {
		return nil, err
	}
	if err := s.mayPromoteMember(); err != nil {
		return nil, err
	}
	m := s.member(id)
	if m == nil {
		return nil, ErrIDNotFound
	}
	promoted := m.Clone()
	promoted.IsLearner = false
	return s.proposeConfChange(ctx, raftpb.ConfChangeAddNode, confChangeContext{Member: promoted, IsPromote: true})
}

// learnerReady checks, on the leader, that id has replicated most of the log.
func (s *Server) learnerReady(id MemberID) error {
	var st raft.Status
	if err := s.withRaft(func(rn *raft.RawNode) { st = rn.Status() }); err != nil {
		return err
	}
	if st.RaftState != raft.StateLeader {
		return ErrNotLeader
	}
	pr, ok := st.Progress[uint64(id)]
	if !ok {
		return ErrIDNotFound
	}
	leader := st.Progress[st.ID]
	if leader.Match > 0 && float64(pr.Match)/float64(leader.Match) < readyPercent {
		s.logger.Warn("rejecting promote learner: learner is not ready", "learner-ready-percent", float64(pr.Match)/float64(leader.Match), "ready-percent-threshold", readyPercent)
		return ErrLearnerNotReady
	}
	return nil
}

// votersLocked returns the voting members. Hold membersMu.
func (s *Server) votersLocked() []*Member {
	var out []*Member
	for _, m := range s.members {
		if !m.IsLearner {
			out = append(out, m)
		}
	}
	return out
}

func (s *Server) mayAddMember(isLearner bool) error {
	if s.cfg.SkipReconfigChecks {
		return nil
	}
	s.membersMu.RLock()
	voters := s.votersLocked()
	s.membersMu.RUnlock()
	if !isLearner {
		started := 0
		for _, m := range voters {
			if m.Name != "" {
				started++
			}
		}
		total := len(voters) + 1
		// Growing a single member to two is allowed: it is how every
		// cluster grows from one.
		if !(started == 1 && total == 2) && started < total/2+1 {
			s.logger.Warn("rejecting member add request; not enough healthy members", "started", started, "members-after", total)
			return ErrNotEnoughStartedMembers
		}
	}
	since := time.Now().Add(-s.cfg.HealthInterval)
	for _, m := range voters {
		if m.ID == s.id {
			continue
		}
		if at := s.transport.ActiveSince(uint64(m.ID)); at.IsZero() || at.After(since) {
			s.logger.Warn("rejecting member add request; local member has not been connected to all peers, reconfigure breaks active quorum", "peer", m.ID.String())
			return ErrUnhealthy
		}
	}
	return nil
}

func (s *Server) mayRemoveMember(id MemberID) error {
	if s.cfg.SkipReconfigChecks {
		return nil
	}
	s.membersMu.RLock()
	target, ok := s.members[id]
	voters := s.votersLocked()
	s.membersMu.RUnlock()
	if !ok || target.IsLearner {
		// An unknown ID is refused when the change is applied.
		return nil
	}
	started, others := 0, 0
	for _, m := range voters {
		if m.ID == id {
			continue
		}
		others++
		if m.Name != "" {
			started++
		}
	}
	if started < others/2+1 {
		return ErrNotEnoughStartedMembers
	}
	if id != s.id && s.transport.ActiveSince(uint64(id)).IsZero() {
		// A member that is down is safe to remove.
		return nil
	}
	since := time.Now().Add(-s.cfg.HealthInterval)
	active := 0
	for _, m := range voters {
		if m.ID == s.id {
			active++
			continue
		}
		if at := s.transport.ActiveSince(uint64(m.ID)); !at.IsZero() && !at.After(since) {
			active++
		}
	}
	if active-1 < 1+(len(voters)-1)/2 {
		s.logger.Warn("rejecting member remove request; local member has not been connected to all peers, reconfigure breaks active quorum", "active-peers", active)
		return ErrUnhealthy
	}
	return nil
}

func (s *Server) mayPromoteMember() error {
	if s.cfg.SkipReconfigChecks {
		return nil
	}
	s.membersMu.RLock()
	voters := s.votersLocked()
	s.membersMu.RUnlock()
	started := 1
	for _, m := range voters {
		if m.Name != "" {
			started++
		}
	}
	total := len(voters) + 1
	if started < total/2+1 {
		return ErrNotEnoughStartedMembers
	}
	return nil
}

// proposeConfChange replicates one configuration change and returns the
// membership after it was applied, or why it was refused.
func (s *Server) proposeConfChange(ctx context.Context, typ raftpb.ConfChangeType, c confChangeContext) ([]Member, error) {
	// Raft takes one configuration change at a time and turns a second one
	// into an empty entry, whose proposer would wait in vain. Changes made
	// through this member queue here instead; those made through two
	// members at once can still meet that fate, as they can in etcd.
	select {
	case s.confChangeSem <- struct{}{}:
		defer func() { <-s.confChangeSem }()
	case <-ctx.Done():
		return nil, s.contextError(ctx, ctx.Err())
	case <-s.stopping:
		return nil, ErrStopped
	}
	data, err := json.Marshal(c)
	if err != nil {
		return nil, err
	}
	cc := raftpb.ConfChange{ID: s.reqIDs.next(), Type: typ, NodeID: uint64(c.ID), Context: data}
	ch := s.waiters.register(cc.ID)
	var retry <-chan time.Time
	for {
		var perr error
		if err := s.withRaft(func(rn *raft.RawNode) { perr = rn.ProposeConfChange(cc) }); err != nil {
			s.waiters.cancel(cc.ID)
			return nil, err
		}
		if perr == nil {
			break
		}
		// No leader to take it yet: wait as a normal proposal would.
		retry = time.After(s.cfg.TickInterval)
		select {
		case <-retry:
		case <-ctx.Done():
			s.waiters.cancel(cc.ID)
			return nil, s.contextError(ctx, ctx.Err())
		case <-s.stopping:
			s.waiters.cancel(cc.ID)
			return nil, ErrStopped
		}
	}
	select {
	case o := <-ch:
		if o.err != nil {
			return nil, o.err
		}
		if o.res.Err != nil {
			return nil, o.res.Err
		}
		members, _ := o.res.Resp.([]Member)
		return members, nil
	case <-ctx.Done():
		s.waiters.cancel(cc.ID)
		return nil, s.contextError(ctx, ctx.Err())
	case <-s.stopping:
		return nil, ErrStopped
	}
}

// validateConfChangeLocked checks a committed change against the
// membership, as every member does at the same index. Hold membersMu.
func (s *Server) validateConfChangeLocked(cc raftpb.ConfChange, c confChangeContext) error {
	id := MemberID(cc.NodeID)
	if s.removed[id] {
		return ErrIDRemoved
	}
	existing, exists := s.members[id]
	urlTaken := func() bool {
		for _, m := range s.members {
			if m.ID == id {
				continue
			}
			for _, u := range c.PeerURLs {
				if slices.Contains(m.PeerURLs, u) {
					return true
				}
			}
		}
		return false
	}
	switch cc.Type {
	case raftpb.ConfChangeAddNode:
		if c.IsPromote {
			if !exists {
				return ErrIDNotFound
			}
			if !existing.IsLearner {
				return ErrMemberNotLearner
			}
			return nil
		}
		if exists {
			return ErrIDExists
		}
		if urlTaken() {
			return ErrPeerURLExists
		}
	case raftpb.ConfChangeAddLearnerNode:
		if exists {
			return ErrIDExists
		}
		if urlTaken() {
			return ErrPeerURLExists
		}
		learners := 0
		for _, m := range s.members {
			if m.IsLearner {
				learners++
			}
		}
		if learners+1 > s.cfg.MaxLearners {
			return ErrTooManyLearners
		}
	case raftpb.ConfChangeRemoveNode:
		if !exists {
			return ErrIDNotFound
		}
		// Raft cannot run without a voter: it would stop every member, on
		// every replay of this entry. The checks before proposing do not
		// see two removals proposed through two members at once.
		if !existing.IsLearner && len(s.votersLocked()) == 1 {
			return ErrNotEnoughStartedMembers
		}
	case raftpb.ConfChangeUpdateNode:
		if !exists {
			return ErrIDNotFound
		}
		if urlTaken() {
			return ErrPeerURLExists
		}
	default:
		return fmt.Errorf("cluster: unknown configuration change %v", cc.Type)
	}
	return nil
}

// applyConfChange applies one committed configuration change: to Raft,
// to the membership and to the transport, and answers its proposer.
func (s *Server) applyConfChange(cc raftpb.ConfChange, index uint64) error {
	var c confChangeContext
	if cc.Type != raftpb.ConfChangeRemoveNode || len(cc.Context) > 0 {
		if err := json.Unmarshal(cc.Context, &c); err != nil {
			return fmt.Errorf("cluster: conf change at %d for %x: bad member context: %w", index, cc.NodeID, err)
		}
	}
	if cc.Type != raftpb.ConfChangeRemoveNode && uint64(c.ID) != cc.NodeID {
		return fmt.Errorf("cluster: conf change at %d names %x but its context names %x", index, cc.NodeID, uint64(c.ID))
	}
	s.membersMu.RLock()
	verr := s.validateConfChangeLocked(cc, c)
	s.membersMu.RUnlock()
	if verr != nil {
		// Every member refuses it the same way; Raft must still see the
		// entry as applied, as a change to nobody.
		s.logger.Warn("validation on configuration change failed", "index", index, "change", cc.Type.String(), "member-id", MemberID(cc.NodeID).String(), "error", verr)
		cc.NodeID = raft.None
	}
	var cs *raftpb.ConfState
	if err := s.withRaft(func(rn *raft.RawNode) { cs = rn.ApplyConfChange(cc) }); err != nil {
		return err
	}
	s.membersMu.Lock()
	s.confState = *cs
	id := MemberID(cc.NodeID)
	if verr == nil {
		switch cc.Type {
		case raftpb.ConfChangeAddNode, raftpb.ConfChangeAddLearnerNode:
			if m, ok := s.members[id]; ok && c.IsPromote {
				m.IsLearner = false
			} else {
				m := c.Member.Clone()
				m.IsLearner = cc.Type == raftpb.ConfChangeAddLearnerNode
				s.members[id] = &m
			}
		case raftpb.ConfChangeRemoveNode:
			delete(s.members, id)
			s.removed[id] = true
		case raftpb.ConfChangeUpdateNode:
			s.members[id].PeerURLs = slices.Clone(c.PeerURLs)
		}
		if cc.Type == raftpb.ConfChangeRemoveNode {
			s.v2.AdvanceIndex(v2IndexPerRemoval)
		} else {
			s.v2.AdvanceIndex(v2IndexPerMemberChange)
		}
		s.membersChangedLocked()
	}
	s.membersMu.Unlock()
	members := s.Members()
	if verr == nil {
		s.logger.Info("applied configuration change", "index", index, "change", cc.Type.String(), "member-id", id.String(), "members", len(members))
		if s.transport != nil {
			switch cc.Type {
			case raftpb.ConfChangeRemoveNode:
				s.transport.RemovePeer(uint64(id))
			default:
				s.transport.AddPeer(uint64(id), s.member(id).PeerURLs)
			}
		}
		if cc.Type == raftpb.ConfChangeRemoveNode && id == s.id {
			// Give the change time to reach the others before this member
			// goes: as the leader, it may be the only one that knows it is
			// committed, and it keeps heartbeating (and so passing the
			// commit on) until then.
			s.logger.Warn("this member was removed from the cluster; stopping soon")
			// Called from the apply loop, which wg counts: Add cannot race
			// with Stop's Wait reaching zero.
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				select {
				case <-time.After(10 * s.cfg.TickInterval):
					s.fail(ErrRemoved)
				case <-s.stopping:
				}
			}()
		}
	}
	s.waiters.trigger(cc.ID, outcome{res: Result{Resp: members, Err: verr}})
	return nil
}

// member returns a copy of the member id, nil if there is none.
func (s *Server) member(id MemberID) *Member {
	s.membersMu.RLock()
	defer s.membersMu.RUnlock()
	m, ok := s.members[id]
	if !ok {
		return nil
	}
	c := m.Clone()
	return &c
}

func (s *Server) isRemoved(id MemberID) bool {
	s.membersMu.RLock()
	defer s.membersMu.RUnlock()
	return s.removed[id]
}

// IsLearner reports whether this member is a learner. It is on every
// request's path, so it reads an atomic kept up to date by the apply loop.
func (s *Server) IsLearner() bool { return s.isLearner.Load() }

// membersChangedLocked refreshes what is derived from the membership.
// Hold membersMu.
func (s *Server) membersChangedLocked() {
	m, ok := s.members[s.id]
	s.isLearner.Store(ok && m.IsLearner)
}

// PeerActiveSince returns since when this member's stream to the peer id
// has been up, zero if it is down: membership changes count a peer as
// connected only after HealthInterval.
func (s *Server) PeerActiveSince(id MemberID) time.Time {
	return s.transport.ActiveSince(uint64(id))
}

// HealthInterval is how long a peer must have been connected to count.
func (s *Server) HealthInterval() time.Duration { return s.cfg.HealthInterval }

// IsRemoved reports whether id was removed from the cluster.
func (s *Server) IsRemoved(id MemberID) bool { return s.isRemoved(id) }

// MoveLeader hands the leadership to target and waits until it has it.
// Only the leader can do it.
func (s *Server) MoveLeader(ctx context.Context, target MemberID) error {
	if s.Leader() != s.id {
		return ErrNotLeader
	}
	m := s.member(target)
	if m == nil || m.IsLearner {
		return ErrBadLeaderTransferee
	}
	if target == s.id {
		return nil
	}
	s.logger.Info("leadership transfer starting", "from", s.id.String(), "to", target.String())
	if err := s.withRaft(func(rn *raft.RawNode) { rn.TransferLeader(uint64(target)) }); err != nil {
		return err
	}
	ticker := time.NewTicker(s.cfg.TickInterval)
	defer ticker.Stop()
	for s.Leader() != target {
		select {
		case <-ticker.C:
		case <-ctx.Done():
			return ErrLeaderTransferTimeout
		case <-s.stopping:
			return ErrStopped
		}
	}
	s.logger.Info("leadership transfer finished", "from", s.id.String(), "to", target.String())
	return nil
}
