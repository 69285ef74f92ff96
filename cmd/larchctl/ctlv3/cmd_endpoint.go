package ctlv3

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/spf13/cobra"
	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap/zapcore"
)

func (c *ctl) newEndpointCommand() *cobra.Command {
	var cluster bool
	ec := &cobra.Command{
		Use:   "endpoint <subcommand>",
		Short: "Endpoint related commands",
	}
	ec.PersistentFlags().BoolVar(&cluster, "cluster", false, "use all endpoints from the cluster member list")

	health := &cobra.Command{
		Use:   "health",
		Short: "Checks the healthiness of endpoints specified in `--endpoints` flag",
	}
	health.Run = c.run(func(cmd *cobra.Command, args []string) error {
		return c.endpointHealth(cmd, cluster)
	})

	status := &cobra.Command{
		Use:   "status",
		Short: "Prints out the status of endpoints specified in `--endpoints` flag",
		Long: `With --write-out=simple, this command prints one comma-separated status line per endpoint.
The fields are endpoint, ID, version, db size, is leader, is learner, raft term, raft index, raft applied index, errors.
`,
	}
	status.Run = c.run(func(cmd *cobra.Command, args []string) error {
		return c.endpointStatus(cmd, cluster)
	})

	var rev int64
	hashKV := &cobra.Command{
		Use:   "hashkv",
		Short: "Prints the KV history hash for each endpoint in --endpoints",
	}
	hashKV.PersistentFlags().Int64Var(&rev, "rev", 0, "maximum revision to hash (default: latest revision)")
	hashKV.Run = c.run(func(cmd *cobra.Command, args []string) error {
		return c.endpointHashKV(cmd, cluster, rev)
	})

	ec.AddCommand(health, status, hashKV)
	return ec
}

// endpointHealth reads the key "health" from every endpoint at once, then checks for alarms.
// Permission denied still counts as healthy: the request reached consensus.
func (c *ctl) endpointHealth(cmd *cobra.Command, cluster bool) error {
	spec, err := c.clientSpec(cmd)
	if err != nil {
		return err
	}
	eps, err := c.endpointsFromCluster(cmd, cluster)
	if err != nil {
		return err
	}
	var cfgs []*clientv3.Config
	for _, ep := range eps {
		s := spec.Clone()
		s.Endpoints = []string{ep}
		cfg, err := clientv3.NewClientConfig(s, c.logger(zapcore.InfoLevel))
		if err != nil {
			return fail(exitBadArgs, err)
		}
		cfg.Logger = c.logger(zapcore.InfoLevel).Named("client")
		cfgs = append(cfgs, cfg)
	}

	var wg sync.WaitGroup
	results := make(chan epHealth, len(cfgs))
	for _, cfg := range cfgs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results <- c.checkHealth(cfg)
		}()
	}
	wg.Wait()
	close(results)

	var hs []epHealth
	for h := range results {
		hs = append(hs, h)
	}
	return c.showHealth(hs)
}

// showHealth prints the health results; any unhealthy endpoint fails the command.
func (c *ctl) showHealth(hs []epHealth) error {
	if err := c.display.EndpointHealth(hs); err != nil {
		return err
	}
	for _, h := range hs {
		if h.Error != "" {
			return failf(exitError, "unhealthy cluster")
		}
	}
	return nil
}

func (c *ctl) checkHealth(cfg *clientv3.Config) epHealth {
	ep := cfg.Endpoints[0]
	cli, err := clientv3.New(*cfg)
	if err != nil {
		return epHealth{Ep: ep, Error: err.Error()}
	}
	defer cli.Close()

	start := time.Now()
	ctx, cancel := c.commandCtx()
	defer cancel()
	_, err = cli.Get(ctx, "health")
	h := epHealth{Ep: ep, Took: time.Since(start).String()}
	if err == nil || errors.Is(err, rpctypes.ErrPermissionDenied) {
		h.Health = true
	} else {
		h.Error = err.Error()
	}
	if !h.Health {
		return h
	}

	alarms, err := cli.AlarmList(ctx)
	switch {
	case err != nil:
		h.Health = false
		h.Error = "Unable to fetch the alarm list"
	case len(alarms.Alarms) > 0:
		h.Health = false
		h.Error = "Active Alarm(s): "
		for _, a := range alarms.Alarms {
			switch a.Alarm {
			case pb.AlarmType_NOSPACE:
				h.Error += "NOSPACE "
			case pb.AlarmType_CORRUPT:
				h.Error += "CORRUPT "
			default:
				h.Error += "UNKNOWN "
			}
		}
	}
	return h
}

