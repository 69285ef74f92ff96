package discovery

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/memberlist"
)

// udpLost is a memberlist transport on which every gossip packet (UDP) is
// lost; streams (TCP: joins, push/pull, fallback probes) still work.
type udpLost struct{ *memberlist.NetTransport }

func (udpLost) WriteTo([]byte, string) (time.Time, error) { return time.Now(), nil }
func (udpLost) WriteToAddress([]byte, memberlist.Address) (time.Time, error) {
	return time.Now(), nil
}

// withoutGossip makes a member's gossip packets all lost and turns off
// memberlist's periodic push/pull, so the pool spreads nothing by itself.
func withoutGossip(t *testing.T) func(*memberlist.Config) {
	return func(c *memberlist.Config) {
		fastGossip(c)
		c.PushPullInterval = 0
		nt, err := memberlist.NewNetTransport(&memberlist.NetTransportConfig{
			BindAddrs: []string{c.BindAddr}, BindPort: c.BindPort, Logger: c.Logger,
		})
		if err != nil {
			t.Fatal(err)
		}
		c.Transport = udpLost{nt}
	}
}

// TestBootstrapWithoutGossip: with every gossip packet lost, members that
// only met their seed still learn of each other and of each other's
// proposals, because a waiting member pulls the pool's state itself.
func TestBootstrapWithoutGossip(t *testing.T) {
	seedAddr := freeAddr(t)
	var pools []*Pool
	for i := range 4 {
		cfg := config(fmt.Sprint("m", i), "tok", 4, freeAddr(t), seedAddr)
		if i == 0 {
			cfg.BindAddr, cfg.Join = seedAddr, nil
		}
		cfg.Gossip = withoutGossip(t)
		pools = append(pools, startPool(t, cfg))
	}
	out := bootstrapAll(pools)
	var all []outcome
	for range pools {
		all = append(all, <-out)
	}
	checkAgreement(t, all, 4)
}

// overtaken is a memberlist AliveDelegate that drops the first update of
// this node's own metadata to a proposal: what memberlist does to an
// UpdateNode whose incarnation a concurrent refutation overtook.
type overtaken struct {
	self    string
	once    sync.Once
	dropped chan struct{}
}

func (o *overtaken) NotifyAlive(n *memberlist.Node) error {
	if n.Name != o.self {
		return nil
	}
	m, err := decodeMeta(n.Meta)
	if err != nil || m.Phase != PhaseProposed {
		return nil
	}
	var drop bool
	o.once.Do(func() { drop = true; close(o.dropped) })
	if drop {
		return errors.New("overtaken")
	}
	return nil
}

// TestOvertakenUpdateIsGossipedAgain: a member whose proposal memberlist
// did not take gossips it again, and the pool agrees.
func TestOvertakenUpdateIsGossipedAgain(t *testing.T) {
	o := &overtaken{dropped: make(chan struct{})}
	first := startPool(t, config("m0", "tok", 3, "127.0.0.1:0"))
	cfg := config("m1", "tok", 3, "127.0.0.1:0", first.Addr())
	cfg.Gossip = func(c *memberlist.Config) {
		fastGossip(c)
		o.self, c.Alive = c.Name, o
	}
	pools := []*Pool{first, startPool(t, cfg), startPool(t, config("m2", "tok", 3, "127.0.0.1:0", first.Addr()))}
	waitView(t, first, 3)
	out := bootstrapAll(pools)
	var all []outcome
	for range pools {
		all = append(all, <-out)
	}
	select {
	case <-o.dropped:
	default:
		t.Fatal("m1's proposal was never dropped: the test did not test anything")
	}
	checkAgreement(t, all, 3)
}
