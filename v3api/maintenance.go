package v3api

import (
	"context"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
)

type maintenanceServer struct {
	pb.UnimplementedMaintenanceServer
	s *Server
}

func (m *maintenanceServer) Status(ctx context.Context, r *pb.StatusRequest) (*pb.StatusResponse, error) {
	member := m.s.member
	// The keyspace lives in memory: what it holds is both the size and the size in use.
	dbSize := member.KV().Size()
	resp := &pb.StatusResponse{
		Header:           &pb.ResponseHeader{},
		Version:          ServerVersion,
		DbSize:           dbSize,
		DbSizeInUse:      dbSize,
		Leader:           uint64(member.Leader()),
		RaftIndex:        member.CommittedIndex(),
		RaftTerm:         member.Term(),
		RaftAppliedIndex: member.AppliedIndex(),
		StorageVersion:   StorageVersion,
		DbSizeQuota:      m.s.cfg.QuotaBackendBytes,
		DowngradeInfo:    &pb.DowngradeInfo{},
	}
	if resp.Leader == 0 {
		resp.Errors = append(resp.Errors, rpctypes.ErrGRPCNoLeader.Error())
	}
	m.s.fillHeader(resp.Header)
	return resp, nil
}

func (m *maintenanceServer) Hash(ctx context.Context, r *pb.HashRequest) (*pb.HashResponse, error) {
	resp := &pb.HashResponse{Header: &pb.ResponseHeader{}, Hash: m.s.member.KV().Hash()}
	m.s.fillHeader(resp.Header)
	return resp, nil
}

func (m *maintenanceServer) HashKV(ctx context.Context, r *pb.HashKVRequest) (*pb.HashKVResponse, error) {
	hash, hashRev, compactRev, err := m.s.member.KV().HashKV(r.Revision)
	if err != nil {
		return nil, togRPCError(err)
	}
	resp := &pb.HashKVResponse{Header: &pb.ResponseHeader{}, Hash: hash, HashRevision: hashRev, CompactRevision: compactRev}
	m.s.fillHeader(resp.Header)
	return resp, nil
}

type clusterServer struct {
	pb.UnimplementedClusterServer
	s *Server
}

func (c *clusterServer) MemberList(ctx context.Context, r *pb.MemberListRequest) (*pb.MemberListResponse, error) {
	if r.Linearizable {
		if err := c.s.member.LinearizableReadNotify(ctx); err != nil {
			return nil, togRPCError(err)
		}
	}
	members := c.s.member.Members()
	resp := &pb.MemberListResponse{Header: &pb.ResponseHeader{}, Members: make([]*pb.Member, len(members))}
	for i, m := range members {
		resp.Members[i] = &pb.Member{ID: uint64(m.ID), Name: m.Name, PeerURLs: m.PeerURLs, ClientURLs: m.ClientURLs, IsLearner: m.IsLearner}
	}
	c.s.fillHeader(resp.Header)
	// Membership has no keyspace revision; etcd leaves it out.
	resp.Header.Revision = 0
	return resp, nil
}
