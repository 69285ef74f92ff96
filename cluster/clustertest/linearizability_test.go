package clustertest

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/larchkv/larch/cluster"
)

// kvInput is one client operation on a single key.
type kvInput struct {
	op    string // "get", "put" or "cas"
	key   string
	value string // put: the value; cas: the new value
	prev  string // cas: the expected value ("" = absent)
}

// kvOutput is what the client saw. unknown marks a write whose outcome the
// client never learned: it may or may not have happened.
type kvOutput struct {
	value   string // get: the value read
	ok      bool   // cas: whether it swapped
	unknown bool
}

// registerModel is a key-value map seen as one register per key: the
// sequential specification every history must linearize to.
var registerModel = porcupine.Model{
	Partition: func(history []porcupine.Operation) [][]porcupine.Operation {
		byKey := map[string][]porcupine.Operation{}
		var keys []string
		for _, op := range history {
			k := op.Input.(kvInput).key
			if _, ok := byKey[k]; !ok {
				keys = append(keys, k)
			}
			byKey[k] = append(byKey[k], op)
		}
		var out [][]porcupine.Operation
		for _, k := range keys {
			out = append(out, byKey[k])
		}
		return out
	},
	Init: func() any { return "" },
	Step: func(state, input, output any) (bool, any) {
		st, in, out := state.(string), input.(kvInput), output.(kvOutput)
		switch in.op {
		case "get":
			return out.value == st, st
		case "put":
			return true, in.value
		case "cas":
			swapped := st == in.prev
			if out.unknown {
				if swapped {
					return true, in.value
				}
				return true, st
			}
			if swapped != out.ok {
				return false, st
			}
			if swapped {
				return true, in.value
			}
			return true, st
		}
		return false, st
	},
	DescribeOperation: func(input, output any) string {
		in, out := input.(kvInput), output.(kvOutput)
		switch {
		case out.unknown:
			return fmt.Sprintf("%s(%s, %q, prev %q) -> ?", in.op, in.key, in.value, in.prev)
		case in.op == "get":
			return fmt.Sprintf("get(%s) -> %q", in.key, out.value)
		case in.op == "cas":
			return fmt.Sprintf("cas(%s, %q -> %q) -> %v", in.key, in.prev, in.value, out.ok)
		}
		return fmt.Sprintf("put(%s, %q)", in.key, in.value)
	},
}

// history records operations from many clients.
type history struct {
	mu  sync.Mutex
	ops []porcupine.Operation
}

func (h *history) add(op porcupine.Operation) {
	h.mu.Lock()
	h.ops = append(h.ops, op)
	h.mu.Unlock()
}

// do runs one operation through cli.
func do(ctx context.Context, cli *clientv3.Client, in kvInput) (kvOutput, error) {
	switch in.op {
	case "get":
		resp, err := cli.Get(ctx, in.key)
		if err != nil {
			return kvOutput{}, err
		}
		if len(resp.Kvs) == 0 {
			return kvOutput{}, nil
		}
		return kvOutput{value: string(resp.Kvs[0].Value)}, nil
	case "put":
		_, err := cli.Put(ctx, in.key, in.value)
		return kvOutput{}, err
	default:
		cmp := clientv3.Compare(clientv3.Value(in.key), "=", in.prev)
		if in.prev == "" {
			cmp = clientv3.Compare(clientv3.CreateRevision(in.key), "=", 0)
		}
		resp, err := cli.Txn(ctx).If(cmp).Then(clientv3.OpPut(in.key, in.value)).Commit()
		if err != nil {
			return kvOutput{}, err
		}
		return kvOutput{ok: resp.Succeeded}, nil
	}
}

