package ctlv2

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	client "go.etcd.io/etcd/client/v2"
)

// Member commands report errors as a bare message on stderr with exit 1.

func (c *ctl) fail(a ...any) error {
	fmt.Fprintln(c.env.Stderr, a...)
	return exitStatus(exitError)
}

func (c *ctl) memberList(f *flagValues) error {
	if len(f.Args()) != 0 {
		return c.fail("No arguments accepted")
	}
	api, err := c.membersAPI()
	if err != nil {
		return err
	}
	ctx, cancel := c.totalTimeout()
	defer cancel()
	members, err := api.List(ctx)
	if err != nil {
		return c.fail(err.Error())
	}
	leader, err := api.Leader(ctx)
	if err != nil {
		return c.fail("Failed to get leader: ", err)
	}
	for _, m := range members {
		if m.Name == "" {
			fmt.Fprintf(c.env.Stdout, "%s[unstarted]: peerURLs=%s\n", m.ID, strings.Join(m.PeerURLs, ","))
			continue
		}
		fmt.Fprintf(c.env.Stdout, "%s: name=%s peerURLs=%s clientURLs=%s isLeader=%v\n",
			m.ID, m.Name, strings.Join(m.PeerURLs, ","), strings.Join(m.ClientURLs, ","), m.ID == leader.ID)
	}
	return nil
}

func (c *ctl) memberAdd(f *flagValues) error {
	args := f.Args()
	if len(args) != 2 {
		return c.fail("Provide a name and a single member peerURL")
	}
	api, err := c.membersAPI()
	if err != nil {
		return err
	}
	ctx, cancel := c.totalTimeout()
	defer cancel()
	m, err := api.Add(ctx, args[1])
	if err != nil {
		return c.fail(err.Error())
	}
	name := args[0]
	fmt.Fprintf(c.env.Stdout, "Added member named %s with ID %s to cluster\n", name, m.ID)
	members, err := api.List(ctx)
	if err != nil {
		return c.fail(err.Error())
	}
	var conf []string
	for _, mm := range members {
		n := mm.Name
		if mm.ID == m.ID {
			n = name
		}
		for _, u := range mm.PeerURLs {
			conf = append(conf, n+"="+u)
		}
	}
	fmt.Fprintf(c.env.Stdout, "\nETCD_NAME=%q\nETCD_INITIAL_CLUSTER=%q\nETCD_INITIAL_CLUSTER_STATE=\"existing\"\n", name, strings.Join(conf, ","))
	return nil
}

func (c *ctl) memberRemove(f *flagValues) error {
	args := f.Args()
	if len(args) != 1 {
		return c.fail("Provide a single member ID")
	}
	id := args[0]
	api, err := c.membersAPI()
	if err != nil {
		return err
	}
	ctx, cancel := c.totalTimeout()
	defer cancel()
	members, err := api.List(ctx)
	if err != nil {
		return c.fail("Error while verifying ID against known members:", err.Error())
	}
	found := false
	for _, m := range members {
		if m.ID == id {
			found = true
		}
		if m.Name == id {
			// A name where an ID belongs: show the ID to use.
			fmt.Fprintf(c.env.Stderr, "Found a member named %s; if this is correct, please use its ID, eg:\n\t%s member remove %s\n", m.Name, cliName, m.ID)
			fmt.Fprintf(c.env.Stderr, "For more details, read the documentation at https://github.com/etcd-io/etcd/blob/main/Documentation/runtime-configuration.md#remove-a-member\n\n")
		}
	}
	if !found {
		fmt.Fprintf(c.env.Stderr, "Couldn't find a member in the cluster with an ID of %s.\n", id)
		return exitStatus(exitError)
	}
	if err := api.Remove(ctx, id); err != nil {
		fmt.Fprintf(c.env.Stderr, "Received an error trying to remove member %s: %s", id, err.Error())
		return exitStatus(exitError)
	}
	fmt.Fprintf(c.env.Stdout, "Removed member %s from cluster\n", id)
	return nil
}

func (c *ctl) memberUpdate(f *flagValues) error {
	args := f.Args()
	if len(args) != 2 {
		return c.fail("Provide an ID and a list of comma separated peerURL (0xabcd http://example.com,http://example1.com)")
	}
	api, err := c.membersAPI()
	if err != nil {
		return err
	}
	ctx, cancel := c.totalTimeout()
	err = api.Update(ctx, args[0], strings.Split(args[1], ","))
	cancel()
	if err != nil {
		return c.fail(err.Error())
	}
	fmt.Fprintf(c.env.Stdout, "Updated member with ID %s in cluster\n", args[0])
	return nil
}

// healthCheckInterval is the pause between rounds of cluster-health --forever.
const healthCheckInterval = 10 * time.Second

// clusterHealth lists the members without syncing, then asks each member's client URLs
// for /health until one answers.
func (c *ctl) clusterHealth(f *flagValues) error {
	forever := f.Bool("forever")
	ctx := context.Background()
	if forever {
		var stop func()
		ctx, _, stop = interruptible()
		defer stop()
	}
	tr, err := c.transport()
	if err != nil {
		return c.handleError(exitServerError, err)
	}
	hc := http.Client{Transport: tr}
	cln, err := c.unsyncedClient()
	if err != nil {
		return err
	}
	members, err := client.NewMembersAPI(cln).List(context.TODO())
	if err != nil {
		fmt.Fprintln(c.env.Stdout, "cluster may be unhealthy: failed to list members")
		return c.handleError(exitServerError, err)
	}
	out := c.env.Stdout
	for {
		healthy := 0
		for _, m := range members {
			if len(m.ClientURLs) == 0 {
				fmt.Fprintf(out, "member %s is unreachable: no available published client urls\n", m.ID)
				continue
			}
			checked := false
			for _, u := range m.ClientURLs {
				ok, err := checkHealth(&hc, u)
				if err != nil {
					fmt.Fprintf(out, "failed to check the health of member %s on %s: %v\n", m.ID, u, err)
					continue
				}
				checked = true
				if ok {
					fmt.Fprintf(out, "member %s is healthy: got healthy result from %s\n", m.ID, u)
					healthy++
				} else {
					fmt.Fprintf(out, "member %s is unhealthy: got unhealthy result from %s\n", m.ID, u)
				}
				break
			}
			if !checked {
				fmt.Fprintf(out, "member %s is unreachable: %v are all unreachable\n", m.ID, m.ClientURLs)
			}
		}
		switch healthy {
		case len(members):
			fmt.Fprintln(out, "cluster is healthy")
		case 0:
			fmt.Fprintln(out, "cluster is unavailable")
		default:
			fmt.Fprintln(out, "cluster is degraded")
		}
		if !forever {
			if healthy == len(members) {
				return nil
			}
			return exitStatus(exitClusterNotHealthy)
		}
		fmt.Fprintf(out, "\nnext check after 10 second...\n\n")
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(healthCheckInterval):
		}
	}
}

// checkHealth GETs <url>/health; the answer's "health" may be the string "true" or the
// boolean true.
func checkHealth(hc *http.Client, u string) (bool, error) {
	resp, err := hc.Get(u + "/health")
	if err != nil {
		return false, err
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return false, err
	}
	var s struct{ Health string }
	if err := json.Unmarshal(b, &s); err == nil {
		return s.Health == "true", nil
	}
	var bl struct{ Health bool }
	if err := json.Unmarshal(b, &bl); err != nil {
		return false, err
	}
	return bl.Health, nil
}
