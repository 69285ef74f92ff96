package ctlv3

import (
	"strings"

	"github.com/spf13/cobra"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// getOptions are the flags of get, also accepted by get lines inside txn.
type getOptions struct {
	consistency  string
	limit        int64
	sortOrder    string
	sortTarget   string
	prefix       bool
	fromKey      bool
	rev          int64
	keysOnly     bool
	countOnly    bool
	valueOnly    bool
	minCreateRev int64
	maxCreateRev int64
	minModRev    int64
	maxModRev    int64
}

// getCommand declares get and its flags; the caller supplies Run.
func getCommand(o *getOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "get [options] <key> [range_end]",
		Short: "Gets the key or a range of keys",
	}
	f := cmd.Flags()
	f.StringVar(&o.consistency, "consistency", "l", "Linearizable(l) or Serializable(s)")
	f.StringVar(&o.sortOrder, "order", "", "Order of results; ASCEND or DESCEND (ASCEND by default)")
	f.StringVar(&o.sortTarget, "sort-by", "", "Sort target; CREATE, KEY, MODIFY, VALUE, or VERSION")
	f.Int64Var(&o.limit, "limit", 0, "Maximum number of results")
	f.BoolVar(&o.prefix, "prefix", false, "Get keys with matching prefix")
	f.BoolVar(&o.fromKey, "from-key", false, "Get keys that are greater than or equal to the given key using byte compare")
	f.Int64Var(&o.rev, "rev", 0, "Specify the kv revision")
	f.BoolVar(&o.keysOnly, "keys-only", false, "Get only the keys")
	f.BoolVar(&o.countOnly, "count-only", false, "Get only the count")
	f.BoolVar(&o.valueOnly, "print-value-only", false, `Only write values when using the "simple" output format`)
	f.Int64Var(&o.minCreateRev, "min-create-rev", 0, "Minimum create revision")
	f.Int64Var(&o.maxCreateRev, "max-create-rev", 0, "Maximum create revision")
	f.Int64Var(&o.minModRev, "min-mod-rev", 0, "Minimum modification revision")
	f.Int64Var(&o.maxModRev, "max-mod-rev", 0, "Maximum modification revision")
	completeWith(cmd, "consistency", "l", "s")
	completeWith(cmd, "order", "ASCEND", "DESCEND")
	completeWith(cmd, "sort-by", "CREATE", "KEY", "MODIFY", "VALUE", "VERSION")
	return cmd
}

// completeWith registers the fixed values a flag can take for shell completion.
func completeWith(cmd *cobra.Command, flag string, values ...string) {
	cmd.RegisterFlagCompletionFunc(flag, func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		return values, cobra.ShellCompDirectiveDefault
	})
}

func (c *ctl) newGetCommand() *cobra.Command {
	o := &getOptions{}
	cmd := getCommand(o)
	cmd.Run = c.run(func(cmd *cobra.Command, args []string) error {
		key, opts, err := o.op(args)
		if err != nil {
			return err
		}
		cli, err := c.client(cmd)
		if err != nil {
			return err
		}
		ctx, cancel := c.commandCtx()
		resp, err := cli.Get(ctx, key, opts...)
		cancel()
		if err != nil {
			return fail(exitError, err)
		}

		return c.showGet(o, *resp)
	})
	return cmd
}

// showGet prints a get response. --count-only and --print-value-only are checked against
// the output format only here, after the request, as in etcdctl.
func (c *ctl) showGet(o *getOptions, resp clientv3.GetResponse) error {
	if o.countOnly {
		if _, ok := c.display.(*fieldsPrinter); !ok {
			return failf(exitBadArgs, "--count-only is only for `--write-out=fields`")
		}
	}
	if o.valueOnly {
		sp, ok := c.display.(*simplePrinter)
		if !ok {
			return failf(exitBadArgs, "print-value-only is only for `--write-out=simple`")
		}
		sp.valueOnly = true
	}
	return c.display.Get(resp)
}