// TestLinearizableUnderFaults runs concurrent clients doing puts,
// linearizable gets and compare-and-swaps while members are killed,
// restarted, partitioned and healed, and checks with porcupine that the
// history is linearizable: in particular, that no acknowledged write was
// lost. LARCH_FAULT_SECONDS sets how long the faults go on (default 6).
func TestLinearizableUnderFaults(t *testing.T) {
	if testing.Short() {
		t.Skip("fault injection takes seconds")
	}
	faultTime := 6 * time.Second
	if v := os.Getenv("LARCH_FAULT_SECONDS"); v != "" {
		var secs int
		fmt.Sscan(v, &secs)
		faultTime = time.Duration(secs) * time.Second
	}
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	c := New(t, Config{Size: 3, Tune: func(cfg *cluster.Config) {
		// Snapshots and snapshot transfers happen during the run too.
		cfg.SnapshotCount, cfg.SnapshotCatchUpEntries = 200, 50
	}})
	keys := []string{"a", "b", "c"}
	start := time.Now()
	now := func() int64 { return int64(time.Since(start)) }
	var h history
	stop := make(chan struct{})
	var wg sync.WaitGroup
	const clients = 6
	for id := range clients {
		cli := c.Client()
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(seed, uint64(id)))
			seen := map[string]string{}
			for n := 0; ; n++ {
				select {
				case <-stop:
					return
				default:
				}
				in := kvInput{key: keys[rng.IntN(len(keys))]}
				switch r := rng.IntN(10); {
				case r < 4:
					in.op = "get"
				case r < 7:
					in.op, in.value = "put", fmt.Sprintf("c%d-%d", id, n)
				default:
					in.op, in.value, in.prev = "cas", fmt.Sprintf("c%d-%d", id, n), seen[in.key]
				}
				ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
				call := now()
				out, err := do(ctx, cli, in)
				cancel()
				ret := now()
				if err != nil {
					if in.op == "get" {
						continue // a failed read changed nothing
					}
					out, ret = kvOutput{unknown: true}, math.MaxInt64
				}
				if in.op == "get" {
					seen[in.key] = out.value
				}
				h.add(porcupine.Operation{ClientId: id, Input: in, Call: call, Output: out, Return: ret})
			}
		}()
	}

	rng := rand.New(rand.NewPCG(seed, 1000))
	pause := func(min, max int) { time.Sleep(time.Duration(min+rng.IntN(max-min)) * time.Millisecond) }
	faults := 0
	for deadline := time.Now().Add(faultTime); time.Now().Before(deadline); faults++ {
		// The pauses pace the faults; they synchronise nothing.
		pause(100, 300)
		members := c.Members()
		victim := members[rng.IntN(len(members))]
		if rng.IntN(2) == 0 {
			if lead := c.agreedLeader(); lead != nil {
				victim = lead
			}
		}
		switch rng.IntN(3) {
		case 0:
			t.Logf("%v: kill %s", time.Since(start).Round(time.Millisecond), victim.Name)
			victim.Kill()
			pause(200, 800)
			victim.Restart()
		case 1:
			t.Logf("%v: isolate %s", time.Since(start).Round(time.Millisecond), victim.Name)
			c.Isolate(victim)
			pause(200, 800)
			c.Heal()
		case 2:
			other := members[(slicesIndex(members, victim)+1)%len(members)]
			t.Logf("%v: drop %s -> %s", time.Since(start).Round(time.Millisecond), victim.Name, other.Name)
			c.DropOneWay(victim, other)
			pause(200, 800)
			c.Heal()
		}
	}
	close(stop)
	wg.Wait()
	c.WaitLeader()

	acked := 0
	for _, op := range h.ops {
		if in := op.Input.(kvInput); in.op != "get" && !op.Output.(kvOutput).unknown {
			acked++
		}
	}
	t.Logf("%d faults, %d operations, %d acknowledged writes", faults, len(h.ops), acked)
	if acked < 50 {
		t.Fatalf("only %d writes were acknowledged: the run proves little", acked)
	}
	// Every member ends with the same state, and the last reads join the
	// history, so a write lost at the end shows too.
	for _, m := range c.Members() {
		mc := m.Client()
		for _, k := range keys {
			call := now()
			out, err := do(ctxT(t, 20*time.Second), mc, kvInput{op: "get", key: k})
			if err != nil {
				t.Fatalf("final read of %s on %s: %v", k, m.Name, err)
			}
			h.add(porcupine.Operation{ClientId: clients, Input: kvInput{op: "get", key: k}, Call: call, Output: out, Return: now()})
		}
	}
	res, info := porcupine.CheckOperationsVerbose(registerModel, h.ops, time.Minute)
	if res != porcupine.Ok {
		path := t.TempDir() + "/history.html"
		if out := os.Getenv("LARCH_HISTORY_OUT"); out != "" {
			path = out
		}
		if err := porcupine.VisualizePath(registerModel, info, path); err != nil {
			t.Log(err)
		}
		t.Fatalf("history of %d operations is %v (seed %d; visualisation in %s, kept with LARCH_HISTORY_OUT)", len(h.ops), res, seed, path)
	}
}

func slicesIndex(ms []*Member, m *Member) int {
	for i, x := range ms {
		if x == m {
			return i
		}
	}
	return -1
}
