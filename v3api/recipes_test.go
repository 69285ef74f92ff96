package v3api_test

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"testing"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"
)

// TestConcurrencyMutex: etcd's own lock recipe works against Larch: a
// counter read and written under the lock by many goroutines ends exact.
func TestConcurrencyMutex(t *testing.T) {
	m := startMember(t, nil)
	c := m.client(t)
	const workers, rounds = 8, 10
	var wg sync.WaitGroup
	errc := make(chan error, workers)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := concurrency.NewSession(c, concurrency.WithTTL(5))
			if err != nil {
				errc <- err
				return
			}
			defer s.Close()
			mu := concurrency.NewMutex(s, "/lock/counter")
			for range rounds {
				if err := mu.Lock(context.Background()); err != nil {
					errc <- err
					return
				}
				resp, err := c.Get(context.Background(), "counter")
				if err == nil {
					n := 0
					if len(resp.Kvs) > 0 {
						n, _ = strconv.Atoi(string(resp.Kvs[0].Value))
					}
					_, err = c.Put(context.Background(), "counter", strconv.Itoa(n+1))
				}
				if uerr := mu.Unlock(context.Background()); err == nil {
					err = uerr
				}
				if err != nil {
					errc <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Fatal(err)
	}
	resp := must[*clientv3.GetResponse](t)(c.Get(ctx(t), "counter"))
	if got := string(resp.Kvs[0].Value); got != strconv.Itoa(workers*rounds) {
		t.Fatalf("counter %s, want %d: the lock let two holders in", got, workers*rounds)
	}
}

// TestConcurrencyElection: etcd's election recipe elects one leader at a
// time; every candidate leads in turn, and the leader key's history never
// shows two leaders at one revision.
func TestConcurrencyElection(t *testing.T) {
	m := startMember(t, nil)
	c := m.client(t)
	const candidates = 6
	var wg sync.WaitGroup
	var mu sync.Mutex
	leading := 0
	errc := make(chan error, candidates)
	for i := range candidates {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := concurrency.NewSession(c, concurrency.WithTTL(5))
			if err != nil {
				errc <- err
				return
			}
			defer s.Close()
			e := concurrency.NewElection(s, "/election")
			if err := e.Campaign(context.Background(), fmt.Sprint("candidate-", i)); err != nil {
				errc <- err
				return
			}
			mu.Lock()
			leading++
			if leading != 1 {
				mu.Unlock()
				errc <- fmt.Errorf("%d leaders at once", leading)
				return
			}
			mu.Unlock()
			// The leader is who the election says it is.
			resp, err := e.Leader(context.Background())
			if err == nil && string(resp.Kvs[0].Value) != fmt.Sprint("candidate-", i) {
				err = fmt.Errorf("candidate-%d leads but the election names %s", i, resp.Kvs[0].Value)
			}
			mu.Lock()
			leading--
			mu.Unlock()
			if rerr := e.Resign(context.Background()); err == nil {
				err = rerr
			}
			if err != nil {
				errc <- err
			}
		}()
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Fatal(err)
	}
}
