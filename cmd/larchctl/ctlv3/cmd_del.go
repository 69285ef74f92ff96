package ctlv3

import (
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// delOptions are the flags of del, also accepted by del lines inside txn.
type delOptions struct {
	prefix  bool
	prevKV  bool
	fromKey bool
	isRange bool
}

// delCommand declares del and its flags; the caller supplies Run.
func delCommand(o *delOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "del [options] <key> [range_end]",
		Short: "Removes the specified key or range of keys [key, range_end)",
	}
	cmd.Flags().BoolVar(&o.prefix, "prefix", false, "delete keys with matching prefix")
	cmd.Flags().BoolVar(&o.prevKV, "prev-kv", false, "return deleted key-value pairs")
	cmd.Flags().BoolVar(&o.fromKey, "from-key", false, "delete keys that are greater than or equal to the given key using byte compare")
	cmd.Flags().BoolVar(&o.isRange, "range", false, "delete range of keys")
	return cmd
}

func (c *ctl) newDelCommand() *cobra.Command {
	o := &delOptions{}
	cmd := delCommand(o)
	cmd.Run = c.run(func(cmd *cobra.Command, args []string) error {
		key, opts, err := o.op(args, c.stderr, c.sleep)
		if err != nil {
			return err
		}
		cli, err := c.client(cmd)
		if err != nil {
			return err
		}
		ctx, cancel := c.commandCtx()
		resp, err := cli.Delete(ctx, key, opts...)
		cancel()
		if err != nil {
			return fail(exitError, err)
		}
		return c.display.Del(*resp)
	})
	return cmd
}

// rangeDeleteDelay is how long del waits after warning about a [key, range_end) delete
// that was not confirmed with --range.
const rangeDeleteDelay = 2 * time.Second

// op checks del's arguments and builds the request. A range given as two arguments
// without --range is announced on stderr and delayed, so that it can be interrupted.
func (o *delOptions) op(args []string, stderr io.Writer, sleep func(time.Duration)) (string, []clientv3.OpOption, error) {
	if len(args) == 0 || len(args) > 2 {
		return "", nil, failf(exitBadArgs, "del command needs one argument as key and an optional argument as range_end")
	}
	if o.prefix && o.fromKey {
		return "", nil, failf(exitBadArgs, "`--prefix` and `--from-key` cannot be set at the same time, choose one")
	}

	var opts []clientv3.OpOption
	key := args[0]
	if len(args) > 1 {
		if o.prefix || o.fromKey {
			return "", nil, failf(exitBadArgs, "too many arguments, only accept one argument when `--prefix` or `--from-key` is set")
		}
		opts = append(opts, clientv3.WithRange(args[1]))
		if !o.isRange {
			fmt.Fprintf(stderr, "Warning: Keys between %q and %q will be deleted. Please interrupt the command within next 2 seconds to cancel. "+
				"You can provide `--range` flag to avoid the delay.\n", args[0], args[1])
			sleep(rangeDeleteDelay)
		}
	}

	if o.prefix {
		if key == "" {
			key = "\x00"
			opts = append(opts, clientv3.WithFromKey())
		} else {
			opts = append(opts, clientv3.WithPrefix())
		}
	}
	if o.prevKV {
		opts = append(opts, clientv3.WithPrevKV())
	}
	if o.fromKey {
		if key == "" {
			key = "\x00"
		}
		opts = append(opts, clientv3.WithFromKey())
	}
	return key, opts, nil
}