// endpointStatus asks every endpoint for its status in turn. An endpoint that fails is
// reported on stderr and left out; the command then exits 1 without an "Error:" line.
func (c *ctl) endpointStatus(cmd *cobra.Command, cluster bool) error {
	var sts []epStatus
	failed := false
	err := c.perEndpoint(cmd, cluster, func(ctx context.Context, cli *clientv3.Client, ep string) {
		resp, err := cli.Status(ctx, ep)
		if err != nil {
			failed = true
			fmt.Fprintf(c.stderr, "Failed to get the status of endpoint %s (%v)\n", ep, err)
			return
		}
		sts = append(sts, epStatus{Ep: ep, Resp: resp})
	})
	if err != nil {
		return err
	}
	if err := c.display.EndpointStatus(sts); err != nil {
		return err
	}
	if failed {
		return fail(exitError, nil)
	}
	return nil
}

// perEndpoint calls f for each endpoint (every member's with --cluster) in turn, with a
// client of its own and a context bounded by --command-timeout.
func (c *ctl) perEndpoint(cmd *cobra.Command, cluster bool, f func(ctx context.Context, cli *clientv3.Client, ep string)) error {
	spec, err := c.clientSpec(cmd)
	if err != nil {
		return err
	}
	eps, err := c.endpointsFromCluster(cmd, cluster)
	if err != nil {
		return err
	}
	for _, ep := range eps {
		spec.Endpoints = []string{ep}
		cli, err := c.newClient(spec, "etcd-client")
		if err != nil {
			return err
		}
		ctx, cancel := c.commandCtx()
		f(ctx, cli, ep)
		cancel()
		cli.Close()
	}
	return nil
}

// endpointHashKV asks every endpoint in turn for the hash of its keyspace up to rev (0: the
// current revision). An endpoint that fails is reported on stderr and left out; after
// the others are printed, the command fails with the last of those errors.
func (c *ctl) endpointHashKV(cmd *cobra.Command, cluster bool, rev int64) error {
	var hs []epHashKV // nil when none answers: json prints null, as etcdctl's does
	var lastErr error
	err := c.perEndpoint(cmd, cluster, func(ctx context.Context, cli *clientv3.Client, ep string) {
		resp, err := cli.HashKV(ctx, ep, rev)
		if err != nil {
			lastErr = err
			fmt.Fprintf(c.stderr, "Failed to get the hash of endpoint %s (%v)\n", ep, err)
			return
		}
		hs = append(hs, epHashKV{Ep: ep, Resp: resp})
	})
	if err != nil {
		return err
	}
	if err := c.display.EndpointHashKV(hs); err != nil {
		return err
	}
	if lastErr != nil {
		return fail(exitError, lastErr)
	}
	return nil
}

// endpointsFromCluster returns --endpoints as given (not trimmed, unlike the client's
// endpoints), or with --cluster the client URLs of every member.
func (c *ctl) endpointsFromCluster(cmd *cobra.Command, cluster bool) ([]string, error) {
	if !cluster {
		return cmd.Flags().GetStringSlice("endpoints")
	}
	sec, err := c.secureConfig(cmd)
	if err != nil {
		return nil, err
	}
	eps, err := c.endpoints()
	if err != nil {
		return nil, fail(exitError, err)
	}
	// Without credentials: the member list needs none, and a prompt would be in the way.
	cli, err := c.newClient(&clientv3.ConfigSpec{
		Endpoints:        eps,
		DialTimeout:      c.global.dialTimeout,
		KeepAliveTime:    c.global.keepAliveTime,
		KeepAliveTimeout: c.global.keepAliveTimeout,
		Secure:           sec,
	}, "etcd-client")
	if err != nil {
		// Here etcdctl exits 1 whatever went wrong.
		return nil, fail(exitError, errors.Unwrap(err))
	}
	defer cli.Close()
	ctx, cancel := c.commandCtx()
	defer cancel()
	members, err := cli.MemberList(ctx)
	if err != nil {
		return nil, failf(exitError, "failed to fetch endpoints from etcd cluster member list: %w", err)
	}
	var out []string
	for _, m := range members.Members {
		out = append(out, m.ClientURLs...)
	}
	return out, nil
}
