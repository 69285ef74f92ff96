package v3api

import (
	"context"
	"errors"
	"io"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"

	"github.com/larchkv/larch/auth"
	"github.com/larchkv/larch/cluster"
	"github.com/larchkv/larch/tree/lease"
)

type leaseServer struct {
	pb.UnimplementedLeaseServer
	s *Server
}

func (l *leaseServer) LeaseGrant(ctx context.Context, r *pb.LeaseGrantRequest) (*pb.LeaseGrantResponse, error) {
	if err := l.s.checkQuota(ctx, cluster.LeaseGrantCost); err != nil {
		return nil, err
	}
	if r.TTL > lease.MaxTTL {
		return nil, rpctypes.ErrGRPCLeaseTTLTooLarge
	}
	member := l.s.member
	req := &pb.LeaseGrantRequest{ID: r.ID, TTL: max(r.TTL, member.MinLeaseTTL())}
	if req.ID == 0 {
		req.ID = member.NewLeaseID()
	}
	resp, err := propose[*pb.LeaseGrantResponse](ctx, l.s, &pb.InternalRaftRequest{LeaseGrant: req})
	if err != nil {
		return nil, err
	}
	l.s.fillHeader(resp.Header)
	return resp, nil
}

func (l *leaseServer) LeaseRevoke(ctx context.Context, r *pb.LeaseRevokeRequest) (*pb.LeaseRevokeResponse, error) {
	resp, err := propose[*pb.LeaseRevokeResponse](ctx, l.s, &pb.InternalRaftRequest{LeaseRevoke: &pb.LeaseRevokeRequest{ID: r.ID}})
	if err != nil {
		return nil, err
	}
	l.s.fillHeader(resp.Header)
	return resp, nil
}

func (l *leaseServer) LeaseTimeToLive(ctx context.Context, r *pb.LeaseTimeToLiveRequest) (*pb.LeaseTimeToLiveResponse, error) {
	ctx, cancel := context.WithTimeout(ctx, l.s.member.RequestTimeout())
	defer cancel()
	ttl, err := l.s.member.LeaseTimeToLive(ctx, r.ID)
	if err != nil {
		return nil, togRPCError(err)
	}
	resp := &pb.LeaseTimeToLiveResponse{Header: &pb.ResponseHeader{}, ID: r.ID, TTL: ttl.TTL, GrantedTTL: ttl.GrantedTTL}
	if r.Keys {
		// The keys are shown only to whom may read them all; with auth on
		// someone must ask, even of a lease without keys (etcd's rule).
		c, err := l.s.callerOf(ctx)
		if err != nil {
			return nil, togRPCError(err)
		}
		st := l.s.member.Auth()
		if st.Enabled() && c.user == "" {
			return nil, rpctypes.ErrGRPCUserEmpty
		}
		for _, k := range ttl.Keys {
			if err := st.Check(c.user, c.rev, []byte(k), nil, auth.Read); err != nil {
				return nil, togRPCError(err)
			}
			resp.Keys = append(resp.Keys, []byte(k))
		}
	}
	l.s.fillHeader(resp.Header)
	return resp, nil
}

func (l *leaseServer) LeaseLeases(ctx context.Context, r *pb.LeaseLeasesRequest) (*pb.LeaseLeasesResponse, error) {
	resp := &pb.LeaseLeasesResponse{Header: &pb.ResponseHeader{}}
	for _, id := range l.s.member.LeaseIDs() {
		resp.Leases = append(resp.Leases, &pb.LeaseStatus{ID: int64(id)})
	}
	l.s.fillHeader(resp.Header)
	return resp, nil
}

// LeaseKeepAlive renews leases for as long as the client sends requests;
// each gets the lease's TTL back, 0 for a lease that does not exist.
func (l *leaseServer) LeaseKeepAlive(stream pb.Lease_LeaseKeepAliveServer) error {
	for {
		req, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		ctx, cancel := context.WithTimeout(stream.Context(), l.s.member.RequestTimeout())
		ttl, err := l.s.member.LeaseKeepAlive(ctx, req.ID)
		cancel()
		if err != nil {
			return togRPCError(err)
		}
		resp := &pb.LeaseKeepAliveResponse{Header: &pb.ResponseHeader{}, ID: req.ID, TTL: ttl}
		l.s.fillHeader(resp.Header)
		if err := stream.Send(resp); err != nil {
			return err
		}
	}
}
