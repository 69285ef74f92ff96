package main

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// benchKeepAlive measures lease keep-alive throughput: o.clients streams,
// over o.conns connections, each renewing its own lease in a loop,
// o.total renewals in all.
func benchKeepAlive(o options, endpoints []string) error {
	clients, closeClients, err := newClients(o.conns, endpoints)
	if err != nil {
		return err
	}
	defer closeClients()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ids := make([]clientv3.LeaseID, o.clients)
	for i := range ids {
		gctx, gcancel := context.WithTimeout(ctx, requestTimeout)
		g, err := clients[i%o.conns].Grant(gctx, 600)
		gcancel()
		if err != nil {
			return err
		}
		ids[i] = g.ID
	}
	var left atomic.Int64
	left.Store(int64(o.total))
	lat := make([][]time.Duration, o.clients)
	errc := make(chan error, o.clients)
	var wg sync.WaitGroup
	start := time.Now()
	for i := range o.clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			stream, err := pb.NewLeaseClient(clients[i%o.conns].ActiveConnection()).LeaseKeepAlive(ctx)
			if err != nil {
				errc <- err
				return
			}
			for left.Add(-1) >= 0 {
				t := time.Now()
				if err := stream.Send(&pb.LeaseKeepAliveRequest{ID: int64(ids[i])}); err != nil {
					errc <- err
					return
				}
				resp, err := stream.Recv()
				if err != nil {
					errc <- err
					return
				}
				if resp.TTL <= 0 {
					errc <- fmt.Errorf("keep-alive of lease %x answered TTL %d", ids[i], resp.TTL)
					return
				}
				lat[i] = append(lat[i], time.Since(t))
			}
			_ = stream.CloseSend()
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	close(errc)
	if err := <-errc; err != nil {
		return err
	}
	var all []time.Duration
	for _, l := range lat {
		all = append(all, l...)
	}
	report(fmt.Sprintf("keepalive clients=%d conns=%d", o.clients, o.conns), len(all), elapsed, all)
	return nil
}
