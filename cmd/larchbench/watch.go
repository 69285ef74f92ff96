package main

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// benchWatch measures watch fan-out: o.watchers watchers of one key, spread
// over o.conns connections and 100 streams, and o.total/100 puts of that
// key; the figure is the events delivered per second, from the first put
// until every watcher has every event.
func benchWatch(o options, endpoints []string) error {
	clients, closeClients, err := newClients(o.conns, endpoints)
	if err != nil {
		return err
	}
	defer closeClients()
	const streams = 100
	puts := max(o.total/100, 1)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	key := fmt.Sprintf("watch-bench-%d", time.Now().UnixNano())
	var received atomic.Int64
	want := int64(o.watchers) * int64(puts)
	done := make(chan struct{})
	var once sync.Once
	var wg sync.WaitGroup
	for i := range o.watchers {
		// Watchers with the same context share a stream in etcd's client.
		sctx := clientv3.WithRequireLeader(context.WithValue(ctx, streamKey{}, i%streams))
		wch := clients[i%o.conns].Watch(sctx, key)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for resp := range wch {
				if received.Add(int64(len(resp.Events))) == want {
					once.Do(func() { close(done) })
				}
			}
		}()
	}
	// Every watcher is registered once a progress request answers on each
	// client (they are created asynchronously).
	for _, c := range clients {
		if err := c.RequestProgress(ctx); err != nil {
			return err
		}
	}
	start := time.Now()
	for i := range puts {
		pctx, pcancel := context.WithTimeout(ctx, requestTimeout)
		_, err := clients[0].Put(pctx, key, fmt.Sprint(i))
		pcancel()
		if err != nil {
			return err
		}
	}
	select {
	case <-done:
	case <-time.After(2 * time.Minute):
		return fmt.Errorf("watch: %d of %d events delivered", received.Load(), want)
	}
	elapsed := time.Since(start)
	fmt.Printf("%-9s watchers=%d streams=%d puts=%d %17.0f events/s  all delivered in %v\n",
		"watch", o.watchers, streams, puts, float64(want)/elapsed.Seconds(), elapsed.Round(time.Millisecond))
	cancel()
	wg.Wait()
	return nil
}

type streamKey struct{}