// isSerializable reads a --consistency value: "s" or "l".
func isSerializable(consistency string) (bool, error) {
	switch consistency {
	case "s":
		return true, nil
	case "l":
		return false, nil
	}
	return false, failf(exitBadFeature, "unknown consistency flag %q", consistency)
}

// op checks get's arguments and flags, in etcdctl's order, and builds the request.
func (o *getOptions) op(args []string) (string, []clientv3.OpOption, error) {
	if len(args) == 0 {
		return "", nil, failf(exitBadArgs, "get command needs one argument as key and an optional argument as range_end")
	}
	if o.prefix && o.fromKey {
		return "", nil, failf(exitBadArgs, "`--prefix` and `--from-key` cannot be set at the same time, choose one")
	}
	if o.keysOnly && o.countOnly {
		return "", nil, failf(exitBadArgs, "`--keys-only` and `--count-only` cannot be set at the same time, choose one")
	}

	var opts []clientv3.OpOption
	serializable, err := isSerializable(o.consistency)
	if err != nil {
		return "", nil, err
	}
	if serializable {
		opts = append(opts, clientv3.WithSerializable())
	}

	key := args[0]
	if len(args) > 1 {
		if o.prefix || o.fromKey {
			return "", nil, failf(exitBadArgs, "too many arguments, only accept one argument when `--prefix` or `--from-key` is set")
		}
		opts = append(opts, clientv3.WithRange(args[1]))
	}

	opts = append(opts, clientv3.WithLimit(o.limit))
	if o.rev > 0 {
		opts = append(opts, clientv3.WithRev(o.rev))
	}

	order := clientv3.SortNone
	switch strings.ToUpper(o.sortOrder) {
	case "ASCEND":
		order = clientv3.SortAscend
	case "DESCEND":
		order = clientv3.SortDescend
	case "":
	default:
		return "", nil, failf(exitBadFeature, "bad sort order %v", o.sortOrder)
	}
	target := clientv3.SortByKey
	switch strings.ToUpper(o.sortTarget) {
	case "CREATE":
		target = clientv3.SortByCreateRevision
	case "KEY":
		target = clientv3.SortByKey
	case "MODIFY":
		target = clientv3.SortByModRevision
	case "VALUE":
		target = clientv3.SortByValue
	case "VERSION":
		target = clientv3.SortByVersion
	case "":
	default:
		return "", nil, failf(exitBadFeature, "bad sort target %v", o.sortTarget)
	}
	opts = append(opts, clientv3.WithSort(target, order))

	// An empty key with --prefix or --from-key means every key.
	if o.prefix {
		if key == "" {
			key = "\x00"
			opts = append(opts, clientv3.WithFromKey())
		} else {
			opts = append(opts, clientv3.WithPrefix())
		}
	}
	if o.fromKey {
		if key == "" {
			key = "\x00"
		}
		opts = append(opts, clientv3.WithFromKey())
	}
	if o.keysOnly {
		opts = append(opts, clientv3.WithKeysOnly())
	}
	if o.countOnly {
		opts = append(opts, clientv3.WithCountOnly())
	}

	if o.minCreateRev > 0 {
		opts = append(opts, clientv3.WithMinCreateRev(o.minCreateRev))
	}
	if o.maxCreateRev > 0 {
		if o.minCreateRev > o.maxCreateRev {
			return "", nil, failf(exitBadFeature, "getMinCreateRev(=%v) > getMaxCreateRev(=%v)", o.minCreateRev, o.maxCreateRev)
		}
		opts = append(opts, clientv3.WithMaxCreateRev(o.maxCreateRev))
	}
	if o.minModRev > 0 {
		opts = append(opts, clientv3.WithMinModRev(o.minModRev))
	}
	if o.maxModRev > 0 {
		if o.minModRev > o.maxModRev {
			return "", nil, failf(exitBadFeature, "getMinModRev(=%v) > getMaxModRev(=%v)", o.minModRev, o.maxModRev)
		}
		opts = append(opts, clientv3.WithMaxModRev(o.maxModRev))
	}
	return key, opts, nil
}
